import fc from 'fast-check'
import { contextsEqual } from '../../src/clock/context.ts'
import { addDot, contextContains, contextIncludes, contextSize, emptyContext, joinContexts, meetContexts, normalizeContext } from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import type { CausalContext, Dot } from '../../src/clock/index.ts'

const actors = ['ff', '01', '7c']
const MAX_COUNTER = 10

const dotArb: fc.Arbitrary<Dot> = fc.record({
  actor: fc.constantFrom(...actors),
  counter: fc.integer({ min: 1, max: MAX_COUNTER })
})

/** Any context over a small domain, normalized or not (duplicates, covered and foldable dots). */
const contextArb: fc.Arbitrary<CausalContext> = fc.record({
  vv: fc.array(fc.tuple(fc.constantFrom(...actors), fc.integer({ min: 0, max: 6 })), { maxLength: 3 }).map(entries => new Map(entries)),
  cloud: fc.array(dotArb, { maxLength: 8 })
})

/** Every dot of the domain, plus one beyond it on each side. */
const domain: Dot[] = actors.flatMap(actor => Array.from({ length: MAX_COUNTER + 2 }, (_, counter) => ({ actor, counter })))

function dotsOf (context: CausalContext): string[] {
  return domain.filter(dot => contextContains(context, dot)).map(dot => `${dot.actor}:${dot.counter}`)
}

const runs = { numRuns: 300 }

