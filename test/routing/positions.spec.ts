import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { PlacementTable, keyId, memberPositions, placedPreferenceList, positionCount, prefix32, takeFallback } from '../../src/routing/index.ts'
import { expect } from '../utils/expect.ts'
import type { PlacedMember } from '../../src/routing/index.ts'

interface M extends PlacedMember { i: number }

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const memberArb = fc.record({ kadId: id32, capacity: fc.constantFrom(0.5, 1, 2, 4), zone: fc.constantFrom(undefined, 'a', 'b', 'c') })
const viewArb = fc.uniqueArray(memberArb, { minLength: 1, maxLength: 12, selector: m => Buffer.from(m.kadId).toString('hex') })
  .map(ms => ms.map((m, i): M => ({ ...m, i })))

/** a view with fixed kad ids (sha256 of `member-i`), so the balance checks are reproducible */
function view (count: number, opts: { capacities?: number[], zones?: string[] } = {}): M[] {
  return Array.from({ length: count }, (_, i) => ({
    i,
    kadId: keyId(new TextEncoder().encode(`member-${i}`)),
    capacity: opts.capacities?.[i % opts.capacities.length],
    zone: opts.zones?.[i % opts.zones.length]
  }))
}

/** brute force: members by the XOR distance of their nearest position's first 32 bits (ties by kad id order) */
function bruteOrder (target: Uint8Array, table: PlacementTable<M>): number[] {
  const key = prefix32(target)
  return table.members
    .map((m, rank) => ({ m, rank, d: Math.min(...memberPositions(m.kadId, positionCount(m.capacity)).map(p => (p ^ key) >>> 0)) }))
    .sort((a, b) => a.d - b.d || a.rank - b.rank)
    .map(x => x.m.i)
}

const shareOf = (table: PlacementTable<M>, n: number): Map<number, number> => {
  const own = table.ownership(n)
  return new Map(table.members.map((m, j) => [m.i, own[j] ?? 0]))
}

