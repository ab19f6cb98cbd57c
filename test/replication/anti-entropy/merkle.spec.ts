import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { applyWrite, emptySiblingSet, nextDot } from '../../../src/clock/index.ts'
import { MerkleIndex, Summary, differingBuckets } from '../../../src/replication/anti-entropy/merkle.ts'
import { MemoryEngine } from '../../../src/storage/index.ts'
import { expect } from '../../utils/expect.ts'
import type { Engine } from '../../../src/storage/index.ts'

const PEERS = ['a', 'b', 'c', 'd', 'e']
const SELF = 'a'

/** A stand-in for placement: three of the five peers, chosen by the key's hash and the view. */
function homesIn (view: string[]): (key: Uint8Array) => string[] {
  return key => {
    const h = createHash('sha256').update(key).digest()
    return [...view].sort((x, y) => ((h[x.charCodeAt(0) % 32] ?? 0) ^ x.charCodeAt(0)) - ((h[y.charCodeAt(0) % 32] ?? 0) ^ y.charCodeAt(0))).slice(0, 3)
  }
}

/** The leaves built from scratch: one scan of the store, every key ranked anew. */
async function fromScratch (engine: Engine, peer: string, homesOf: (key: Uint8Array) => string[]): Promise<Summary> {
  const summary = new Summary()
  for await (const { key, record } of engine.entries()) {
    if (homesOf(key).includes(peer)) summary.add(key, record.set)
  }
  return summary
}

async function write (engine: Engine, key: Uint8Array, value: number): Promise<void> {
  await engine.update(key, current => {
    const set = current?.set ?? emptySiblingSet()
    const actor = 'aabbccddeeff001100000001'
    const { state } = applyWrite(set, { dot: nextDot(set, actor), value: Uint8Array.of(value), timestamp: 1, deleted: false, context: set.context })
    return { set: state, actor }
  })
}

type Op = { kind: 'write', key: number, value: number } | { kind: 'delete', key: number }

const ops = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('write' as const), key: fc.integer({ min: 0, max: 40 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 40 }) })
), { maxLength: 80 })

async function run (engine: Engine, list: Op[]): Promise<void> {
  // concurrently, as a busy peer would: changes of one key still apply in order
  await Promise.all(list.map(async op => {
    const key = new TextEncoder().encode(`key-${op.key}`)
    if (op.kind === 'write') await write(engine, key, op.value)
    else await engine.delete(key)
  }))
}

async function expectSameAsScratch (engine: Engine, index: MerkleIndex, homesOf: (key: Uint8Array) => string[]): Promise<void> {
  for (const peer of PEERS.filter(p => p !== SELF)) {
    const scratch = await fromScratch(engine, peer, homesOf)
    expect(differingBuckets(index.leavesFor(peer), scratch.leaves()), `leaves for ${peer}`).to.deep.equal([])
    expect(index.sizeFor(peer)).to.equal(scratch.size)
    const digests = index.digestsFor(peer, Array.from({ length: 256 }, (_, i) => i))
    expect(digests.map(d => Buffer.from(d.hash).toString('hex')).sort())
      .to.deep.equal(scratch.buckets.flat().map(d => Buffer.from(d.hash).toString('hex')).sort())
  }
}

