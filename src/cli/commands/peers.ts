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
    ctx.out.columns(['PEER ID', 'CONNECTED', 'ADDRESS'], peers.map(p => [
      p.peerId,
      p.connected ? 'yes' : 'no',
      p.multiaddrs[0] ?? '-'
    ]))
    ctx.out.info(`${peers.length} peers, ${peers.filter(p => p.connected).length} connected`)
  })
  return 0
}
