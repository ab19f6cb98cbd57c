/** `12D3KooWAbc…xyz9` → `12D3…xyz9`: a peer id short enough for a sentence (ids of 12 characters or fewer stay whole). */
export function shortPeerId (id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 4)}…${id.slice(-4)}`
}

/** `…a1b2c3`: the last six characters of a peer id, as the CLI's tables and verdicts name peers. */
export function peerIdTail (id: string): string {
  return `…${id.slice(-6)}`
}
