import type { PeerStatus } from '../../peer.ts'
import type { CommandContext } from '../context.ts'

/** `p2pstore status`: the daemon's peer id, addresses, uptime and connections. */
export async function statusCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const status = await client.status({ signal: ctx.signal })
  ctx.out.result(status, () => {
    ctx.out.table([
      ['peer id', status.peerId],
      ['version', status.version],
      ['uptime', formatDuration(status.uptimeSeconds)],
      ['network', status.network === 'private' ? 'private (swarm key)' : 'public'],
      ['joined', joinedText(status)],
      ['connections', String(status.connections)],
      ['members', `${status.peers.alive} alive, ${status.peers.suspect} suspect, ${status.peers.dead} dead, ${status.peers.left} left (${status.peers.connected} connected)`],
      ['incarnation', String(status.incarnation)],
      ['local health', status.localHealth === 0 ? '0 (healthy)' : `${status.localHealth} (slow: probing ${status.localHealth + 1}× less often)`],
      ['keys held', String(status.keys)],
      ...(status.placement == null
        ? []
        : [['placement', `capacity ${status.placement.capacity}, zone ${status.placement.zone ?? '-'}, expected share ${(100 * status.placement.share).toFixed(1)} % of the keys (N = ${status.placement.n}; see \`p2pstore ring\`)`] as [string, string]]),
      ['pending hints', `${status.pendingHints}${status.lastHandoff == null ? '' : ` (last handoff ${status.lastHandoff})`}`],
      ['anti-entropy', status.lastAntiEntropy == null
        ? 'no round yet'
        : `last round ${status.lastAntiEntropy.at} with …${status.lastAntiEntropy.peer.slice(-6)}: ${status.lastAntiEntropy.keys} keys compared, ${status.lastAntiEntropy.differing} leaves differed, ${status.lastAntiEntropy.pushed} sent, ${status.lastAntiEntropy.pulled} fetched in ${status.lastAntiEntropy.ms} ms`],
      ...status.multiaddrs.map((ma, i): [string, string] => [i === 0 ? 'addresses' : '', ma]),
      ...(status.dataDir == null ? [] : [['data dir', status.dataDir] as [string, string]])
    ])
  })
  return 0
}

function joinedText (status: PeerStatus): string {
  if (status.joined) return 'yes'
  if (status.bootstrapPeers === 0) return 'not yet (no bootstrap peers configured: others join through this peer)'
  return `not yet (retrying ${status.bootstrapPeers} bootstrap peer(s); see the daemon's log)`
}

/** `3725` → `1h 2m 5s` */
export function formatDuration (seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return [h > 0 ? `${h}h` : '', h > 0 || m > 0 ? `${m}m` : '', `${s}s`].filter(Boolean).join(' ')
}
