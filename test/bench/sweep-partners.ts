/**
 * Anti-entropy partners per membership event at any network size (issue #16), without a network:
 * real placement (`PlacementTable`, 128 positions per peer, N = 3) ranks every key before and after
 * one death and one join, and each peer's sweep partners are what its Merkle index names
 * (`MerkleIndex.takeGained()`): the peers that became a home replica of a key it holds. Before
 * issue #16 every peer swept every other member: n − 1 rounds per peer per event.
 *
 *   node --import tsx test/bench/sweep-partners.ts [--peers 10000] [--keys-per-peer 30] [--json]
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { DEFAULT_N } from '../../src/constants.ts'
import { PlacementTable, keyId } from '../../src/routing/index.ts'

const { values } = parseArgs({ options: { peers: { type: 'string', default: '10000' }, 'keys-per-peer': { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } })
const n = Number(values.peers)
const total = n * Number(values['keys-per-peer'])

interface Member { id: number, kadId: Uint8Array }
const members: Member[] = Array.from({ length: n }, (_, id) => ({ id, kadId: randomBytes(32) }))
const keys = Array.from({ length: total }, (_, i) => keyId(new TextEncoder().encode(`key-${i}`)))
const rank = (view: Member[]): number[][] => {
  const table = new PlacementTable(view)
  return keys.map(k => table.preferenceList(k, DEFAULT_N, DEFAULT_N).map(m => m.id))
}
const before = rank(members)

/** One event's sweep partners per peer: the holders (home replicas before) and the homes they gained. */
function sweep (event: string, after: number[][], gone?: number): Record<string, unknown> {
  const gained = new Map<number, Set<number>>()
  for (let i = 0; i < keys.length; i++) {
    const old = before[i] ?? []
    for (const holder of old) {
      if (holder === gone) continue
      for (const home of after[i] ?? []) {
        if (home === holder || old.includes(home)) continue
        let set = gained.get(holder)
        if (set == null) gained.set(holder, set = new Set())
        set.add(home)
      }
    }
  }
  const counts = [...gained.values()].map(s => s.size)
  const peers = gone == null ? n + 1 : n - 1
  const rounds = counts.reduce((a, b) => a + b, 0)
  const histogram: Record<number, number> = {}
  for (const c of counts) histogram[c] = (histogram[c] ?? 0) + 1
  return { event, peers, keys: total, sweeping: gained.size, maxPartners: Math.max(0, ...counts), meanPartners: rounds / peers, rounds, roundsBefore: peers * (peers - 1), histogram }
}

const victim = members[Math.floor(n / 2)] as Member
const joiner = { id: n, kadId: randomBytes(32) }
const results = [
  sweep('death', rank(members.filter(m => m !== victim)), victim.id),
  sweep('join', rank([...members, joiner]))
]
for (const r of results) {
  if (values.json) {
    console.log(JSON.stringify(r))
  } else {
    console.log(`${String(r.event)}: ${String(r.peers)} peers, ${String(r.keys)} keys: ${String(r.sweeping)} peers sweep, at most ${String(r.maxPartners)} partners each (mean ${(r.meanPartners as number).toFixed(3)} over all peers); ${String(r.rounds)} rounds in the network, where sweeping every member ran ${String(r.roundsBefore)}; partners:peers ${Object.entries(r.histogram as Record<string, number>).map(([k, v]) => `${k}:${v}`).join(' ')}`)
  }
}