describe('anti-entropy Merkle index', () => {
  it('kept up to date by every write and delete, equals a summary built from scratch', async () => {
    await fc.assert(fc.asyncProperty(ops, ops, async (before, after) => {
      const engine = new MemoryEngine()
      await engine.open()
      const homesOf = homesIn(PEERS)
      const index = new MerkleIndex({ self: SELF, homesOf, viewFingerprint: () => PEERS.join(',') })
      await run(engine, before)
      // subscribe, then load while more changes run: the changes win over the scan
      engine.onChange((key, record) => { index.apply(key, record) })
      await Promise.all([index.load(engine.entries()), run(engine, after)])
      await index.refresh()
      await expectSameAsScratch(engine, index, homesOf)
      await engine.close()
    }), { numRuns: 60 })
  })

  it('re-ranks every key when the view changes, and stays exact under writes during the rebuild', async () => {
    const engine = new MemoryEngine()
    await engine.open()
    let view = PEERS.slice(0, 4)
    const index = new MerkleIndex({ self: SELF, homesOf: key => homesIn(view)(key), viewFingerprint: () => view.join(',') })
    engine.onChange((key, record) => { index.apply(key, record) })
    await index.load(engine.entries())
    for (let i = 0; i < 1200; i++) await write(engine, new TextEncoder().encode(`k${i}`), i % 256)
    await index.refresh()
    await expectSameAsScratch(engine, index, homesIn(view))

    view = PEERS
    const writes = (async () => {
      for (let i = 0; i < 300; i++) {
        if (i % 3 === 0) await engine.delete(new TextEncoder().encode(`k${i}`))
        else await write(engine, new TextEncoder().encode(`k${i * 7}`), 7)
      }
    })()
    await Promise.all([index.refresh(), writes])
    await expectSameAsScratch(engine, index, homesIn(view))
    await engine.close()
  })

  it('refreshes started around view changes end on the newest view, one rebuild per view', async () => {
    const engine = new MemoryEngine()
    await engine.open()
    let view = PEERS.slice(0, 4)
    let rankings = 0
    const homesOf = (key: Uint8Array): string[] => {
      // endless re-ranking must fail the test, not hang it
      if (++rankings > 10_000) throw new Error('the index keeps re-ranking keys')
      return homesIn(view)(key)
    }
    const index = new MerkleIndex({ self: SELF, homesOf, viewFingerprint: () => view.join(',') })
    engine.onChange((key, record) => { index.apply(key, record) })
    await index.load(engine.entries())
    for (let i = 0; i < 20; i++) await write(engine, new TextEncoder().encode(`k${i}`), i)
    rankings = 0
    const first = index.refresh()
    view = PEERS
    const second = index.refresh()
    view = PEERS.slice(1)
    await Promise.all([first, second, index.refresh()])
    // 20 keys ranked for each of the three views, no more
    expect(rankings).to.equal(60)
    await expectSameAsScratch(engine, index, homesIn(view))
    await engine.close()
  })

  it('an empty leaf is empty, and a key read back unchanged leaves the leaves unchanged', async () => {
    const engine = new MemoryEngine()
    await engine.open()
    const index = new MerkleIndex({ self: SELF, homesOf: () => ['a', 'b', 'c'], viewFingerprint: () => 'abc' })
    engine.onChange((key, record) => { index.apply(key, record) })
    expect(index.leavesFor('b').every(l => l.length === 0)).to.equal(true)
    const key = new TextEncoder().encode('x')
    await write(engine, key, 1)
    const once = index.leavesFor('b')
    await engine.update(key, current => current == null ? undefined : { ...current })
    expect(differingBuckets(once, index.leavesFor('b'))).to.deep.equal([])
    await engine.delete(key)
    expect(index.leavesFor('b').every(l => l.length === 0)).to.equal(true)
    await engine.close()
  })
})