describe('routing/positions', () => {
  it('positions are derived from the kad id alone: the first is the kad id, their number follows capacity', () => {
    const kadId = new Uint8Array(randomBytes(32))
    expect(positionCount(1)).to.equal(128)
    expect(positionCount(2)).to.equal(256)
    expect(positionCount(0.001)).to.equal(1)
    const p = memberPositions(kadId, 20)
    expect(p[0]).to.equal(prefix32(kadId))
    expect([...memberPositions(kadId.slice(), 20)]).to.deep.equal([...p])
  })

  it('without zones, the preference list is the distinct members in XOR order of their nearest position', () => {
    fc.assert(fc.property(id32, viewArb, (t, members) => {
      const plain = members.map(m => ({ ...m, zone: undefined }))
      const table = new PlacementTable(plain)
      const list = table.preferenceList(t, 3).map(m => m.i)
      expect(list).to.deep.equal(bruteOrder(t, table))
    }), { numRuns: 200 })
  })

  it('is deterministic whatever the order of the view, names distinct members, and homeReplicas is its prefix', () => {
    fc.assert(fc.property(id32, viewArb, fc.integer({ min: 1, max: 5 }), (t, members, n) => {
      const list = new PlacementTable(members).preferenceList(t, n).map(m => m.i)
      const reversed = new PlacementTable([...members].reverse()).preferenceList(t, n).map(m => m.i)
      expect(reversed).to.deep.equal(list)
      expect(new Set(list).size).to.equal(members.length)
      expect(new PlacementTable(members).homeReplicas(t, n).map(m => m.i)).to.deep.equal(list.slice(0, n))
      expect(placedPreferenceList(t, members, n, n + 1).map(m => m.i)).to.deep.equal(list.slice(0, n + 1))
    }), { numRuns: 200 })
  })

  it('home replicas span min(N, zones) zones; the next members are from zones without a home replica first', () => {
    fc.assert(fc.property(id32, viewArb, fc.integer({ min: 1, max: 4 }), (t, members, n) => {
      const table = new PlacementTable(members)
      const list = table.preferenceList(t, n)
      const home = list.slice(0, n)
      const zones = new Set(members.map(m => m.zone ?? ''))
      expect(new Set(home.map(m => m.zone ?? '')).size).to.equal(Math.min(n, members.length, zones.size))
      const homeZones = new Set(home.map(m => m.zone ?? ''))
      const rest = list.slice(n).map(m => homeZones.has(m.zone ?? ''))
      // every fallback of a zone without a home replica comes before every one of a zone with one
      expect(rest).to.deep.equal([...rest].sort((a, b) => Number(a) - Number(b)))
    }), { numRuns: 300 })
  })

  it('exact ownership sums to N and agrees with counted keys', () => {
    const members = view(12, { zones: ['a', 'b', 'c'], capacities: [1, 2] })
    const table = new PlacementTable(members)
    const shares = shareOf(table, 3)
    expect([...shares.values()].reduce((a, b) => a + b, 0)).to.be.closeTo(3, 1e-9)
    const counts = new Map<number, number>()
    const keys = 20_000
    for (let k = 0; k < keys; k++) {
      for (const m of table.homeReplicas(keyId(new TextEncoder().encode(`k${k}`)), 3)) counts.set(m.i, (counts.get(m.i) ?? 0) + 1)
    }
    for (const [i, share] of shares) expect((counts.get(i) ?? 0) / keys).to.be.closeTo(share, 0.02)
  })

  it('balances equal members: 100 of them own between 0.8 and 1.25 × the mean', () => {
    const shares = [...shareOf(new PlacementTable(view(100)), 3).values()]
    const mean = 3 / 100
    expect(Math.max(...shares) / mean).to.be.at.most(1.25)
    expect(Math.min(...shares) / mean).to.be.at.least(0.8)
  })

  it('shares follow capacity weights 1 : 2 : 4 (within ±15 % at 60 members)', () => {
    const members = view(60, { capacities: [1, 2, 4] })
    const shares = shareOf(new PlacementTable(members), 3)
    const total = members.reduce((a, m) => a + (m.capacity ?? 1), 0)
    for (const m of members) expect((shares.get(m.i) ?? 0) / (3 * (m.capacity ?? 1) / total)).to.be.within(0.85, 1.15)
  })

  it('a join moves keys only to the newcomer, a leave only away from the leaver (one copy per key)', () => {
    fc.assert(fc.property(viewArb, id32, fc.array(id32, { minLength: 20, maxLength: 20 }), (members, newcomer, targets) => {
      fc.pre(!members.some(m => Buffer.from(m.kadId).equals(newcomer)))
      const before = new PlacementTable(members.map(m => ({ ...m, zone: undefined })))
      const joiner: M = { kadId: newcomer, i: members.length }
      const after = new PlacementTable([...before.members, joiner])
      for (const t of targets) {
        const a = new Set(before.homeReplicas(t, 3).map(m => m.i))
        const b = after.homeReplicas(t, 3).map(m => m.i)
        const gained = b.filter(i => !a.has(i))
        expect(gained.length).to.be.at.most(1)
        if (gained.length === 1) expect(gained[0]).to.equal(joiner.i)
        // leaving is the same change backwards; below N members nobody is displaced
        const lost = [...a].filter(i => !b.includes(i))
        expect(lost.length).to.equal(members.length >= 3 ? gained.length : 0)
      }
    }), { numRuns: 100 })
  })

  it('a failed home replica is stood in for by a zone lacking the key: one without a home replica, then its own', () => {
    const m = (i: number, zone: string): M => ({ i, zone, kadId: keyId(new TextEncoder().encode(`f-${i}`)) })
    const home = [m(0, 'a'), m(1, 'b'), m(2, 'c')]
    const fallbacks = [m(3, 'a'), m(4, 'c'), m(5, 'b'), m(6, 'b')]
    // replica 1 (zone b) failed: the nearest fallback of zone b, not the nearer ones of a and c
    expect(takeFallback(fallbacks, home[1] as M, home)?.i).to.equal(5)
    expect(takeFallback(fallbacks, home[1] as M, home)?.i).to.equal(6)
    expect(takeFallback(fallbacks, home[1] as M, home)?.i).to.equal(3)
    // a zone holding no home replica comes first
    const withD = [m(3, 'a'), m(7, 'd')]
    expect(takeFallback(withD, home[0] as M, home)?.i).to.equal(7)
    expect(takeFallback([], home[0] as M, home)).to.equal(undefined)
  })
})
