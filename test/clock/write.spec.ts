import {
  applyWrite,
  emptyContext,
  emptySiblingSet,
  liveSiblings,
  mergeSiblingSets,
  nextDot,
  siblingSetsEqual
} from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import type { Actor, CausalContext, SiblingSet, WriteResult } from '../../src/clock/index.ts'

const X: Actor = 'aa000001'
const Y: Actor = 'bb000001'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

let clock = 0

/** A coordinator write through `actor` on the replica state `local`, with the client's context. */
function put (local: SiblingSet, actor: Actor, value: string, context: CausalContext = emptyContext()): WriteResult {
  return applyWrite(local, { dot: nextDot(local, actor), value: encoder.encode(value), timestamp: ++clock, deleted: false, context })
}

function del (local: SiblingSet, actor: Actor, context: CausalContext): WriteResult {
  return applyWrite(local, { dot: nextDot(local, actor), value: new Uint8Array(0), timestamp: ++clock, deleted: true, context })
}

function values (set: SiblingSet): string[] {
  return liveSiblings(set).map(s => decoder.decode(s.value)).sort()
}

describe('clock/write', () => {
  it('returns the new sibling as the delta and what the client saw plus the new dot as its context', () => {
    const first = put(emptySiblingSet(), X, 'a')
    const read = first.state.context
    const second = put(first.state, X, 'b', read)
    expect(second.delta.siblings.map(s => s.dot)).to.deep.equal([{ actor: X, counter: 2 }])
    expect([...second.delta.context.vv]).to.deep.equal([[X, 2]])
    expect([...second.clientContext.vv]).to.deep.equal([[X, 2]])
    expect(siblingSetsEqual(second.state, mergeSiblingSets(first.state, second.delta))).to.equal(true)
  })

  it('gives a blind write the new dot alone, not the coordinator range', () => {
    let local = put(emptySiblingSet(), X, 'a').state
    local = put(local, X, 'b').state
    const blind = put(local, X, 'c')
    expect([...blind.clientContext.vv]).to.deep.equal([])
    expect(blind.clientContext.cloud).to.deep.equal([{ actor: X, counter: 3 }])
  })

  describe('siblings', () => {
    it('keeps two blind writes as two siblings', () => {
      const first = put(emptySiblingSet(), X, 'a')
      const second = put(first.state, X, 'b')
      expect(values(second.state)).to.deep.equal(['a', 'b'])
    })

    it('keeps two concurrent writes through the same actor as two siblings', () => {
      const base = put(emptySiblingSet(), X, 'base').state
      const read = base.context
      // both clients read the same state, then write through the same peer
      const first = put(base, X, 'a', read)
      const second = put(first.state, X, 'b', read)
      expect(values(second.state)).to.deep.equal(['a', 'b'])
    })

    it('replaces the read value with a write that carries the read context', () => {
      const base = put(emptySiblingSet(), X, 'old').state
      const next = put(base, X, 'new', base.context)
      expect(values(next.state)).to.deep.equal(['new'])
      expect(next.state.siblings).to.have.length(1)
    })

    it('replaces exactly the siblings the client saw, not one that arrived after its read', () => {
      const x1 = put(emptySiblingSet(), X, 'x1')
      const read = x1.state.context
      // meanwhile a concurrent write at another replica reaches X's replica
      const y1 = put(emptySiblingSet(), Y, 'y1')
      const local = mergeSiblingSets(x1.state, y1.delta)
      const write = put(local, X, 'x2', read)
      expect(values(write.state)).to.deep.equal(['x2', 'y1'])
      // and the other replica, once it gets the delta, agrees
      expect(siblingSetsEqual(mergeSiblingSets(y1.state, mergeSiblingSets(x1.delta, write.delta)), write.state)).to.equal(true)
    })

    it('resolves siblings seen through another replica before the coordinator has them', () => {
      const y1 = put(emptySiblingSet(), Y, 'y1')
      const x1 = put(emptySiblingSet(), X, 'x1')
      // the client read both replicas; X's replica has not received y1 yet
      const read = mergeSiblingSets(y1.state, x1.state).context
      const write = put(x1.state, X, 'resolved', read)
      expect(values(write.state)).to.deep.equal(['resolved'])
      // when y1 arrives later it is recognized as superseded
      expect(values(mergeSiblingSets(write.state, y1.state))).to.deep.equal(['resolved'])
      expect(values(mergeSiblingSets(y1.state, write.delta))).to.deep.equal(['resolved'])
    })

    it('does not explode when two clients alternate through one actor with their own last context', () => {
      let local = emptySiblingSet()
      const contexts = [emptyContext(), emptyContext()]
      for (let round = 0; round < 100; round++) {
        for (const client of [0, 1]) {
          const result = put(local, X, `c${client}r${round}`, contexts[client])
          local = result.state
          contexts[client] = result.clientContext
          expect(local.siblings.length).to.be.at.most(2)
        }
      }
      expect(values(local)).to.deep.equal(['c0r99', 'c1r99'])
      expect(local.context.cloud).to.deep.equal([])
    })
  })

  describe('tombstones', () => {
    it('deletes the seen siblings, leaves one tombstone and reads as not found', () => {
      const a = put(emptySiblingSet(), X, 'a')
      const b = put(a.state, X, 'b')
      const deleted = del(b.state, X, b.state.context)
      expect(deleted.state.siblings).to.have.length(1)
      expect(deleted.state.siblings[0]).to.include({ deleted: true })
      expect(deleted.state.siblings[0]?.value).to.have.length(0)
      expect(liveSiblings(deleted.state)).to.deep.equal([])
    })

    it('does not resurrect a deleted value when merged with a stale replica', () => {
      const written = put(emptySiblingSet(), X, 'doomed')
      const stale = mergeSiblingSets(emptySiblingSet(), written.delta)
      const deleted = del(written.state, X, written.state.context)
      expect(liveSiblings(mergeSiblingSets(deleted.state, stale))).to.deep.equal([])
      expect(liveSiblings(mergeSiblingSets(stale, deleted.state))).to.deep.equal([])
      expect(liveSiblings(mergeSiblingSets(stale, deleted.delta))).to.deep.equal([])
    })

    it('keeps a concurrent value next to a delete that did not see it', () => {
      const x1 = put(emptySiblingSet(), X, 'x1')
      const y1 = put(emptySiblingSet(), Y, 'y1')
      const deleted = del(x1.state, X, x1.state.context)
      expect(values(mergeSiblingSets(deleted.state, y1.state))).to.deep.equal(['y1'])
    })

    it('refuses a tombstone with a value', () => {
      expect(() => applyWrite(emptySiblingSet(), { dot: { actor: X, counter: 1 }, value: Uint8Array.of(1), timestamp: 1, deleted: true, context: emptyContext() }))
        .to.throw(/tombstone/).with.property('name', 'InvalidParametersError')
    })
  })

  describe('limits', () => {
    it('refuses a write past maxSiblings, saying how many, the max and what to do', () => {
      let local = emptySiblingSet()
      local = applyWrite(local, { dot: nextDot(local, X), value: encoder.encode('a'), timestamp: 1, deleted: false, context: emptyContext() }, { maxSiblings: 2 }).state
      local = applyWrite(local, { dot: nextDot(local, X), value: encoder.encode('b'), timestamp: 2, deleted: false, context: emptyContext() }, { maxSiblings: 2 }).state
      const before = structuredClone(local)
      expect(() => applyWrite(local, { dot: nextDot(local, X), value: encoder.encode('c'), timestamp: 3, deleted: false, context: emptyContext() }, { maxSiblings: 2 }))
        .to.throw(/3 siblings \(max 2\).*read the key and write the merged value with its context/)
        .with.property('name', 'TooManySiblingsError')
      expect(local).to.deep.equal(before)
      // a write that resolves them is fine under the same limit
      expect(applyWrite(local, { dot: nextDot(local, X), value: encoder.encode('c'), timestamp: 3, deleted: false, context: local.context }, { maxSiblings: 2 }).state.siblings).to.have.length(1)
    })

    it('refuses a write past maxObjectBytes', () => {
      const limits = { maxObjectBytes: 10 }
      const first = applyWrite(emptySiblingSet(), { dot: { actor: X, counter: 1 }, value: new Uint8Array(6), timestamp: 1, deleted: false, context: emptyContext() }, limits)
      expect(() => applyWrite(first.state, { dot: { actor: X, counter: 2 }, value: new Uint8Array(6), timestamp: 2, deleted: false, context: emptyContext() }, limits))
        .to.throw(/12 bytes in all \(max 10 bytes\).*read the key/)
        .with.property('name', 'TooManySiblingsError')
      // replacing the first value keeps it at 6 bytes
      expect(applyWrite(first.state, { dot: { actor: X, counter: 2 }, value: new Uint8Array(6), timestamp: 2, deleted: false, context: first.clientContext }, limits).state.siblings).to.have.length(1)
    })

    it('uses MAX_SIBLINGS by default', () => {
      let local = emptySiblingSet()
      for (let i = 0; i < 100; i++) local = put(local, X, String(i)).state
      expect(() => put(local, X, 'one too many')).to.throw(/101 siblings \(max 100\)/).with.property('name', 'TooManySiblingsError')
    })
  })

  describe('reused dots', () => {
    it('refuses a dot the local state has seen', () => {
      const first = put(emptySiblingSet(), X, 'a')
      const before = structuredClone(first.state)
      expect(() => applyWrite(first.state, { dot: { actor: X, counter: 1 }, value: encoder.encode('b'), timestamp: 2, deleted: false, context: emptyContext() }))
        .to.throw(/already issued/).with.property('name', 'InvalidParametersError')
      expect(first.state).to.deep.equal(before)
    })

    it('refuses a dot behind one the local state has seen', () => {
      const local: SiblingSet = { siblings: [], context: { vv: new Map(), cloud: [{ actor: X, counter: 5 }] } }
      expect(() => applyWrite(local, { dot: { actor: X, counter: 2 }, value: encoder.encode('b'), timestamp: 2, deleted: false, context: emptyContext() }))
        .to.throw(/later dot/).with.property('name', 'InvalidParametersError')
    })

    it('refuses a dot the client context claims to have seen already', () => {
      const context: CausalContext = { vv: new Map([[X, 4]]), cloud: [] }
      expect(() => applyWrite(emptySiblingSet(), { dot: { actor: X, counter: 1 }, value: encoder.encode('b'), timestamp: 2, deleted: false, context }))
        .to.throw(/client context/).with.property('name', 'InvalidParametersError')
    })

    it('refuses a malformed counter', () => {
      for (const counter of [0, -1, 1.5, Number.NaN]) {
        expect(() => applyWrite(emptySiblingSet(), { dot: { actor: X, counter }, value: encoder.encode('b'), timestamp: 2, deleted: false, context: emptyContext() }))
          .to.throw().with.property('name', 'InvalidParametersError')
      }
    })
  })
})
