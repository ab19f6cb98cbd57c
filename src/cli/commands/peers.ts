import type { CommandContext } from '../context.ts'

/** `p2pstore peers`: every peer the daemon knows, and whether it is connected. */
export async function peersCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const peers = await client.peers({ signal: ctx.signal })
  ctx.out.result(peers, () => {
    if (peers.length === 0) {
      ctx.out.line('no peers known yet (is the daemon joined? see `p2pstore status`)')
      return
    }
    const now = Date.now()
    ctx.out.columns(['PEER ID', 'STATE', 'INCARNATION', 'LAST HEARD', 'SUSPECTED BY', 'CONNECTED', 'ADDRESS'], peers.map(p => [
      p.peerId,
      p.state,
      String(p.incarnation),
      p.lastHeard == null ? 'never' : `${((now - Date.parse(p.lastHeard)) / 1000).toFixed(1)} s ago`,
      p.suspectedBy.length === 0 ? '-' : p.suspectedBy.map(shortId).join(','),
      p.connected ? 'yes' : 'no',
      p.multiaddrs[0] ?? '-'
    ]))
    const count = (state: string): number => peers.filter(p => p.state === state).length
    ctx.out.info(`${peers.length} members: ${count('alive')} alive, ${count('suspect')} suspect, ${count('dead')} dead, ${count('left')} left; ${peers.filter(p => p.connected).length} connected`)
  })
  return 0
}

/** `12D3KooWAbc…xyz9` → `…xyz9` for a narrow column */
function shortId (peerId: string): string {
  return `…${peerId.slice(-6)}`
}
