import type { Peer } from '../../src/peer.ts'

/** What the replication specs over real test nets ask of the peers' own state. */

/** The running peers among `peers` whose own store holds a live value of `key`. */
export async function holders (peers: Peer[], key: string): Promise<Peer[]> {
  const out: Peer[] = []
  for (const p of peers) {
    if (!p.isStarted) continue
    const state = await p.localState(key)
    if (state != null && state.siblings.some(s => !s.deleted)) out.push(p)
  }
  return out
}

/** Whether every one of `observers` holds `subject` dead. */
export async function deadEverywhere (observers: Peer[], subject: Peer): Promise<boolean> {
  for (const o of observers) {
    const seen = (await o.peers()).find(p => p.peerId === subject.peerId.toString())
    if (seen?.state !== 'dead') return false
  }
  return true
}
