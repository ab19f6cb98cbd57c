/**
 * Placement balance (issue #15): **exact expected ownership** — the fraction of the key space each
 * member is a home replica of, computed over the whole trie of positions, not sampled keys — at
 * 10, 100, 1 000 and 10 000 members (N = 3), for equal capacities, capacities 1 : 2 : 4 and three
 * zones; the data moved when one member joins or leaves (exact net flow, and counted over sampled
 * keys); zone spread over 10 000 keys; lookup time and the table's memory. The members have random
 * kad ids (a kad id is sha256 of a peer id: uniform), fresh per run.
 *
 *   node --import tsx test/bench/placement.ts [--sizes 10,100,1000,10000] [--positions 128] [--keys 200000]
 *
 * With `--positions 1` it shows the former placement (one position per member, its kad id).
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { POSITIONS_PER_CAPACITY } from '../../src/constants.ts'
import { PlacementTable, keyId } from '../../src/routing/index.ts'
import type { PlacedMember } from '../../src/routing/index.ts'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,1000,10000' },
    positions: { type: 'string', default: String(POSITIONS_PER_CAPACITY) },
    keys: { type: 'string', default: '200000' }
  }
})
const sizes = values.sizes.split(',').map(Number)
const perCapacity = Number(values.positions)
const sampled = Number(values.keys)
const n = 3

interface Member extends PlacedMember { i: number }

function members (count: number, opts: { capacities?: number[], zones?: string[] } = {}): Member[] {
  return Array.from({ length: count }, (_, i) => ({
    i,
    kadId: new Uint8Array(randomBytes(32)),
    capacity: opts.capacities?.[i % opts.capacities.length],
    zone: opts.zones?.[i % opts.zones.length]
  }))
}

/** shares indexed by the member's own `i` */
function shares (table: PlacementTable<Member>): Float64Array {
  const own = table.ownership(n)
  const out = new Float64Array(table.members.length)
  table.members.forEach((m, j) => { out[m.i] = own[j] ?? 0 })
  return out
}

function ratio (xs: Float64Array): { max: number, min: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  return { max: Math.max(...xs) / mean, min: Math.min(...xs) / mean }
}

const keyIds = Array.from({ length: sampled }, (_, k) => keyId(new TextEncoder().encode(`key-${k}`)))

/** fraction of the stored copies (sampled keys × N) that change holder between two tables */
function movedSampled (a: PlacementTable<Member>, b: PlacementTable<Member>): number {
  let moved = 0
  for (const id of keyIds) {
    const before = new Set(a.homeReplicas(id, n).map(m => m.i))
    for (const m of b.homeReplicas(id, n)) if (!before.has(m.i)) moved++
  }
  return moved / (keyIds.length * n)
}

/** exact net flow: Σ max(0, after − before) over members, as a fraction of all copies */
function movedExact (before: Float64Array, after: Float64Array): number {
  let moved = 0
  for (let i = 0; i < Math.max(before.length, after.length); i++) moved += Math.max(0, (after[i] ?? 0) - (before[i] ?? 0))
  return moved / n
}

const f = (x: number, d = 3): string => x.toFixed(d)
console.log(`placement: exact expected ownership, N = ${n}, ${perCapacity} positions per unit of capacity`)
console.log('| members | equal max/mean | equal min/mean | 1:2:4 worst share vs weight | 3 zones max/mean | 3 zones min/mean | join moved (exact / sampled) × n | leave moved ÷ its share (exact / sampled) | zone spread exceptions (3 / 2 zones, 10 000 keys) | lookup µs | table MB | build + ownership s |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const size of sizes) {
  const t0 = performance.now()
  const equal = members(size)
  const table = new PlacementTable(equal, perCapacity)
  // the sorted positions and their owners (plus per member: its cached positions, a stamp, a zone)
  const tableMb = (2 * table.positions.byteLength + table.owners.byteLength + 12 * size) / 1e6
  const eq = shares(table)
  const er = ratio(eq)
  const seconds = (performance.now() - t0) / 1000

  const weights = [1, 2, 4]
  const weighted = members(size, { capacities: weights })
  const ws = shares(new PlacementTable(weighted, perCapacity))
  const total = weighted.reduce((a, m) => a + (m.capacity ?? 1), 0)
  let worst = 0
  for (const m of weighted) worst = Math.max(worst, Math.abs((ws[m.i] ?? 0) / (n * (m.capacity ?? 1) / total) - 1))

  const zoned = members(size, { zones: ['a', 'b', 'c'] })
  const zr = ratio(shares(new PlacementTable(zoned, perCapacity)))

  // join: one more member; leave: the first one goes
  const joined = [...equal, { i: size, kadId: new Uint8Array(randomBytes(32)) }]
  const joinTable = new PlacementTable(joined, perCapacity)
  const joinExact = movedExact(eq, shares(joinTable)) * size
  const joinSampled = movedSampled(table, joinTable) * size
  const leaveTable = new PlacementTable(equal.slice(1), perCapacity)
  const leftShare = (eq[0] ?? 0) / n
  const leaveAfter = shares(leaveTable)
  const leaveExact = movedExact(eq, leaveAfter) / leftShare
  const leaveSampled = movedSampled(table, leaveTable) / leftShare

  let exceptions3 = 0
  let exceptions2 = 0
  const zoned2 = members(size, { zones: ['a', 'b'] })
  const t3 = new PlacementTable(zoned, perCapacity)
  const t2 = new PlacementTable(zoned2, perCapacity)
  for (const id of keyIds.slice(0, 10_000)) {
    if (new Set(t3.homeReplicas(id, n).map(m => m.zone)).size !== Math.min(3, size)) exceptions3++
    if (new Set(t2.homeReplicas(id, n).map(m => m.zone)).size !== Math.min(2, size)) exceptions2++
  }

  const lookups = Math.min(keyIds.length, 100_000)
  const t1 = performance.now()
  for (let k = 0; k < lookups; k++) table.homeReplicas(keyIds[k] as Uint8Array, n)
  const lookupUs = (performance.now() - t1) * 1000 / lookups

  console.log(`| ${size} | ${f(er.max)} | ${f(er.min)} | ±${f(worst * 100, 1)} % | ${f(zr.max)} | ${f(zr.min)} | ${f(joinExact)} / ${f(joinSampled)} | ${f(leaveExact)} / ${f(leaveSampled)} | ${exceptions3} / ${exceptions2} | ${f(lookupUs, 2)} | ${f(tableMb, 1)} | ${f(seconds, 1)} |`)
}

// the alternative with provably exact shares: weighted rendezvous hashing (highest random weight,
// score −w / ln(h), Schindelhauer & Schomaker) costs one hash per member per key
{
  const size = Math.max(...sizes)
  const ids = Array.from({ length: size }, () => new Uint8Array(randomBytes(32)))
  const input = new Uint8Array(64)
  const runs = 20
  const t = performance.now()
  for (let r = 0; r < runs; r++) {
    input.set(keyIds[r % keyIds.length] as Uint8Array, 32)
    let best = -Infinity
    for (const id of ids) {
      input.set(id, 0)
      const h = keyId(input)
      const u = ((((h[0] ?? 0) * 256 + (h[1] ?? 0)) * 256 + (h[2] ?? 0)) * 256 + (h[3] ?? 0) + 1) / 2 ** 32
      best = Math.max(best, -1 / Math.log(u))
    }
  }
  console.log(`weighted rendezvous hashing over ${size} members, for comparison: ${f((performance.now() - t) / runs, 2)} ms per key (the placement table above: microseconds)`)
}
