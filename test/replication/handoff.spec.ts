import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as FakeTimers from '@sinonjs/fake-timers'
import { applyWrite, emptySiblingSet, nextDot } from '../../src/clock/index.ts'
import { Handoff } from '../../src/replication/index.ts'
import { keyId, peerKadId, placedPreferenceList } from '../../src/routing/index.ts'
import { MemoryEngine } from '../../src/storage/index.ts'
import { expect } from '../utils/expect.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { PlacedPeer } from '../../src/routing/index.ts'
import type { StoredRecord } from '../../src/storage/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Clock } from '@sinonjs/fake-timers'

const enc = new TextEncoder()

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function recordOf (value: string, hintFor?: string[]): StoredRecord {
  const set = emptySiblingSet()
  const { state } = applyWrite(set, { dot: nextDot(set, 'aabbccddeeff001100000001'), value: enc.encode(value), timestamp: 1, deleted: false, context: set.context })
  return { set: state, hintFor }
}

/** An engine that counts reads, so a test can tell which keys a pass looked at. */
class CountingEngine extends MemoryEngine {
  reads = 0
  override async get (key: Uint8Array): Promise<StoredRecord | undefined> {
    this.reads++
    return super.get(key)
  }
}

describe('handoff: incremental passes', () => {
  it('checks only the keys changed since the last pass, hands off what this peer no longer owns, and retries hints until delivered to their named owner alone', async () => {
    const [self, a, b, c, gone] = await Promise.all([peer(), peer(), peer(), peer(), peer()])
    if (self == null || a == null || b == null || c == null || gone == null) throw new Error('no peers')
    const engine = new CountingEngine()
    await engine.open()
    // keys starting with "own" are held by self, a and b; every other key by a, b and c
    const placed = (...ids: PeerId[]): PlacedPeer[] => ids.map(peerId => ({ peerId, kadId: new Uint8Array(32) }))
    const stored: string[] = []
    let ownersUp = false
    const handoff = new Handoff({
      logger: defaultLogger(),
      peerId: self,
      engine,
      placement: { fromView: key => new TextDecoder().decode(key).startsWith('own') ? placed(self, a, b, c) : placed(a, b, c, self).slice(0, 3) },
      rpc: {
        request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => {
          if (!ownersUp) throw new Error('owner down')
          if (request.type === 'store') stored.push(`${new TextDecoder().decode(request.key)}→${to.equals(a) ? 'a' : to.equals(b) ? 'b' : 'c'}`)
          return { status: 'ok' }
        }
      },
      members: { notLeft: () => [] }
    }, { n: 3, margin: 0, interval: 3_600_000 })
    for (let i = 0; i < 50; i++) await engine.update(enc.encode(`own-${i}`), () => recordOf('x'))
    handoff.start()
    try {
      const full = await handoff.pass()
      expect(full).to.include({ handedOff: 0, pendingHints: 0 })

      // nothing changed: an incremental pass reads nothing
      engine.reads = 0
      await handoff.incrementalPass()
      expect(engine.reads).to.equal(0)

      // one owned key rewritten, two hinted copies (one for c, one for a peer that is no home
      // replica any more) and one copy of a key self does not own arrive
      await engine.update(enc.encode('own-7'), () => recordOf('y'))
      await engine.update(enc.encode('hinted'), () => recordOf('h', [c.toString()]))
      await engine.update(enc.encode('orphan'), () => recordOf('o', [gone.toString()]))
      await engine.update(enc.encode('stray'), () => recordOf('s'))
      engine.reads = 0
      const down = await handoff.incrementalPass()
      // the rewritten owned key is settled by ranking alone; the three others are read
      expect(engine.reads).to.equal(3)
      expect(down).to.include({ handedOff: 0, pendingHints: 2 })

      // owners back: the hints are retried though they did not change; every copy goes home and is
      // deleted. The hint for c goes to c alone (a and b took that write themselves); the one whose
      // named owner is gone goes to whoever owns the key now
      ownersUp = true
      const up = await handoff.incrementalPass()
      expect(up).to.include({ handedOff: 3, pendingHints: 0 })
      expect(stored.sort()).to.deep.equal(['hinted→c', 'orphan→a', 'orphan→b', 'orphan→c', 'stray→a', 'stray→b', 'stray→c'])
      for (const key of ['hinted', 'orphan', 'stray']) expect(await engine.get(enc.encode(key)), key).to.equal(undefined)
      expect(await engine.count()).to.equal(50)
    } finally {
      await handoff.stop()
      await engine.close()
    }
  })
})

