import fc from 'fast-check'
import { resolveLww } from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import type { Sibling } from '../../src/clock/index.ts'

function sibling (actor: string, counter: number, timestamp: number, deleted = false): Sibling {
  return { dot: { actor, counter }, value: deleted ? new Uint8Array(0) : Uint8Array.of(counter), timestamp, deleted }
}

describe('clock/lww', () => {
  it('returns undefined for no siblings', () => {
    expect(resolveLww([])).to.equal(undefined)
  })

  it('picks the highest timestamp, a tombstone included', () => {
    const newest = sibling('aa', 1, 30, true)
    expect(resolveLww([sibling('ff', 9, 10), newest, sibling('bb', 2, 20)])).to.equal(newest)
  })

  it('breaks timestamp ties by actor, then counter, larger wins', () => {
    expect(resolveLww([sibling('aa', 9, 5), sibling('bb', 1, 5)])?.dot).to.deep.equal({ actor: 'bb', counter: 1 })
    expect(resolveLww([sibling('bb', 2, 5), sibling('bb', 3, 5), sibling('aa', 7, 5)])?.dot).to.deep.equal({ actor: 'bb', counter: 3 })
  })

  it('picks the same sibling whatever the order', () => {
    const siblingArb = fc.record({
      actor: fc.constantFrom('01', '7c', 'ff'),
      counter: fc.integer({ min: 1, max: 5 }),
      timestamp: fc.integer({ min: 0, max: 3 })
    }).map(s => sibling(s.actor, s.counter, s.timestamp))
    const distinct = fc.uniqueArray(siblingArb, { minLength: 1, maxLength: 8, selector: s => `${s.dot.actor}:${s.dot.counter}` })
    fc.assert(fc.property(distinct, fc.integer(), (siblings, seed) => {
      const shuffled = siblings.map((s, i) => ({ s, k: (i * 7919 + seed) % 13 })).sort((a, b) => a.k - b.k).map(({ s }) => s)
      const winner = resolveLww(siblings)
      expect(resolveLww(shuffled)).to.equal(winner)
      expect(resolveLww([...siblings].reverse())).to.equal(winner)
      for (const s of siblings) expect(s.timestamp).to.be.at.most(winner?.timestamp ?? -1)
    }), { numRuns: 200 })
  })
})
