import fc from 'fast-check'
import {
  contextContains,
  emptySiblingSet,
  liveSiblings,
  mergeSiblingSets,
  nextDot,
  siblingSetsEqual
} from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import { ACTORS, mergeAll, pick, scenarioArbitrary, simulate, statesArbitrary } from './simulation.ts'
import type { CausalContext, Sibling, SiblingSet } from '../../src/clock/index.ts'

const runs = { numRuns: 250 }

function sibling (actor: string, counter: number, value = 'v', timestamp = 1): Sibling {
  return { dot: { actor, counter }, value: new TextEncoder().encode(value), timestamp, deleted: false }
}

function dots (set: SiblingSet): string[] {
  return set.siblings.map(s => `${s.dot.actor}:${s.dot.counter}`)
}

describe('clock/sibling-set', () => {
  describe('mergeSiblingSets', () => {
    it('keeps siblings the other side has not seen and drops those it superseded', () => {
      const a: SiblingSet = { siblings: [sibling('aa', 1), sibling('bb', 1)], context: { vv: new Map([['aa', 1], ['bb', 1]]), cloud: [] } }
      // b saw aa:1 and replaced it with aa:2; it has not seen bb:1
      const b: SiblingSet = { siblings: [sibling('aa', 2)], context: { vv: new Map([['aa', 2]]), cloud: [] } }
      const merged = mergeSiblingSets(a, b)
      expect(dots(merged)).to.deep.equal(['aa:2', 'bb:1'])
      expect([...merged.context.vv]).to.deep.equal([['aa', 2], ['bb', 1]])
    })

    it('returns siblings in canonical order and never mutates its inputs', () => {
      const a: SiblingSet = { siblings: [sibling('ff', 1), sibling('01', 1)], context: { vv: new Map([['ff', 1], ['01', 1]]), cloud: [] } }
      const before = { siblings: [...a.siblings], vv: [...a.context.vv] }
      const merged = mergeSiblingSets(a, emptySiblingSet())
      expect(dots(merged)).to.deep.equal(['01:1', 'ff:1'])
      expect(a.siblings).to.deep.equal(before.siblings)
      expect([...a.context.vv]).to.deep.equal(before.vv)
      expect(merged.siblings[0]).to.not.equal(a.siblings[1])
    })

    it('is commutative on realistic states', () => {
      fc.assert(fc.property(statesArbitrary(), ({ world, picks: [i, j] }) => {
        const a = pick(world, i)
        const b = pick(world, j)
        expect(siblingSetsEqual(mergeSiblingSets(a, b), mergeSiblingSets(b, a))).to.equal(true)
      }), runs)
    })

    it('is associative on realistic states', () => {
      fc.assert(fc.property(statesArbitrary(), ({ world, picks: [i, j, k] }) => {
        const a = pick(world, i)
        const b = pick(world, j)
        const c = pick(world, k)
        expect(siblingSetsEqual(mergeSiblingSets(mergeSiblingSets(a, b), c), mergeSiblingSets(a, mergeSiblingSets(b, c)))).to.equal(true)
      }), runs)
    })

    it('is idempotent on realistic states', () => {
      fc.assert(fc.property(statesArbitrary(), ({ world, picks: [i, j] }) => {
        const a = pick(world, i)
        const b = pick(world, j)
        expect(siblingSetsEqual(mergeSiblingSets(a, a), a)).to.equal(true)
        const ab = mergeSiblingSets(a, b)
        expect(siblingSetsEqual(mergeSiblingSets(ab, b), ab)).to.equal(true)
      }), runs)
    })

    it('keeps the invariant: every sibling dot is in the context', () => {
      fc.assert(fc.property(statesArbitrary(), ({ world, picks: [i, j] }) => {
        const merged = mergeSiblingSets(pick(world, i), pick(world, j))
        for (const s of merged.siblings) expect(contextContains(merged.context, s.dot)).to.equal(true)
      }), runs)
    })
  })

  describe('no write is lost', () => {
    it('after all replicas merge, a write survives exactly when no client wrote having seen it', () => {
      fc.assert(fc.property(scenarioArbitrary(40), scenario => {
        const world = simulate(scenario)
        const final = mergeAll(world.replicas)
        const survivors = new Set(dots(final))
        for (const write of world.writes) {
          const name = `${write.dot.actor}:${write.dot.counter}`
          // by the simulator's own bookkeeping, not by any context the clock computed
          const superseded = world.writes.some(w => w.seen.has(name))
          // lost: neither a sibling nor knowingly replaced; zombie: replaced, yet still here
          expect(survivors.has(name), name).to.equal(!superseded)
        }
        expect(final.siblings.length).to.equal(survivors.size)
      }), runs)
    })

    it('gives every replica and every client a context of exactly the writes it has seen', () => {
      fc.assert(fc.property(scenarioArbitrary(40), scenario => {
        const world = simulate(scenario)
        const all = world.writes.map(w => w.dot)
        const check = (context: CausalContext, seen: Set<string>): void => {
          for (const dot of all) expect(contextContains(context, dot), `${dot.actor}:${dot.counter}`).to.equal(seen.has(`${dot.actor}:${dot.counter}`))
          // and nothing that was never written
          for (const actor of ACTORS) expect(contextContains(context, { actor, counter: all.filter(d => d.actor === actor).length + 1 })).to.equal(false)
        }
        world.replicas.forEach((state, i) => { check(state.context, world.received[i] ?? new Set()) })
        for (const { context, seen } of world.handedOut) check(context, seen)
      }), runs)
    })

    it('converges: every order of merging the replicas gives the same state', () => {
      fc.assert(fc.property(scenarioArbitrary(), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), (scenario, keys) => {
        const world = simulate(scenario)
        const shuffled = world.replicas
          .map((state, i) => ({ state, key: keys[i] ?? 0 }))
          .sort((a, b) => a.key - b.key)
          .map(({ state }) => state)
        expect(siblingSetsEqual(mergeAll(world.replicas), mergeAll(shuffled))).to.equal(true)
      }), { numRuns: 100 })
    })
  })

  describe('nextDot', () => {
    it('starts at 1 and goes past the range and the cloud of its actor only', () => {
      expect(nextDot(emptySiblingSet(), 'aa')).to.deep.equal({ actor: 'aa', counter: 1 })
      const set: SiblingSet = {
        siblings: [],
        context: { vv: new Map([['aa', 3], ['bb', 9]]), cloud: [{ actor: 'aa', counter: 7 }, { actor: 'bb', counter: 12 }] }
      }
      expect(nextDot(set, 'aa')).to.deep.equal({ actor: 'aa', counter: 8 })
      expect(nextDot(set, 'cc')).to.deep.equal({ actor: 'cc', counter: 1 })
    })
  })

  describe('liveSiblings', () => {
    it('leaves out tombstones', () => {
      const tombstone: Sibling = { dot: { actor: 'bb', counter: 1 }, value: new Uint8Array(0), timestamp: 2, deleted: true }
      const set: SiblingSet = { siblings: [sibling('aa', 1), tombstone], context: { vv: new Map([['aa', 1], ['bb', 1]]), cloud: [] } }
      expect(liveSiblings(set).map(s => s.dot)).to.deep.equal([{ actor: 'aa', counter: 1 }])
      expect(liveSiblings({ ...set, siblings: [tombstone] })).to.deep.equal([])
      expect(liveSiblings(emptySiblingSet())).to.deep.equal([])
    })
  })

  describe('siblingSetsEqual', () => {
    const context = { vv: new Map([['aa', 1], ['bb', 1]]), cloud: [] }

    it('ignores order and representation', () => {
      const a: SiblingSet = { siblings: [sibling('aa', 1), sibling('bb', 1)], context }
      const b: SiblingSet = { siblings: [sibling('bb', 1), sibling('aa', 1)], context: { vv: new Map([['bb', 1]]), cloud: [{ actor: 'aa', counter: 1 }] } }
      expect(siblingSetsEqual(a, b)).to.equal(true)
    })

    it('compares values byte-wise, timestamps, tombstones and contexts', () => {
      const a: SiblingSet = { siblings: [sibling('aa', 1, 'x')], context }
      expect(siblingSetsEqual(a, { siblings: [sibling('aa', 1, 'y')], context })).to.equal(false)
      expect(siblingSetsEqual(a, { siblings: [sibling('aa', 1, 'x', 2)], context })).to.equal(false)
      expect(siblingSetsEqual(a, { siblings: [{ ...sibling('aa', 1, ''), deleted: true }], context })).to.equal(false)
      expect(siblingSetsEqual(a, { siblings: [sibling('aa', 1, 'x')], context: { vv: new Map([['aa', 1]]), cloud: [] } })).to.equal(false)
      expect(siblingSetsEqual(a, { siblings: [], context })).to.equal(false)
      expect(siblingSetsEqual(a, { siblings: [sibling('aa', 1, 'x')], context })).to.equal(true)
    })
  })
})
