import { createHash } from 'node:crypto'
import { defaultLogger } from '@libp2p/logger'
import * as FakeTimers from '@sinonjs/fake-timers'
import { mergeSiblingSets } from '../../../src/clock/index.ts'
import { AntiEntropy } from '../../../src/replication/index.ts'
import { ReadHandler } from '../../../src/replication/rpc/handlers/read.ts'
import { StoreHandler } from '../../../src/replication/rpc/handlers/store.ts'
import { eventually } from '../../utils/eventually.ts'
import { expect } from '../../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, placed, written } from '../../utils/replication.ts'
import type { KvRequest, KvResponse } from '../../../src/protocol/index.ts'
import type { MemoryEngine } from '../../../src/storage/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Clock } from '@sinonjs/fake-timers'

interface Side { peerId: PeerId, engine: MemoryEngine, antiEntropy: AntiEntropy, requests: KvRequest[] }

/** Two peers whose rpc calls the other's handlers directly: both are home replicas of every key. */
async function pair (interval = 3_600_000): Promise<[Side, Side]> {
  const ids = await peerIds(2)
  const sides: Side[] = []
  for (const peerId of ids) {
    const engine = await openEngine()
    const requests: KvRequest[] = []
    const antiEntropy = new AntiEntropy({
      logger: defaultLogger(),
      peerId,
      engine,
      placement: { fromView: () => placed(ids) },
      members: { list: () => ids.map(id => ({ peerId: id })) },
      rpc: {
        request: async (to: PeerId, request: KvRequest, options: AbortOptions = {}): Promise<KvResponse> => {
          options.signal?.throwIfAborted()
          requests.push(request)
          const other = sides.find(s => s.peerId.equals(to))
          if (other == null) throw new Error('unknown peer')
          switch (request.type) {
            case 'summary': return { status: 'ok', leaves: await other.antiEntropy.leavesFor(peerId, options) }
            case 'digests': return { status: 'ok', digests: await other.antiEntropy.digestsFor(peerId, request.buckets, options) }
            case 'read': return new ReadHandler(other).handle(request, peerId, options)
            case 'store': return new StoreHandler(other).handle(request, peerId, options)
            default: throw new Error(`unexpected ${request.type}`)
          }
        }
      }
    }, { n: 2, interval })
    sides.push({ peerId, engine, antiEntropy, requests })
  }
  return sides as [Side, Side]
}

