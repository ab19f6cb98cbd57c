import { defaultLogger } from '@libp2p/logger'
import { stubInterface } from 'sinon-ts'
import { emptyContext, mergeSiblingSets } from '../../src/clock/index.ts'
import { Coordinator } from '../../src/replication/index.ts'
import { expect } from '../utils/expect.ts'
import { GatedEngine } from '../utils/gated-engine.ts'
import { aborted, enc, openEngine, peerIds, placed, written } from '../utils/replication.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { CoordinatorComponents } from '../../src/replication/index.ts'
import type { PlacedPeer } from '../../src/routing/index.ts'
import type { MemoryEngine } from '../../src/storage/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

type Answer = (request: KvRequest, options: AbortOptions) => Promise<KvResponse>

interface Fixture {
  coordinator: Coordinator
  engine: MemoryEngine
  self: PeerId
  others: PeerId[]
  /** every request sent, by peer */
  sent: Array<{ peer: string, request: KvRequest }>
  rpc: ReturnType<typeof stubInterface<CoordinatorComponents['rpc']>>
}

/**
 * A coordinator with stubbed placement and rpc: `home` are the key's N home replicas, `rest` the
 * preference list beyond them, and `answers` what each peer (by index into [self, ...others])
 * answers; a peer without an answer is unreachable.
 */
async function fixture (setup: (peers: PeerId[]) => { home: PlacedPeer[], rest?: PlacedPeer[], answers: Map<string, Answer> }, init = {}, given?: MemoryEngine): Promise<Fixture> {
  const [self, ...others] = await peerIds(6)
  if (self == null) throw new Error('no peers')
  const engine = given ?? await openEngine()
  const { home, rest = [], answers } = setup([self, ...others])
  const sent: Fixture['sent'] = []
  const rpc = stubInterface<CoordinatorComponents['rpc']>()
  rpc.request.callsFake(async (peer: PeerId, request: KvRequest, options: AbortOptions = {}) => {
    sent.push({ peer: peer.toString(), request })
    options.signal?.throwIfAborted()
    const answer = answers.get(peer.toString())
    if (answer == null) throw Object.assign(new Error(`${peer} unreachable`), { name: 'DialError' })
    return answer(request, options)
  })
  const placement = stubInterface<CoordinatorComponents['placement']>()
  placement.homeReplicas.callsFake(async (_key: Uint8Array, n: number, options: AbortOptions = {}) => { options.signal?.throwIfAborted(); return home.slice(0, n) })
  placement.preferenceList.callsFake(async () => [...home, ...rest])
  const coordinator = new Coordinator({ logger: defaultLogger(), peerId: self, engine, rpc, placement }, init)
  return { coordinator, engine, self, others, sent, rpc }
}

/** Yields to the event loop until `ok()` (each turn runs every pending callback; no wall-clock wait). */
async function waitFor (ok: () => boolean): Promise<void> {
  for (let turns = 0; !ok(); turns++) {
    if (turns > 1000) throw new Error('condition never met')
    await new Promise(resolve => setImmediate(resolve))
  }
}

const ok: Answer = async () => ({ status: 'ok' })
const key = enc.encode('k')

