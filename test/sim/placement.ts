/**
 * Placement metrics of membership events, computed with the real placement (`PlacementTable`,
 * `POSITIONS_PER_CAPACITY` virtual positions per unit of capacity, N home replicas):
 *
 * - anti-entropy partners: for each peer, the distinct peers it shares a key range whose home set
 *   changed (before ∪ after, the dead peer excluded) — the peers it must compare Merkle summaries
 *   with after the event;
 * - replica copies moved: for every key, the home replicas it gained (each needs a copy), as a
 *   multiple of the ideal (a join: the keys the newcomer now homes; a death: the keys the dead
 *   peer homed).
 *
 * A home set changes only where the event's peer is a home replica before or after, i.e. near its
 * positions: keys are sampled uniformly within the trie subtree around each of its positions that
 * holds about SUBTREE_POSITIONS positions (and a few uniform keys besides). Within that union the
 * samples are uniform, so the ratio moved / ideal is unbiased; partner sets are the union over all
 * sampled keys.
 */

import { DEFAULT_N, POSITIONS_PER_CAPACITY } from '../../src/constants.ts'
import { PlacementTable, memberPositions, positionCount } from '../../src/routing/index.ts'
import { summary } from './stats.ts'
import type { Random } from './random.ts'
import type { PlacedMember } from '../../src/routing/index.ts'

/** positions a sampled subtree holds on average */
const SUBTREE_POSITIONS = 32

/** What one event did to placement. */
export interface PlacementEvent {
  kind: 'join' | 'death'
  /** keys sampled (around the peer's positions) */
  keys: number
  /** sampled keys whose home set changed */
  changed: number
  /** replica copies moved / the ideal */
  movedRatio: number
  /** anti-entropy partners of the peers other than the event's own peer: max and mean over the peers involved */
  partners: { max: number, mean: number, peers: number }
  /** the joining peer's own partners (a join only: it fetches every range it now homes) */
  subjectPartners?: number
  /** most peers taking part in one changed key's range (before ∪ after) */
  perRangeMax: number
}

/** The placement part of the report. */
export interface PlacementReport {
  peers: number
  n: number
  positionsPerPeer: number
  /** ms to build one placement table of this many peers */
  tableBuildMs: number
  events: PlacementEvent[]
  join: { movedRatio: { max: number, mean: number }, partners: { max: number, mean: number }, subjectPartners: { max: number, mean: number } }
  death: { movedRatio: { max: number, mean: number }, partners: { max: number, mean: number } }
}

interface Member extends PlacedMember {
  name: number
}

/** Options of `placementMetrics`. */
export interface PlacementInit {
  /** members of the network (a random kad id each) */
  peers: number
  /** joins and deaths sampled, each. @default 3 */
  events?: number
  /** keys sampled per position of the event's peer. @default 128 */
  keysPerPosition?: number
  /** home replicas per key. @default DEFAULT_N */
  n?: number
}

/** Joins and deaths on a network of `peers` random members; see the module comment. */
export function placementMetrics (random: Random, init: PlacementInit): PlacementReport {
  const n = init.n ?? DEFAULT_N
  const eventsEach = init.events ?? 3
  const perPosition = init.keysPerPosition ?? 128
  const members: Member[] = Array.from({ length: init.peers }, (_, name) => ({ name, kadId: random.bytes(32) }))
  const began = performance.now()
  const base = new PlacementTable(members)
  const tableBuildMs = performance.now() - began
  const events: PlacementEvent[] = []
  for (let e = 0; e < eventsEach; e++) {
    const newcomer: Member = { name: members.length + e, kadId: random.bytes(32) }
    events.push(measure(random, 'join', base, new PlacementTable([...members, newcomer]), newcomer, n, perPosition))
    const victim = members[random.int(members.length)] as Member
    events.push(measure(random, 'death', base, new PlacementTable(members.filter(m => m !== victim)), victim, n, perPosition))
  }
  const joins = events.filter(e => e.kind === 'join')
  const deaths = events.filter(e => e.kind === 'death')
  const pick = (list: PlacementEvent[], f: (e: PlacementEvent) => number): { max: number, mean: number } => {
    const s = summary(list.map(f))
    return { max: s.max, mean: s.mean }
  }
  return {
    peers: init.peers,
    n,
    positionsPerPeer: positionCount(1, POSITIONS_PER_CAPACITY),
    tableBuildMs,
    events,
    join: { movedRatio: pick(joins, e => e.movedRatio), partners: pick(joins, e => e.partners.max), subjectPartners: pick(joins, e => e.subjectPartners ?? 0) },
    death: { movedRatio: pick(deaths, e => e.movedRatio), partners: pick(deaths, e => e.partners.max) }
  }
}

function measure (random: Random, kind: 'join' | 'death', base: PlacementTable<Member>, changed: PlacementTable<Member>, subject: Member, n: number, perPosition: number): PlacementEvent {
  const before = kind === 'join' ? base : base
  const after = changed
  const total = Math.max(1, before.positions.length)
  // a subtree of depth `depth` holds about SUBTREE_POSITIONS positions
  const depth = Math.max(0, Math.min(32, Math.floor(Math.log2(total / SUBTREE_POSITIONS))))
  const span = 2 ** (32 - depth)
  const roots = new Set<number>()
  for (const p of memberPositions(subject.kadId, positionCount(subject.capacity))) roots.add(Math.floor(p / span) * span)
  const partners = new Map<Member, Set<Member>>()
  const target = new Uint8Array(32)
  const view = new DataView(target.buffer)
  let keys = 0
  let changedKeys = 0
  let moved = 0
  let ideal = 0
  let perRangeMax = 0
  const sample = (prefix: number): void => {
    keys++
    view.setUint32(0, prefix)
    const was = before.homeReplicas(target, n)
    const now = after.homeReplicas(target, n)
    if (kind === 'join' ? now.includes(subject) : was.includes(subject)) ideal++
    let differs = was.length !== now.length
    for (const m of now) {
      if (!was.includes(m)) {
        moved++
        differs = true
      }
    }
    if (!differs) return
    changedKeys++
    const group = new Set<Member>([...was, ...now])
    if (kind === 'death') group.delete(subject)
    perRangeMax = Math.max(perRangeMax, group.size)
    for (const m of group) {
      let set = partners.get(m)
      if (set == null) partners.set(m, set = new Set())
      for (const o of group) if (o !== m) set.add(o)
    }
  }
  for (const root of roots) {
    for (let k = 0; k < perPosition; k++) sample(root + Math.floor(random.next() * span))
  }
  // a few uniform keys: a change far from the peer's positions would show here
  for (let k = 0; k < perPosition; k++) sample(Math.floor(random.next() * 4294967296))
  const others = [...partners.entries()].filter(([m]) => m !== subject).map(([, s]) => s.size)
  const s = summary(others)
  return {
    kind,
    keys,
    changed: changedKeys,
    movedRatio: ideal === 0 ? 0 : moved / ideal,
    partners: { max: s.max, mean: s.mean, peers: others.length },
    subjectPartners: kind === 'join' ? partners.get(subject)?.size ?? 0 : undefined,
    perRangeMax
  }
}
