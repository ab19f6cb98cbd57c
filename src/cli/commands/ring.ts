import type { RingMember } from '../../peer.ts'
import type { CommandContext } from '../context.ts'

/**
 * `p2pstore ring` (as `nodetool ring` / `riak-admin member-status` do): every member the daemon
 * knows with its zone, capacity weight, exact expected share of the keys (the fraction of keys it
 * is one of the N home replicas of) and the keys it holds, by zone. `--json` keeps the API's answer.
 */
export async function ringCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const members = await client.ring({ signal: ctx.signal })
  if (ctx.out.json) {
    ctx.out.data(members)
    return 0
  }
  const live = members.filter(m => m.state === 'alive' || m.state === 'suspect')
  const totalKeys = live.reduce((a, m) => a + (m.keys ?? 0), 0)
  const totalShare = live.reduce((a, m) => a + m.share, 0)
  ctx.out.columns(['PEER ID', 'ZONE', 'STATE', 'CAPACITY', 'EXPECTED SHARE', 'KEYS', 'OF KEYS HELD'], members.map(m => [
    `${m.peerId}${m.self ? ' (this)' : ''}`,
    m.zone ?? '-',
    m.state,
    String(m.capacity),
    `${(100 * m.share).toFixed(1)} %`,
    m.keys == null ? '?' : String(m.keys),
    m.keys == null || totalKeys === 0 ? '-' : `${(100 * m.keys / totalKeys).toFixed(1)} % (expected ${(100 * m.share / (totalShare === 0 ? 1 : totalShare)).toFixed(1)} %)`
  ]))
  ctx.out.info(summary(live))
  return 0
}

/** `9 live members in 3 zones; expected share max/mean 1.08, min/mean 0.93` */
function summary (live: RingMember[]): string {
  const zones = new Set(live.map(m => m.zone ?? '')).size
  const perWeight = live.map(m => m.share / m.capacity)
  const mean = perWeight.reduce((a, b) => a + b, 0) / Math.max(1, perWeight.length)
  const ratio = (x: number): string => mean === 0 ? '-' : (x / mean).toFixed(2)
  return `${live.length} live members in ${zones} zone${zones === 1 ? '' : 's'}; expected share per unit of capacity max/mean ${ratio(Math.max(...perWeight))}, min/mean ${ratio(Math.min(...perWeight))}; others' key counts are as they last announced them`
}