describe('clock/context', () => {
  it('meet holds exactly the dots both sides hold, and is commutative, associative and idempotent', () => {
    fc.assert(fc.property(contextArb, contextArb, contextArb, (a, b, c) => {
      const both = domain.filter(d => contextContains(a, d) && contextContains(b, d)).map(d => `${d.actor}:${d.counter}`)
      expect(dotsOf(meetContexts(a, b))).to.deep.equal(both)
      expect(contextsEqual(meetContexts(a, b), meetContexts(b, a))).to.equal(true)
      expect(contextsEqual(meetContexts(meetContexts(a, b), c), meetContexts(a, meetContexts(b, c)))).to.equal(true)
      expect(contextsEqual(meetContexts(a, a), a)).to.equal(true)
    }), runs)
  })

  it('contextIncludes is set inclusion of dots', () => {
    fc.assert(fc.property(contextArb, contextArb, (a, b) => {
      const expected = domain.every(d => !contextContains(b, d) || contextContains(a, d))
      expect(contextIncludes(a, b)).to.equal(expected)
      expect(contextIncludes(joinContexts(a, b), b)).to.equal(true)
    }), runs)
  })

  it('has an empty context that contains nothing', () => {
    const context = emptyContext()
    expect(contextSize(context)).to.equal(0)
    expect(dotsOf(context)).to.deep.equal([])
  })

  it('contains dots in the version vector range and in the cloud, nothing else', () => {
    const context: CausalContext = { vv: new Map([['aa', 3]]), cloud: [{ actor: 'aa', counter: 5 }, { actor: 'bb', counter: 2 }] }
    expect(contextContains(context, { actor: 'aa', counter: 1 })).to.equal(true)
    expect(contextContains(context, { actor: 'aa', counter: 3 })).to.equal(true)
    expect(contextContains(context, { actor: 'aa', counter: 4 })).to.equal(false)
    expect(contextContains(context, { actor: 'aa', counter: 5 })).to.equal(true)
    expect(contextContains(context, { actor: 'bb', counter: 1 })).to.equal(false)
    expect(contextContains(context, { actor: 'bb', counter: 2 })).to.equal(true)
    expect(contextContains(context, { actor: 'aa', counter: 0 })).to.equal(false)
  })

  it('normalizes: drops covered dots, folds contiguous ones, sorts and deduplicates the cloud', () => {
    const context: CausalContext = {
      vv: new Map([['bb', 2], ['aa', 0], ['cc', 1]]),
      cloud: [
        { actor: 'cc', counter: 9 }, { actor: 'bb', counter: 1 }, { actor: 'bb', counter: 4 },
        { actor: 'bb', counter: 3 }, { actor: 'cc', counter: 5 }, { actor: 'cc', counter: 5 },
        { actor: 'aa', counter: 1 }, { actor: 'bb', counter: 6 }
      ]
    }
    const normal = normalizeContext(context)
    expect([...normal.vv]).to.deep.equal([['aa', 1], ['bb', 4], ['cc', 1]])
    expect(normal.cloud).to.deep.equal([{ actor: 'bb', counter: 6 }, { actor: 'cc', counter: 5 }, { actor: 'cc', counter: 9 }])
    expect(contextSize(normal)).to.equal(6)
  })

  it('never mutates its inputs and returns new objects', () => {
    const vv = new Map([['bb', 1]])
    const cloud = [{ actor: 'bb', counter: 2 }, { actor: 'aa', counter: 3 }]
    const context = { vv, cloud }
    const results = [
      normalizeContext(context),
      joinContexts(context, { vv: new Map([['aa', 1]]), cloud: [{ actor: 'aa', counter: 2 }] }),
      addDot(context, { actor: 'bb', counter: 3 })
    ]
    expect([...vv]).to.deep.equal([['bb', 1]])
    expect(cloud).to.deep.equal([{ actor: 'bb', counter: 2 }, { actor: 'aa', counter: 3 }])
    for (const result of results) {
      expect(result).to.not.equal(context)
      expect(result.vv).to.not.equal(vv)
      expect(result.cloud).to.not.equal(cloud)
    }
  })

  it('adds a dot as a cloud dot unless it extends the range', () => {
    const context = normalizeContext({ vv: new Map([['aa', 2]]), cloud: [] })
    const isolated = addDot(context, { actor: 'aa', counter: 4 })
    expect([...isolated.vv]).to.deep.equal([['aa', 2]])
    expect(isolated.cloud).to.deep.equal([{ actor: 'aa', counter: 4 }])
    const folded = addDot(isolated, { actor: 'aa', counter: 3 })
    expect([...folded.vv]).to.deep.equal([['aa', 4]])
    expect(folded.cloud).to.deep.equal([])
  })

  describe('properties', () => {
    it('normalize keeps the same dots, is idempotent and meets the compact invariants', () => {
      fc.assert(fc.property(contextArb, context => {
        const normal = normalizeContext(context)
        expect(dotsOf(normal)).to.deep.equal(dotsOf(context))
        const again = normalizeContext(normal)
        expect([...again.vv]).to.deep.equal([...normal.vv])
        expect(again.cloud).to.deep.equal(normal.cloud)
        const keys = [...normal.vv.keys()]
        expect(keys).to.deep.equal([...keys].sort())
        for (const [, counter] of normal.vv) expect(counter).to.be.greaterThan(0)
        normal.cloud.forEach((dot, i) => {
          expect(dot.counter).to.be.greaterThan((normal.vv.get(dot.actor) ?? 0) + 1)
          const next = normal.cloud[i + 1]
          if (next != null) expect(dot.actor < next.actor || (dot.actor === next.actor && dot.counter < next.counter)).to.equal(true)
        })
      }), runs)
    })

    it('join contains exactly what either side contains', () => {
      fc.assert(fc.property(contextArb, contextArb, (a, b) => {
        const joined = joinContexts(a, b)
        for (const dot of domain) {
          expect(contextContains(joined, dot)).to.equal(contextContains(a, dot) || contextContains(b, dot))
        }
      }), runs)
    })

    it('join is commutative, associative and idempotent', () => {
      fc.assert(fc.property(contextArb, contextArb, contextArb, (a, b, c) => {
        expect(contextsEqual(joinContexts(a, b), joinContexts(b, a))).to.equal(true)
        expect(contextsEqual(joinContexts(joinContexts(a, b), c), joinContexts(a, joinContexts(b, c)))).to.equal(true)
        expect(contextsEqual(joinContexts(a, a), a)).to.equal(true)
        // structurally too, not only as sets
        const ab = joinContexts(a, b)
        const ba = joinContexts(b, a)
        expect([...ab.vv]).to.deep.equal([...ba.vv])
        expect(ab.cloud).to.deep.equal(ba.cloud)
      }), runs)
    })

    it('addDot is a join with that one dot', () => {
      fc.assert(fc.property(contextArb, dotArb, (context, dot) => {
        const added = addDot(context, dot)
        expect(contextsEqual(added, joinContexts(context, { vv: new Map(), cloud: [dot] }))).to.equal(true)
        expect(contextContains(added, dot)).to.equal(true)
      }), runs)
    })

    it('contextsEqual holds exactly when both contain the same dots', () => {
      fc.assert(fc.property(contextArb, contextArb, (a, b) => {
        expect(contextsEqual(a, b)).to.equal(dotsOf(a).join() === dotsOf(b).join())
      }), runs)
    })
  })
})
