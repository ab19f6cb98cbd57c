import { PlacementTable, keyId, neighbourhood } from '../../src/routing/index.ts'
import { expect } from '../utils/expect.ts'
import type { PlacedMember } from '../../src/routing/index.ts'

const enc = new TextEncoder()

/** A member with a made-up kad id (positions derive from it alone). */
function member (name: string, extra: Partial<PlacedMember> = {}): PlacedMember & { name: string } {
  return { name, kadId: keyId(enc.encode(name)), ...extra }
}

describe('routing: neighbourhood (the members a peer shares replica sets with)', () => {
  const members = Array.from({ length: 30 }, (_, i) => member(`peer-${i}`))
  const table = new PlacementTable(members)
  const self = members[0] as PlacedMember & { name: string }

  it('names only other members, heaviest first, at most k', () => {
    const all = neighbourhood(table, self, 3)
    expect(all.length).to.be.greaterThan(0)
    expect(all.every(n => n.member !== self)).to.equal(true)
    for (let i = 1; i < all.length; i++) expect((all[i - 1]?.weight ?? 0) >= (all[i]?.weight ?? 0)).to.equal(true)
    const top = neighbourhood(table, self, 3, 4)
    expect(top.map(n => n.member.name)).to.deep.equal(all.slice(0, 4).map(n => n.member.name))
  })

  it('weighs each neighbour by how many of this member\'s positions it shares a home-replica list at (N − 1 per position in all)', () => {
    // 128 positions, each with N = 3 home replicas: self and two others
    const all = neighbourhood(table, self, 3)
    expect(all.reduce((sum, n) => sum + n.weight, 0)).to.equal(128 * 2)
    // brute force: the preference list at each position, counted by hand
    const counts = new Map<string, number>()
    const target = new Uint8Array(4)
    const view = new DataView(target.buffer)
    for (const p of table.positions.filter((_, j) => table.members[table.owners[j] ?? 0] === self)) {
      view.setUint32(0, p)
      for (const m of table.preferenceList(target, 3, 3)) if (m !== self) counts.set(m.name, (counts.get(m.name) ?? 0) + 1)
    }
    expect(new Map(all.map(n => [n.member.name, n.weight]))).to.deep.equal(counts)
  })

  it('grows with n: more of each list counts', () => {
    const three = neighbourhood(table, self, 3)
    const five = neighbourhood(table, self, 5)
    expect(five.reduce((s, n) => s + n.weight, 0)).to.equal(128 * 4)
    expect(five.length).to.be.at.least(three.length)
  })

  it('is empty for a lone member, for n = 1, for k = 0, and for a member the table does not hold', () => {
    expect(neighbourhood(new PlacementTable([self]), self, 3)).to.deep.equal([])
    expect(neighbourhood(table, self, 1)).to.deep.equal([])
    expect(neighbourhood(table, self, 3, 0)).to.deep.equal([])
    expect(neighbourhood(table, member('stranger'), 3)).to.deep.equal([])
  })

  it('is everyone else in a net of at most N members, each at every position', () => {
    const small = members.slice(0, 3)
    const result = neighbourhood(new PlacementTable(small), self, 3)
    expect(result.map(n => n.weight)).to.deep.equal([128, 128])
  })

  it('counts a bigger capacity\'s positions: a capacity-2 member has twice the weight to share', () => {
    const big = member('big', { capacity: 2 })
    const t = new PlacementTable([big, ...members.slice(1)])
    expect(neighbourhood(t, big, 3).reduce((s, n) => s + n.weight, 0)).to.equal(256 * 2)
  })
})