describe('anti-entropy: rounds between two replicas (stubbed rpc)', () => {
  let clock: Clock | undefined
  afterEach(() => { clock?.uninstall(); clock = undefined })

  it('a round sends what only this side holds, fetches what only the other holds, and merges what both hold differently', async () => {
    const [a, b] = await pair()
    const mineA = written('a-only', 'a'.repeat(24))
    const mineB = written('b-only', 'b'.repeat(24))
    const shared = { a: written('shared-a', 'a'.repeat(24)), b: written('shared-b', 'b'.repeat(24)) }
    await a.engine.update(enc.encode('a-only'), () => ({ set: mineA }))
    await b.engine.update(enc.encode('b-only'), () => ({ set: mineB }))
    await a.engine.update(enc.encode('both'), () => ({ set: shared.a }))
    await b.engine.update(enc.encode('both'), () => ({ set: shared.b }))
    a.antiEntropy.start()
    b.antiEntropy.start()
    try {
      const round = await a.antiEntropy.round(b.peerId)
      expect(round).to.include({ peer: b.peerId.toString(), keys: 2, pushed: 2, pulled: 2 })
      for (const side of [a, b]) {
        expect((await side.engine.get(enc.encode('a-only')))?.set).to.deep.equal(mineA)
        expect((await side.engine.get(enc.encode('b-only')))?.set).to.deep.equal(mineB)
        expect((await side.engine.get(enc.encode('both')))?.set).to.deep.equal(mergeSiblingSets(shared.a, shared.b))
      }
      // converged: the next round compares summaries only
      a.requests.length = 0
      expect(await a.antiEntropy.round(b.peerId)).to.include({ differing: 0, pushed: 0, pulled: 0 })
      expect(a.requests.map(r => r.type)).to.deep.equal(['summary'])
      expect(a.antiEntropy.stats.rounds).to.equal(2)
    } finally {
      await Promise.all([a.antiEntropy.stop(), b.antiEntropy.stop()])
    }
  })

  it('a replica answering an error fails the round with the error\'s name', async () => {
    const [a, b] = await pair()
    const failing = new AntiEntropy({
      logger: defaultLogger(),
      peerId: a.peerId,
      engine: a.engine,
      placement: { fromView: () => placed([a.peerId, b.peerId]) },
      members: { list: () => [{ peerId: a.peerId }, { peerId: b.peerId }] },
      rpc: { request: async () => ({ status: 'error', errorName: 'NotStartedError', errorMessage: 'the kv rpc is stopped' }) }
    })
    failing.start()
    try {
      await expect(failing.round(b.peerId)).to.eventually.be.rejected.with.property('name', 'NotStartedError')
    } finally {
      await failing.stop()
    }
  })

  it('runs one round per interval after start(), a sweep at once on sweep(), none after stop() (fake time)', async () => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    const [a, b] = await pair(30_000)
    // rounds go round the peers a shares keys with: one key makes b one
    await a.engine.update(enc.encode('k'), () => ({ set: written('v') }))
    a.antiEntropy.start()
    b.antiEntropy.start()
    await clock.tickAsync(29_999)
    expect(a.antiEntropy.stats.rounds).to.equal(0)
    await clock.tickAsync(1)
    expect(a.antiEntropy.stats.rounds).to.equal(1)
    a.antiEntropy.sweep()
    await clock.tickAsync(1)
    expect(a.antiEntropy.stats.rounds).to.equal(2)
    await a.antiEntropy.stop()
    await clock.tickAsync(120_000)
    expect(a.antiEntropy.stats.rounds).to.equal(2)
    await b.antiEntropy.stop()
  })

  it('skips the round with a member while its last one found every leaf equal and nothing changed here; a local write, or quietRounds intervals, make it run again (fake time)', async () => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    const [a, b] = await pair(1_000)
    // the same key on both: they share it, and their leaves are equal
    const same = written('same')
    for (const side of [a, b]) await side.engine.update(enc.encode('same'), () => ({ set: same }))
    a.antiEntropy.start()
    b.antiEntropy.start()
    const summaries = (): number => a.requests.filter(r => r.type === 'summary').length
    // the first round runs, finds nothing to do; the next ones are skipped
    await clock.tickAsync(1_000)
    expect(summaries()).to.equal(1)
    await clock.tickAsync(5_000)
    expect(summaries(), 'summaries sent while nothing changed').to.equal(1)
    // a write here: the next round runs, and repairs b
    await a.engine.update(enc.encode('k'), () => ({ set: written('v') }))
    await clock.tickAsync(1_000)
    expect(summaries()).to.equal(2)
    expect(await b.engine.get(enc.encode('k'))).to.not.equal(undefined)
    // quiet again, but never for more than quietRounds (10) intervals
    await clock.tickAsync(9_000)
    const quiet = summaries()
    await clock.tickAsync(3_000)
    expect(summaries(), 'a round after 10 quiet intervals').to.be.greaterThan(quiet)
    await a.antiEntropy.stop()
    await b.antiEntropy.stop()
  })

  it('round, leavesFor and digestsFor reject with AbortError when aborted, sending and storing nothing', async () => {
    const [a, b] = await pair()
    a.antiEntropy.start()
    try {
      await expect(a.antiEntropy.round(b.peerId, { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(a.antiEntropy.leavesFor(b.peerId, { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(a.antiEntropy.digestsFor(b.peerId, [0], { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
      expect(a.requests).to.deep.equal([])
      expect(await b.engine.count()).to.equal(0)
    } finally {
      await a.antiEntropy.stop()
    }
  })
})

describe('anti-entropy: sweeps scoped to the peers that gained keys held here (stubbed rpc, issue #16)', () => {
  /** A ring of 8 slots: member i sits at slot i, a key at the slot its hash names, and its home replicas are the first 3 members at or after that slot. */
  const SLOTS = 8
  const slotOf = (key: Uint8Array): number => (createHash('sha256').update(key).digest()[0] ?? 0) % SLOTS
  /** two keys per slot, found by trying names */
  function keysPerSlot (): Uint8Array[] {
    const out: Uint8Array[] = []
    const count = new Array<number>(SLOTS).fill(0)
    for (let i = 0; out.length < 2 * SLOTS; i++) {
      const key = enc.encode(`ring-${i}`)
      const slot = slotOf(key)
      if ((count[slot] ?? 0) < 2) { count[slot] = (count[slot] ?? 0) + 1; out.push(key) }
    }
    return out
  }

  it('after a death only the next peers along are swept, after a join only the joiner, after a suspicion nobody', async () => {
    const ids = await peerIds(SLOTS)
    const self = ids[0] as PeerId
    // member i at slot i; the one at slot 7 joins later
    let view = ids.slice(0, 7)
    let version = 1
    const homes = (key: Uint8Array): PeerId[] => {
      const out: PeerId[] = []
      for (let s = slotOf(key); out.length < 3; s = (s + 1) % SLOTS) {
        const m = view.find(id => id.equals(ids[s]))
        if (m != null) out.push(m)
      }
      return out
    }
    const engine = await openEngine()
    const asked: string[] = []
    const name = (id: PeerId): string => `p${ids.findIndex(x => x.equals(id))}`
    const antiEntropy = new AntiEntropy({
      logger: defaultLogger(),
      peerId: self,
      engine,
      placement: { fromView: key => placed(homes(key)) },
      members: { list: () => view.map(peerId => ({ peerId })), get version () { return version } },
      rpc: {
        request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => {
          if (request.type === 'summary') asked.push(name(to))
          // the other side holds the same: nothing differs, so a sweep is one SUMMARY per partner
          if (request.type === 'summary') return { status: 'ok', leaves: await antiEntropy.leavesFor(to) }
          return { status: 'ok', digests: [] }
        }
      }
    }, { n: 3, interval: 3_600_000 })
    // this peer holds the keys it is a home replica of
    for (const key of keysPerSlot()) if (homes(key).some(h => h.equals(self))) await engine.update(key, () => ({ set: written('v') }))
    antiEntropy.start()
    try {
      const sweeps = async (count: number): Promise<void> => { await eventually(async () => antiEntropy.stats.sweeps >= count, `sweep ${count}`) }
      // at start: every peer it shares keys with (slots 5, 6, 7 and 0: members 5, 6, 1 and 2)
      antiEntropy.sweep()
      await sweeps(1)
      expect(asked.sort()).to.deep.equal(['p1', 'p2', 'p5', 'p6'])

      // member 1 dies: its places go to members 2 and 3; 5 and 6 share nothing new with this peer
      asked.length = 0
      view = view.filter(id => !id.equals(ids[1]))
      version++
      antiEntropy.sweep()
      await sweeps(2)
      expect(asked.sort(), 'a sweep with every member would ask 5').to.deep.equal(['p2', 'p3'])
      expect(antiEntropy.stats.lastSweep).to.include({ partners: 2, members: 6 })

      // a suspicion (membership's version moves, placement does not) asks nobody, then member 7
      // joins: it is the only one that gained keys held here
      asked.length = 0
      version++
      antiEntropy.sweep()
      await new Promise(resolve => setImmediate(resolve))
      view = [...view, ids[7] as PeerId]
      version++
      antiEntropy.sweep()
      await sweeps(3)
      expect(asked).to.deep.equal(['p7'])
      expect(antiEntropy.stats.sweeps, 'the suspicion is no membership event').to.equal(3)
      expect(antiEntropy.stats.maxSweepPartners).to.equal(4)
    } finally {
      await antiEntropy.stop()
    }
  })

  it('a sweep round that failed is tried again soon, without a new membership event or a plain round', async () => {
    const ids = await peerIds(SLOTS)
    const self = ids[0] as PeerId
    const view = ids.slice(0, 7)
    const homes = (key: Uint8Array): PeerId[] => {
      const out: PeerId[] = []
      for (let s = slotOf(key); out.length < 3; s = (s + 1) % SLOTS) {
        const m = view.find(id => id.equals(ids[s]))
        if (m != null) out.push(m)
      }
      return out
    }
    const engine = await openEngine()
    const name = (id: PeerId): string => `p${ids.findIndex(x => x.equals(id))}`
    const asked: string[] = []
    let refusals = 2
    const antiEntropy = new AntiEntropy({
      logger: defaultLogger(),
      peerId: self,
      engine,
      placement: { fromView: key => placed(homes(key)) },
      members: { list: () => view.map(peerId => ({ peerId })), version: 1 },
      rpc: {
        request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => {
          if (request.type === 'summary') asked.push(name(to))
          // p5 is busy for its first two rounds
          if (request.type === 'summary' && name(to) === 'p5' && refusals-- > 0) throw new Error('stream reset')
          if (request.type === 'summary') return { status: 'ok', leaves: await antiEntropy.leavesFor(to) }
          return { status: 'ok', digests: [] }
        }
      }
    }, { n: 3, interval: 3_600_000 })
    for (const key of keysPerSlot()) if (homes(key).some(h => h.equals(self))) await engine.update(key, () => ({ set: written('v') }))
    antiEntropy.start()
    try {
      antiEntropy.sweep()
      // plain rounds are an hour apart: only the retry of the sweep can ask p5 again
      await eventually(async () => asked.filter(p => p === 'p5').length === 3, 'p5 asked three times', 15_000)
      expect(asked.filter(p => p !== 'p5').sort(), 'the others were asked once').to.deep.equal(['p1', 'p2', 'p6'])
      expect(antiEntropy.stats.sweeps, 'the retries are no membership events').to.equal(1)
    } finally {
      await antiEntropy.stop()
    }
  })
})
