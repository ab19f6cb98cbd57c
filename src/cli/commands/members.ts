import { peerIdTail } from '../../util/index.ts'
import { pasteableAddress } from './peers.ts'
import type { Client } from '../../client/index.ts'
import type { KnownPeer, RingMember } from '../../peer.ts'
import type { CommandContext } from '../context.ts'
import type { AbortOptions } from '@libp2p/interface'

/** One row of `p2pstore members` (and of `status --watch`): a member's state and place in the key space. */
export interface MemberRow {
  peerId: string
  state: RingMember['state']
  /** the daemon answering */
  self: boolean
  /** first address, pasteable into `--bootstrap` (`-` when none is known) */
  address: string
  zone?: string
  capacity: number
  /** expected share of the keys (fraction of all keys it is a home replica of, from placement) */
  share: number
  /** keys it holds: the daemon's own count, others' as they last announced it */
  keys?: number
  /** when the daemon last heard from it (ISO time), if ever */
  lastHeard?: string
}

/** Problem rows first: dead, then suspect, then alive, then those that left (gracefully). */
const ORDER: Record<RingMember['state'], number> = { dead: 0, suspect: 1, alive: 2, left: 3 }

/**
 * Every member, self included, from `/v1/ring` (state, zone, capacity, share, keys) joined with
 * `/v1/peers` (addresses, last heard), problem rows first, then by zone and peer id.
 */
export async function memberRows (client: Client, options: AbortOptions = {}): Promise<MemberRow[]> {
  const [ring, peers, status] = await Promise.all([client.ring(options), client.peers(options), client.status(options)])
  const known = new Map<string, KnownPeer>(peers.map(p => [p.peerId, p]))
  const rows: MemberRow[] = ring.map(m => {
    const peer = known.get(m.peerId)
    return {
      peerId: m.peerId,
      state: m.state,
      self: m.self,
      address: m.self ? pasteableAddress({ peerId: m.peerId, multiaddrs: status.multiaddrs }) : peer == null ? '-' : pasteableAddress(peer),
      zone: m.zone,
      capacity: m.capacity,
      share: m.share,
      keys: m.keys,
      lastHeard: peer?.lastHeard
    }
  })
  // members that left are not on the ring any more, but the operator may want to see them
  for (const p of peers) {
    if (p.state === 'left' && !rows.some(r => r.peerId === p.peerId)) {
      rows.push({ peerId: p.peerId, state: 'left', self: false, address: pasteableAddress(p), capacity: 1, share: 0, lastHeard: p.lastHeard })
    }
  }
  return rows.sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.zone ?? '').localeCompare(b.zone ?? '') || a.peerId.localeCompare(b.peerId))
}

/** The header and cells of the `memberRows` table, as `nodetool status` prints its nodes. */
export function memberTable (rows: MemberRow[]): { header: string[], cells: string[][] } {
  return {
    header: ['STATE', 'PEER', 'ZONE', 'CAPACITY', 'SHARE', 'KEYS', 'PEER ID', 'ADDRESS'],
    cells: rows.map(r => [
      r.state.toUpperCase(),
      `${peerIdTail(r.peerId)}${r.self ? '*' : ''}`,
      r.zone ?? '-',
      String(r.capacity),
      `${(100 * r.share).toFixed(1)} %`,
      r.keys == null ? '?' : String(r.keys),
      r.peerId,
      r.address
    ])
  }
}

/** Aligned text lines of a table (what `Output.columns` prints), for a screen built before it is written. */
export function columnLines (header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  return [header, ...rows].map(cells => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  '))
}

/** `5 members: 4 alive, 0 suspect, 1 dead, 0 left (* = this daemon; keys of others as they last announced them)` */
export function membersSummary (rows: MemberRow[]): string {
  const count = (state: MemberRow['state']): number => rows.filter(r => r.state === state).length
  return `${rows.length} members: ${count('alive')} alive, ${count('suspect')} suspect, ${count('dead')} dead, ${count('left')} left (* = this daemon; others' keys as they last announced them)`
}

/**
 * `p2pstore members`: one row per member — state, short and full peer id, address, zone,
 * capacity, expected share of the keys (placement) and keys held — with problem rows (dead,
 * suspect) first. `--json` prints the rows.
 */
export async function membersCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const rows = await memberRows(client, { signal: ctx.signal })
  ctx.out.result(rows, () => {
    const { header, cells } = memberTable(rows)
    ctx.out.columns(header, cells)
    ctx.out.info(membersSummary(rows))
  })
  return 0
}