describe('replication coordinator (stubbed components)', () => {
  it('a put on a home replica answers after W durable copies, its own included, and stores locally', async () => {
    const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map([[String(b), ok]]) }))
    const result = await f.coordinator.put(key, enc.encode('v'))
    expect(result).to.include({ acks: 2, replicas: 3, n: 3, coordinator: f.self.toString() })
    const local = await f.engine.get(key)
    expect(local?.set.siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['v'])
    expect(local?.hintFor).to.equal(undefined)
    // the delta went to both other home replicas
    expect(f.sent.filter(s => s.request.type === 'store').map(s => s.peer).sort()).to.deep.equal([String(f.others[0]), String(f.others[1])].sort())
  })

  it('W=3 needs the coordinator\'s own copy too: no answer before it is durable, though the other acks are in', async () => {
    const engine = new GatedEngine()
    await engine.open()
    const acked: Array<Promise<KvResponse>> = []
    const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map([[String(b), ok], [String(c), ok]]) }), {}, engine)
    const request = f.rpc.request
    const held = engine.holdNextWrite()
    let answered = false
    const putting = f.coordinator.put(key, enc.encode('v3'), { w: 3 }).finally(() => { answered = true })
    await held.arrived
    // both other stores were sent and answered: everything but the own copy is in
    await waitFor(() => f.sent.length === 2)
    for (const call of request.getCalls()) acked.push(call.returnValue as Promise<KvResponse>)
    await Promise.all(acked)
    await new Promise(resolve => setImmediate(resolve))
    expect(answered, 'answered before the third copy was durable').to.equal(false)
    held.release()
    expect((await putting).acks).to.equal(3)
  })

  it('a strict put whose other home replicas fail reports the quorum with every failure, after storing its own copy', async () => {
    const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map() }))
    const err = await f.coordinator.put(key, enc.encode('v'), { strict: true }).then(() => undefined, (e: Error) => e)
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err?.message).to.match(/^quorum not reached: 1 of 2 acks/)
    expect((err as AggregateError).errors).to.have.length(2)
    expect(await f.engine.get(key)).to.not.equal(undefined)
  })

  it('sloppy quorum: a home replica that cannot take the write is replaced by an alive fallback (before a suspect one) holding a hint', async () => {
    const f = await fixture(([self, b, c, suspect, alive]) => ({
      home: placed([self, b, c] as PeerId[]),
      rest: [...placed([suspect] as PeerId[], 'suspect'), ...placed([alive] as PeerId[], 'alive')],
      answers: new Map([[String(b), ok], [String(suspect), ok], [String(alive), ok]])
    }))
    const result = await f.coordinator.put(key, enc.encode('v'), { w: 3 })
    expect(result.acks).to.equal(3)
    const hinted = f.sent.filter(s => s.request.type === 'store' && s.request.hintFor != null)
    expect(hinted.map(s => s.peer)).to.deep.equal([String(f.others[3])])
    expect(hinted[0]?.request).to.have.deep.property('hintFor', [String(f.others[1])])
  })

  it('forwards a write it is no home replica of to the nearest one that answers; an error answer is final', async () => {
    const context = written('v').context
    const coordinated: Answer = async () => ({ status: 'ok', context, acks: 2 })
    const f = await fixture(([, b, c, d]) => ({ home: placed([b, c, d] as PeerId[]), answers: new Map([[String(c), coordinated]]) }))
    const result = await f.coordinator.put(key, enc.encode('v'))
    expect(result).to.deep.include({ context, acks: 2, replicas: 3, coordinator: String(f.others[1]) })
    // b was unreachable, c answered: d was never asked
    expect(f.sent.map(s => `${s.request.type}@${s.peer}`)).to.deep.equal([`coordinate@${String(f.others[0])}`, `coordinate@${String(f.others[1])}`])
    expect(await f.engine.get(key)).to.equal(undefined)

    const refusing: Answer = async () => ({ status: 'error', errorName: 'QuorumNotReachedError', errorMessage: 'quorum not reached: 1 of 2 acks (retry, or lower --w)' })
    const g = await fixture(([, b, c]) => ({ home: placed([b, c] as PeerId[]), answers: new Map([[String(b), refusing], [String(c), coordinated]]) }))
    await expect(g.coordinator.put(key, enc.encode('v'), { n: 2 })).to.eventually.be.rejected.with.property('name', 'QuorumNotReachedError')
    expect(g.sent).to.have.length(1)
  })

  it('with no home replica reachable, a sloppy write is coordinated here with hints and a strict one fails', async () => {
    const f = await fixture(([, b, c, d]) => ({ home: placed([b, c] as PeerId[]), rest: placed([d] as PeerId[], 'alive'), answers: new Map([[String(d), ok]]) }))
    const result = await f.coordinator.put(key, enc.encode('v'), { n: 2, w: 2 })
    expect(result).to.include({ acks: 2, coordinator: f.self.toString() })
    // this peer's own copy is a hint for both owners
    expect((await f.engine.get(key))?.hintFor).to.deep.equal([String(f.others[0]), String(f.others[1])].sort())

    const g = await fixture(([, b, c]) => ({ home: placed([b, c] as PeerId[]), answers: new Map() }))
    const err = await g.coordinator.put(key, enc.encode('v'), { n: 2, strict: true }).then(() => undefined, (e: Error) => e)
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err?.message).to.match(/strict: no home replica reachable to coordinate/)
    expect(await g.engine.get(key)).to.equal(undefined)
  })

  it('a get merges R replies, then repairs exactly the replicas that lacked part of the merge', async () => {
    const older = written('old', 'b'.repeat(24))
    const newer = written('new', 'b'.repeat(24), { base: older, context: older.context })
    const both = mergeSiblingSets(older, newer)
    const f = await fixture(([self, b, c]) => ({
      home: placed([self, b, c] as PeerId[]),
      answers: new Map<string, Answer>([
        [String(b), async request => request.type === 'read' ? { status: 'ok', state: newer } : { status: 'ok' }],
        [String(c), async request => request.type === 'read' ? { status: 'ok', state: older } : { status: 'ok' }]
      ])
    }))
    const result = await f.coordinator.get(key, { r: 3 })
    expect(result.state).to.deep.equal(both)
    await f.coordinator.settled()
    const repairs = f.sent.filter(s => s.request.type === 'store')
    // c was behind, b was not; this peer held nothing and was repaired locally
    expect(repairs.map(s => s.peer)).to.deep.equal([String(f.others[1])])
    expect((await f.engine.get(key))?.set).to.deep.equal(both)
  })

  it('a read quorum that cannot be reached fails with the count and the failures', async () => {
    const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map() }))
    const err = await f.coordinator.get(key).then(() => undefined, (e: Error) => e)
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    // it rejects as soon as two failures make R unreachable, whether or not the local read is in
    expect(err?.message).to.match(/^quorum not reached: [01] of 2 replies \(get; failed: 12D3…/)
  })

  it('refuses bad quorums and oversized keys and values before anything is sent or stored', async () => {
    const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map([[String(b), ok], [String(c), ok]]) }), { maxValueBytes: 4 })
    await expect(f.coordinator.put(key, enc.encode('too long'))).to.eventually.be.rejected.with.property('name', 'ValueTooLargeError')
    await expect(f.coordinator.put(new Uint8Array(1025), enc.encode('v'))).to.eventually.be.rejected.with.property('name', 'KeyTooLargeError')
    await expect(f.coordinator.put(key, enc.encode('v'), { w: 4 })).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    await expect(f.coordinator.delete(key, { blind: true, context: emptyContext() })).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    expect(f.sent).to.have.length(0)
    expect(await f.engine.get(key)).to.equal(undefined)
  })

  describe('abort: every public async method rejects with AbortError', () => {
    const put = { value: enc.encode('v'), deleted: false, context: emptyContext(), n: 3, w: 2, strict: false }
    const calls: Record<string, (c: Coordinator, signal: AbortSignal) => Promise<unknown>> = {
      put: async (c, signal) => c.put(key, enc.encode('v'), { signal }),
      get: async (c, signal) => c.get(key, { signal }),
      delete: async (c, signal) => c.delete(key, { signal }),
      'blind delete': async (c, signal) => c.delete(key, { blind: true, signal }),
      coordinateForwarded: async (c, signal) => c.coordinateForwarded(key, put, { signal })
    }
    for (const [name, call] of Object.entries(calls)) {
      it(`${name}, aborted before it starts, sends and stores nothing`, async () => {
        const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map([[String(b), ok], [String(c), ok]]) }))
        await expect(call(f.coordinator, aborted())).to.eventually.be.rejected.with.property('name', 'AbortError')
        expect(f.sent).to.have.length(0)
        expect(await f.engine.get(key)).to.equal(undefined)
      })
    }

    it('put, aborted while the replicas are slow, rejects with AbortError rather than a quorum error', async () => {
      const controller = new AbortController()
      const hang: Answer = async (_request, options) => new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => { reject(new DOMException(String(options.signal?.reason), 'AbortError')) }, { once: true })
        controller.abort()
      })
      const f = await fixture(([self, b, c]) => ({ home: placed([self, b, c] as PeerId[]), answers: new Map([[String(b), hang], [String(c), hang]]) }))
      await expect(f.coordinator.put(key, enc.encode('v'), { signal: controller.signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
    })
  })
})