describe('handoff: tombstone GC, the periodic pass and abort (stubbed rpc, fake time)', () => {
  const grace = 60_000
  const tombstoneAt = (timestamp: number): StoredRecord => {
    const set = emptySiblingSet()
    return { set: applyWrite(set, { dot: nextDot(set, 'aabbccddeeff001100000001'), value: new Uint8Array(0), timestamp, deleted: true, context: set.context }).state }
  }
  let clock: Clock
  afterEach(() => { clock?.uninstall() })

  async function setup (answer: (to: PeerId, request: KvRequest) => Promise<KvResponse>, states: string[] = ['alive', 'alive']): Promise<{ handoff: Handoff, engine: MemoryEngine, sent: string[], self: PeerId }> {
    const [self, a, b] = await Promise.all([peer(), peer(), peer()])
    if (self == null || a == null || b == null) throw new Error('no peers')
    const engine = new MemoryEngine()
    await engine.open()
    const sent: string[] = []
    const handoff = new Handoff({
      logger: defaultLogger(),
      peerId: self,
      engine,
      // self is the first home replica of every key: the GC leader
      placement: { fromView: (_key, n) => [self, a, b].slice(0, n).map(peerId => ({ peerId, kadId: new Uint8Array(32) })) },
      rpc: {
        request: async (to: PeerId, request: KvRequest, options?: AbortOptions): Promise<KvResponse> => {
          options?.signal?.throwIfAborted()
          sent.push(`${request.type}→${to.equals(a) ? 'a' : 'b'}`)
          return answer(to, request)
        }
      },
      // self first: the ranking of a tombstone's confirmers puts self ahead of a and b
      members: { notLeft: () => [self, a, b].map((peerId, i) => ({ peerId, kadId: Uint8Array.from([i]), state: i === 0 ? 'alive' : states[i - 1] ?? 'alive' })) }
    }, { n: 3, margin: 0, tombstoneGrace: grace, interval: 10_000 })
    return { handoff, engine, sent, self }
  }

  it('collects a tombstone on every replica only after the grace period, once each confirmed the same state', async () => {
    clock = FakeTimers.install({ toFake: ['Date'], now: 1_000_000 })
    const key = enc.encode('gone')
    const record = tombstoneAt(Date.now())
    const { handoff, engine, sent } = await setup(async (_to, request) => request.type === 'read' ? { status: 'ok', state: record.set } : { status: 'ok' })
    await engine.update(key, () => record)

    // within the grace period nobody is even asked
    expect(await handoff.pass()).to.include({ collected: 0, tombstones: 1 })
    expect(sent).to.deep.equal([])

    clock.tick(grace)
    expect(await handoff.pass()).to.include({ collected: 1 })
    expect(sent.sort()).to.deep.equal(['purge→a', 'purge→b', 'read→a', 'read→b'])
    expect(await engine.get(key)).to.equal(undefined)
    await engine.close()
  })

  it('keeps the tombstone everywhere when a member may hold a copy but cannot confirm it', async () => {
    clock = FakeTimers.install({ toFake: ['Date'], now: 1_000_000 })
    const key = enc.encode('gone')
    const record = tombstoneAt(Date.now() - grace)
    // a dead confirmer: nobody is asked to purge
    const dead = await setup(async () => ({ status: 'ok', state: record.set }), ['alive', 'dead'])
    await dead.engine.update(key, () => record)
    expect(await dead.handoff.pass()).to.include({ collected: 0, tombstones: 1 })
    expect(dead.sent).to.deep.equal([])

    // the confirmers hold something else (a value came back): reads, but no purge
    const other = await setup(async () => ({ status: 'ok', state: recordOf('back').set }))
    await other.engine.update(key, () => record)
    expect(await other.handoff.pass()).to.include({ collected: 0, tombstones: 1 })
    expect(other.sent.filter(s => s.startsWith('purge'))).to.deep.equal([])
    expect((await other.engine.get(key))?.set).to.deep.equal(record.set)
    await Promise.all([dead.engine.close(), other.engine.close()])
  })

  it('passes run every interval from start() and at once on trigger(), until stop()', async () => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'], now: 1_000_000 })
    const { handoff, engine } = await setup(async () => ({ status: 'ok' }))
    handoff.start()
    await clock.tickAsync(9_999)
    expect(handoff.stats.at).to.equal(0)
    await clock.tickAsync(1)
    const first = handoff.stats
    expect(first.at).to.be.greaterThan(0)
    handoff.trigger()
    await clock.tickAsync(1)
    // a new pass replaced the stats, long before the next interval
    expect(handoff.stats).to.not.equal(first)
    await handoff.stop()
    const last = handoff.stats
    await clock.tickAsync(60_000)
    expect(handoff.stats).to.equal(last)
    await engine.close()
  })

  it('pass and incrementalPass reject with AbortError when aborted, and delete nothing', async () => {
    const { handoff, engine } = await setup(async () => ({ status: 'ok' }))
    await engine.update(enc.encode('hinted'), () => recordOf('h', ['someone']))
    const signal = AbortSignal.abort()
    await expect(handoff.pass({ signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
    await expect(handoff.incrementalPass({ signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
    expect(await engine.get(enc.encode('hinted'))).to.not.equal(undefined)
    await engine.close()
  })
})

describe('handoff: work that does not grow with the network (issue #16)', () => {
  let clock: Clock | undefined
  afterEach(() => { clock?.uninstall(); clock = undefined })

  it('tombstone GC asks only each key\'s N + margin places among 40 members, ranking them once per membership version; passes after no change read no member list', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, async () => peer()))
    const self = ids[0] as PeerId
    const members = ids.map(peerId => ({ peerId, kadId: peerKadId(peerId), state: 'alive' }))
    let lists = 0
    let version = 1
    const engine = new MemoryEngine()
    await engine.open()
    const asked = new Map<string, string[]>()
    const grace = 60_000
    const handoff = new Handoff({
      logger: defaultLogger(),
      peerId: self,
      engine,
      // self leads the GC of every key (its first home replica)
      placement: { fromView: (_key, n) => [self, ...ids.slice(1, n)].map(peerId => ({ peerId, kadId: peerKadId(peerId) })) },
      rpc: {
        request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => {
          if (request.type === 'read') {
            const key = new TextDecoder().decode(request.key)
            asked.set(key, [...(asked.get(key) ?? []), to.toString()])
            // nobody confirms (no copy there): every tombstone stays for the next pass
            return { status: 'ok' }
          }
          return { status: 'ok' }
        }
      },
      members: { notLeft: () => { lists++; return members }, get version () { return version } }
    }, { n: 3, margin: 1, tombstoneGrace: grace, interval: 10_000 })
    const keys = Array.from({ length: 10 }, (_, i) => `t-${i}`)
    for (const key of keys) {
      const set = emptySiblingSet()
      await engine.update(enc.encode(key), () => ({ set: applyWrite(set, { dot: nextDot(set, 'aabbccddeeff001100000001'), value: new Uint8Array(0), timestamp: Date.now() - grace, deleted: true, context: set.context }).state }))
    }
    expect(await handoff.pass()).to.include({ collected: 0, tombstones: keys.length })
    for (const key of keys) {
      const places = placedPreferenceList(keyId(enc.encode(key)), members, 3, 4).map(m => m.peerId.toString()).filter(id => id !== self.toString())
      expect(asked.get(key)?.sort(), key).to.deep.equal(places.sort())
    }
    expect([...asked.values()].flat().length, 'confirmations asked').to.be.at.most(keys.length * 4)
    expect(lists, 'member lists read for 10 tombstones').to.equal(1)

    // the same membership version: the ranking is reused; a new one: ranked once more
    await handoff.pass()
    expect(lists).to.equal(1)
    version++
    await handoff.pass()
    expect(lists).to.equal(2)

    // the periodic pass reads the member list (the view's fingerprint) after a membership change only
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'], now: Date.now() })
    handoff.start()
    await clock.tickAsync(10_000)
    const afterFirst = lists
    await clock.tickAsync(50_000)
    expect(lists, 'member lists read by five passes after no change').to.equal(afterFirst)
    handoff.trigger()
    await clock.tickAsync(1)
    expect(lists).to.equal(afterFirst + 1)
    await handoff.stop()
    await engine.close()
  })
})
