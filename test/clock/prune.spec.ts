import fc from 'fast-check'
import { contextContains, contextSize, emptySiblingSet, mergeSiblingSets, nextDot, pruneContext } from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import { ACTORS, pick, statesArbitrary } from './simulation.ts'
import type { Sibling, SiblingSet } from '../../src/clock/index.ts'

function sibling (actor: string, counter: number): Sibling {
  return { dot: { actor, counter }, value: Uint8Array.of(counter), timestamp: counter, deleted: false }
}

function dots (set: SiblingSet): string[] {
  return set.siblings.map(s => `${s.dot.actor}:${s.dot.counter}`)
}

describe('clock/prune', () => {
  // siblings of aa only; bb, cc, dd are actors with no sibling left
  const set: SiblingSet = {
    siblings: [sibling('aa', 3), sibling('aa', 7)],
    context: {
      vv: new Map([['aa', 3], ['bb', 9], ['cc', 2]]),
      cloud: [{ actor: 'aa', counter: 7 }, { actor: 'bb', counter: 11 }, { actor: 'dd', counter: 4 }]
    }
  }

  it('leaves a context within the limit as it is', () => {
    expect(pruneContext(set, 6)).to.deep.equal(set)
  })

  it('removes entries of actors without siblings, smallest counter first', () => {
    const pruned = pruneContext(set, 4)
    // cc (2) and dd:4 go first; bb's range (9) and bb:11 stay
    expect([...pruned.context.vv]).to.deep.equal([['aa', 3], ['bb', 9]])
    expect(pruned.context.cloud).to.deep.equal([{ actor: 'aa', counter: 7 }, { actor: 'bb', counter: 11 }])
    expect(pruned.siblings).to.deep.equal(set.siblings)
  })

  it('never removes entries of actors with a sibling, even over the limit', () => {
    const pruned = pruneContext(set, 1)
    expect([...pruned.context.vv]).to.deep.equal([['aa', 3]])
    expect(pruned.context.cloud).to.deep.equal([{ actor: 'aa', counter: 7 }])
    for (const s of pruned.siblings) expect(contextContains(pruned.context, s.dot)).to.equal(true)
  })

  it('keeps the entries of the actors it is told to keep, so nextDot never goes back', () => {
    const pruned = pruneContext(set, 2, ['bb'])
    expect(contextSize(pruned.context)).to.equal(4)
    expect(nextDot(pruned, 'bb')).to.deep.equal({ actor: 'bb', counter: 12 })
    // without it, bb would issue its dots again from 1
    expect(nextDot(pruneContext(set, 2), 'bb')).to.deep.equal({ actor: 'bb', counter: 1 })
  })

  it('does not mutate its input', () => {
    const copy = structuredClone(set)
    pruneContext(set, 1)
    expect(set).to.deep.equal(copy)
  })

  it('lets a stale copy of a pruned actor\'s version reappear as a sibling (the documented false conflict)', () => {
    const old: SiblingSet = { siblings: [sibling('bb', 1)], context: { vv: new Map([['bb', 1]]), cloud: [] } }
    const replaced: SiblingSet = { siblings: [sibling('aa', 1)], context: { vv: new Map([['aa', 1], ['bb', 1]]), cloud: [] } }
    expect(dots(mergeSiblingSets(replaced, old))).to.deep.equal(['aa:1'])
    expect(dots(mergeSiblingSets(pruneContext(replaced, 1), old))).to.deep.equal(['aa:1', 'bb:1'])
  })

  describe('properties', () => {
    const limitArb = fc.integer({ min: 0, max: 6 })

    it('keeps the siblings, every sibling dot in the context, and fits the limit when the rule allows', () => {
      fc.assert(fc.property(statesArbitrary(), limitArb, ({ world, picks: [i] }, limit) => {
        const state = pick(world, i)
        const pruned = pruneContext(state, limit)
        expect(dots(pruned)).to.deep.equal(dots(mergeSiblingSets(state, emptySiblingSet())))
        for (const s of pruned.siblings) expect(contextContains(pruned.context, s.dot)).to.equal(true)
        const withSiblings = new Set(state.siblings.map(s => s.dot.actor))
        const floor = [...pruned.context.vv.keys()].filter(a => withSiblings.has(a)).length +
          pruned.context.cloud.filter(d => withSiblings.has(d.actor)).length
        const size = contextSize(state.context)
        expect(contextSize(pruned.context)).to.equal(size <= limit ? size : Math.max(limit, floor))
        // it only ever removes dots
        for (const actor of ACTORS) {
          for (let counter = 1; counter <= 40; counter++) {
            if (contextContains(pruned.context, { actor, counter })) expect(contextContains(state.context, { actor, counter })).to.equal(true)
          }
        }
      }), { numRuns: 250 })
    })

    it('after pruning, a merge never drops a sibling it would have kept', () => {
      fc.assert(fc.property(statesArbitrary(), limitArb, ({ world, picks: [i, j] }, limit) => {
        const a = pick(world, i)
        const b = pick(world, j)
        const kept = new Set(dots(mergeSiblingSets(pruneContext(a, limit), b)))
        for (const name of dots(mergeSiblingSets(a, b))) expect(kept.has(name), name).to.equal(true)
      }), { numRuns: 250 })
    })
  })
})