describe('anti-entropy Merkle index: who shares keys with this peer, and who gained some (issue #16)', () => {
  const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
  const views = fc.tuple(fc.subarray(ALL.slice(1), { minLength: 2 }), fc.subarray(ALL.slice(1), { minLength: 2 }))
    .map(([x, y]) => [[SELF, ...x], [SELF, ...y]])

  it('after a view change, takeGained() names exactly the peers that became a home replica of a key held here, once', async () => {
    await fc.assert(fc.asyncProperty(views, fc.integer({ min: 0, max: 60 }), async ([before, after], count) => {
      const engine = new MemoryEngine()
      await engine.open()
      let view = before as string[]
      const homesOf = (key: Uint8Array): string[] => homesIn(view)(key)
      const index = new MerkleIndex({ self: SELF, homesOf, viewFingerprint: () => view.join(',') })
      engine.onChange((key, record) => { index.apply(key, record) })
      await index.load(engine.entries())
      const keys = Array.from({ length: count }, (_, i) => new TextEncoder().encode(`key-${i}`))
      for (const [i, key] of keys.entries()) await write(engine, key, i % 256)
      await index.refresh()
      // the keys were written after the start: nobody gained them by a view change
      expect(index.takeGained()).to.deep.equal([])

      view = after as string[]
      await index.refresh()
      const expected = new Set<string>()
      for (const key of keys) {
        const old = homesIn(before as string[])(key)
        for (const home of homesIn(view)(key)) if (home !== SELF && !old.includes(home)) expected.add(home)
      }
      expect(index.takeGained()).to.deep.equal([...expected].sort())
      expect(index.takeGained(), 'taken once').to.deep.equal([])
      await engine.close()
    }), { numRuns: 80 })
  })

  it('partners() are the peers that are a home replica of at least one key held here; a start counts them all as gained', async () => {
    const engine = new MemoryEngine()
    await engine.open()
    const keys = Array.from({ length: 30 }, (_, i) => new TextEncoder().encode(`p-${i}`))
    for (const [i, key] of keys.entries()) await write(engine, key, i)
    const homesOf = homesIn(PEERS)
    const index = new MerkleIndex({ self: SELF, homesOf, viewFingerprint: () => PEERS.join(',') })
    engine.onChange((key, record) => { index.apply(key, record) })
    await index.load(engine.entries())
    await index.refresh()
    const sharing = (held: Uint8Array[]): string[] => [...new Set(held.flatMap(k => homesOf(k)).filter(p => p !== SELF))].sort()
    expect(index.partners()).to.deep.equal(sharing(keys))
    // a peer starting up may have missed anything: it sweeps every peer it shares keys with, once
    expect(index.takeGained()).to.deep.equal(sharing(keys))
    expect(index.takeGained()).to.deep.equal([])

    // delete every key some peer is a home replica of: it is no partner any more
    const dropped = index.partners()[0] as string
    const kept = keys.filter(k => !homesOf(k).includes(dropped))
    for (const key of keys) if (homesOf(key).includes(dropped)) await engine.delete(key)
    expect(index.partners()).to.deep.equal(sharing(kept))
    expect(index.partners()).to.not.include(dropped)
    await engine.close()
  })

  it('with viewVersion, the fingerprint is built only when the version moved, and the epoch moves only when placement changed', async () => {
    const engine = new MemoryEngine()
    await engine.open()
    let view = PEERS.slice(0, 4)
    let version = 1
    let fingerprints = 0
    const index = new MerkleIndex({
      self: SELF,
      homesOf: key => homesIn(view)(key),
      viewFingerprint: () => { fingerprints++; return view.join(',') },
      viewVersion: () => version
    })
    engine.onChange((key, record) => { index.apply(key, record) })
    await index.load(engine.entries())
    for (let i = 0; i < 10; i++) await write(engine, new TextEncoder().encode(`v-${i}`), i)
    await index.refresh()
    const epoch = index.epoch
    fingerprints = 0
    // rounds, summaries and digests all refresh first: while the version stands, that costs nothing
    for (let i = 0; i < 100; i++) await index.refresh()
    expect(fingerprints).to.equal(0)

    // the version moves but placement does not (a suspicion): one fingerprint, no rebuild
    version++
    await index.refresh()
    await index.refresh()
    expect(fingerprints).to.equal(1)
    expect(index.epoch).to.equal(epoch)

    // a member joins: the leaves follow, the epoch moves
    view = PEERS
    version++
    await index.refresh()
    expect(index.epoch).to.equal(epoch + 1)
    await expectSameAsScratch(engine, index, homesIn(view))
    await engine.close()
  })
})
