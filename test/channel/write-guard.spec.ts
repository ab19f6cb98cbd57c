import { lpStream } from '@libp2p/utils'
import fc from 'fast-check'
import { OutboundBudget, RequestChannel, WriteGuard } from '../../src/channel/index.ts'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { encodeRequest } from '../../src/protocol/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { createHostilePeer, sendFrame } from '../utils/hostile.ts'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** A stream as the guard sees it: whatever is sent stays unsent until `drain()`. */
class FakeStream extends EventTarget {
  writeBufferLength = 0
  status = 'open'
  sent: number[] = []
  aborted?: Error

  send (data: Uint8Array | Uint8ArrayList): boolean {
    if (this.aborted != null) throw this.aborted
    this.sent.push(data.byteLength)
    this.writeBufferLength += data.byteLength
    return false
  }

  drain (left = 0): void {
    this.writeBufferLength = Math.min(left, this.writeBufferLength)
    if (this.writeBufferLength === 0) this.dispatchEvent(new Event('idle'))
    this.dispatchEvent(new Event('drain'))
  }

  abort (err: Error): void {
    if (this.status !== 'open') return
    this.aborted = err
    this.status = 'aborted'
    this.writeBufferLength = 0
    this.dispatchEvent(new Event('close'))
  }
}

const KiB = 1024
const MiB = 1024 * KiB

describe('channel: the write guard', () => {
  it('holds at most maxBuffered unsent bytes (or one larger frame); writers wait in order', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 60_000 })
    const done: number[] = []
    const writes = [4, 4, 4, 20, 1].map(async (k, i) => guard.write(new Uint8Array(k * KiB)).then(() => { done.push(i) }))
    await new Promise(resolve => setImmediate(resolve))
    // the first frame went out (an empty buffer takes any frame); the second fits beside it; the third does not
    expect(stream.sent.length).to.equal(2)
    expect(stream.writeBufferLength).to.be.at.most(10 * KiB)
    stream.drain()
    await new Promise(resolve => setImmediate(resolve))
    // the 20 KiB frame goes out alone once the buffer is empty
    stream.drain()
    await new Promise(resolve => setImmediate(resolve))
    expect(stream.writeBufferLength).to.be.at.most(20 * KiB + 3)
    stream.drain()
    await new Promise(resolve => setImmediate(resolve))
    stream.drain()
    await Promise.all(writes)
    expect(done).to.deep.equal([0, 1, 2, 3, 4])
    expect(guard.mostBuffered).to.be.at.most(20 * KiB + 3)
    guard.close()
  })

  it('resets a stream whose peer read nothing for slowReaderTimeout, once, and says so', async () => {
    const stream = new FakeStream()
    const slow: Error[] = []
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 30, onSlowReader: err => { slow.push(err) } })
    // the first is taken at once, the second waits for room that never comes
    const writes = [guard.write(new Uint8Array(8 * KiB)), guard.write(new Uint8Array(8 * KiB))]
    const results = await Promise.allSettled(writes)
    expect(results.map(r => r.status)).to.deep.equal(['fulfilled', 'rejected'])
    expect(stream.aborted?.name).to.equal('TimeoutError')
    expect(slow).to.have.length(1)
    expect(slow[0]?.message).to.match(/slow reader/)
    guard.close()
  })

  it('resets it too when the last answer sits unsent and nothing else is written', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 30 })
    await guard.write(new Uint8Array(KiB))
    await eventually(async () => stream.aborted != null, 'the stream reset')
    expect(stream.aborted?.name).to.equal('TimeoutError')
  })

  it('resets a peer that read some, then stopped', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 30 })
    await guard.write(new Uint8Array(8 * KiB))
    // progress: half of it went out, then nothing more
    stream.drain(4 * KiB)
    await eventually(async () => stream.aborted != null, 'the stream reset')
    expect(stream.aborted?.name).to.equal('TimeoutError')
  })

  it('stops its timer once the stream drains', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 30 })
    await guard.write(new Uint8Array(KiB))
    stream.drain()
    // drained: a write long after is judged afresh (the fake keeps anything sent unsent until drain())
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(stream.aborted).to.equal(undefined)
    guard.close()
  })
})

/** Lets the guard's microtasks and promise chains run. */
async function settle (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

describe('channel: the write guard\'s rooms for answers being made', () => {
  it('grants a room while what the stream holds and the room fit in maxBuffered, or the stream holds nothing', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 60_000 })
    // larger than the bound: goes alone, the stream holding nothing
    const first = await guard.room(20 * KiB)
    expect(guard.held).to.equal(20 * KiB)
    let waited = 0
    let second: Awaited<ReturnType<WriteGuard['room']>> | undefined
    const pending = guard.room(4 * KiB, { onWait: () => { waited++ } }).then(room => { second = room })
    await settle()
    expect(second, 'no room beside an answer being made that fills the bound').to.equal(undefined)
    expect(waited).to.equal(1)
    // made smaller than its room: the room shrinks to its size, which lets the second in
    await first.write(new Uint8Array(2 * KiB))
    await pending
    expect(stream.sent).to.deep.equal([2 * KiB + 2])
    // unsent 2 KiB + 4 KiB being made
    expect(guard.held).to.equal(6 * KiB + 2)
    second?.release()
    second?.release()
    expect(guard.held).to.equal(2 * KiB + 2)
    stream.drain()
    expect(guard.held).to.equal(0)
    expect(guard.mostHeld).to.equal(20 * KiB)
    guard.close()
  })

  it('counts an answer made and waiting its turn, and one made larger than its room, until the stream takes it', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 60_000 })
    const a = await guard.room(3 * KiB)
    const b = await guard.room(3 * KiB)
    // made at 8 KiB, more than its room: counted at its size
    const written = a.write(new Uint8Array(8 * KiB))
    expect(guard.held, 'made, not yet taken').to.equal(8 * KiB + 2 + 3 * KiB)
    await written
    expect(stream.writeBufferLength).to.equal(8 * KiB + 2)
    let third = false
    const waiting = guard.room(4 * KiB).then(room => { third = true; return room })
    await settle()
    expect(third, 'the bound is passed: no further room').to.equal(false)
    b.release()
    await settle()
    expect(third, 'still past it with what is unsent').to.equal(false)
    stream.drain()
    ;(await waiting).release()
    expect(third).to.equal(true)
    guard.close()
  })

  it('rejects a waiting room when the stream ends or its signal aborts, and gives nothing back twice', async () => {
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 10 * KiB, slowReaderTimeout: 60_000 })
    const held = await guard.room(10 * KiB)
    const controller = new AbortController()
    const aborted = guard.room(KiB, { signal: controller.signal })
    controller.abort(new Error('given up'))
    await expect(aborted).to.be.rejectedWith('given up')
    const ended = guard.room(KiB)
    stream.abort(new Error('reset'))
    await expect(ended).to.be.rejected.and.eventually.have.property('name', 'StreamStateError')
    await expect(held.write(new Uint8Array(KiB))).to.be.rejectedWith(Error)
    expect(guard.held).to.equal(0)
    guard.close()
  })

  it('charges rooms to the peer\'s share of the outbound budget: a room waits for it, and every byte comes back', async () => {
    const budget = new OutboundBudget({ perPeer: 10 * KiB, total: 100 * KiB })
    const a = new FakeStream()
    const b = new FakeStream()
    const guardA = new WriteGuard(a as unknown as Stream, { maxBuffered: 64 * KiB, slowReaderTimeout: 60_000, outbound: budget }, 'p')
    const guardB = new WriteGuard(b as unknown as Stream, { maxBuffered: 64 * KiB, slowReaderTimeout: 60_000, outbound: budget }, 'p')
    const room = await guardA.room(8 * KiB)
    expect(budget.usedBy('p'), 'an answer being made counts at its room').to.equal(8 * KiB)
    let waited = 0
    let granted = false
    const waiting = guardB.room(4 * KiB, { onWait: () => { waited++ } }).then(r => { granted = true; return r })
    await settle()
    expect(granted, 'past the peer\'s share').to.equal(false)
    expect(waited).to.equal(1)
    await room.write(new Uint8Array(KiB))
    // made at 1 KiB and unsent: the share has room again
    const other = await waiting
    expect(budget.usedBy('p')).to.equal(KiB + 2 + 4 * KiB)
    await other.write(new Uint8Array(4 * KiB))
    a.drain()
    b.drain()
    await settle()
    expect(budget.used).to.equal(0)
    guardA.close()
    guardB.close()
  })

  // random rooms, answers made (at most their room), rooms given back, partial drains and resets:
  // what a guard holds is its unsent bytes and its rooms, never more than the bound but by one room
  // taken alone, and the budget charges exactly that while the stream is open and nothing once
  // every stream ended
  it('holds within its bound, and charges the budget what it holds (property)', async () => {
    const maxBuffered = 16 * KiB
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(3), fc.constantFrom('room', 'make', 'release', 'drain', 'reset'), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 100 })), { maxLength: 80 }),
      async ops => {
        const budget = new OutboundBudget({ perPeer: 24 * KiB, total: 40 * KiB })
        const streams = Array.from({ length: 4 }, (_, i) => {
          const stream = new FakeStream()
          const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered, slowReaderTimeout: 60_000, outbound: budget }, `peer-${i % 2}`)
          return { stream, guard, peer: `peer-${i % 2}`, rooms: [] as Array<{ room: Awaited<ReturnType<WriteGuard['room']>>, bytes: number }>, waits: [] as Array<Promise<unknown>> }
        })
        let largest = 0
        for (const [which, op, k, pct] of ops) {
          const s = streams[which]
          if (s == null) continue
          if (op === 'room') {
            const bytes = k * KiB
            largest = Math.max(largest, bytes)
            s.waits.push(s.guard.room(bytes).then(room => { s.rooms.push({ room, bytes }) }, () => {}))
          } else if (op === 'make' || op === 'release') {
            const r = s.rooms.shift()
            if (r != null && op === 'make') s.waits.push(r.room.write(new Uint8Array(Math.max(0, Math.floor(r.bytes * pct / 100) - 3))).catch(() => {}))
            else r?.room.release()
          } else if (op === 'drain') {
            s.stream.drain(Math.floor(s.stream.writeBufferLength * pct / 100))
          } else {
            s.stream.abort(new Error('reset'))
          }
          await settle()
          for (const t of streams) {
            const rooms = t.rooms.reduce((sum, r) => sum + r.bytes, 0)
            if (t.stream.status === 'open') expect(t.guard.held, 'held: unsent and rooms').to.equal(t.stream.writeBufferLength + rooms)
            expect(t.guard.held, 'within the bound').to.be.at.most(Math.max(maxBuffered, largest))
          }
          for (const peer of ['peer-0', 'peer-1']) {
            const held = streams.filter(t => t.peer === peer && t.stream.status === 'open').reduce((sum, t) => sum + t.guard.held, 0)
            expect(budget.usedBy(peer), `charged to ${peer}`).to.equal(held)
          }
        }
        for (const s of streams) s.stream.abort(new Error('end'))
        await Promise.all(streams.flatMap(s => s.waits))
        for (const s of streams) s.guard.close()
        expect(budget.used).to.equal(0)
        expect(budget.waiting).to.equal(0)
      }), { numRuns: 200 })
  })
})

describe('channel: the write guard against a peer that asks and never reads', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('keeps the unsent answers to a paused kv stream within streamWriteBuffer and resets it after slowReaderTimeout', async () => {
    const bound = 1 * MiB
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { streamWriteBuffer: bound, slowReaderTimeout: 2000 } })
    const [target, other] = net.peers
    if (target == null || other == null) throw new Error('no peers')
    const key = new TextEncoder().encode('big')
    await other.put(key, new Uint8Array(512 * KiB).fill(7))
    await eventually(async () => (await target.localState(key)) != null, 'the target holds the key')

    const hostile = await createFloorNode()
    cleanup.add(async () => { await hostile.stop() })
    const stream = await hostile.dialProtocol(target.getMultiaddrs(), PROTOCOL_KV)
    // never read: its muxer stops reopening the window, so what the target answers stays unsent there
    stream.pause()
    const lp = lpStream(stream)
    for (let i = 1; i <= 100; i++) await lp.write(encodeRequest(BigInt(i), { type: 'read', key }))

    const served = (): Stream | undefined => target.libp2p.getConnections(hostile.peerId).flatMap(c => c.streams).find(s => s.protocol === PROTOCOL_KV)
    let most = 0
    const sampler = setInterval(() => { most = Math.max(most, served()?.writeBufferLength ?? 0) }, 5)
    cleanup.add(() => { clearInterval(sampler) })
    await eventually(async () => stream.status !== 'open', 'the hostile stream reset', 30_000)
    clearInterval(sampler)

    expect(most, 'unsent bytes held for the hostile peer').to.be.at.most(bound)
    expect(most, 'the attack reached the bound').to.be.greaterThan(256 * KiB)
    expect(target.standing.score(hostile.peerId), 'penalised as a slow reader').to.be.greaterThan(0)
    expect(target.standing.isBanned(hostile.peerId)).to.equal(false)
    // honest traffic through the target
    expect((await target.get(key)).siblings[0]?.value.byteLength).to.equal(512 * KiB)
  })
})

describe('channel: what a peer that asks and never reads makes a kv stream hold, answers made included', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  // issue #19: before an answer took room before it was made, all 100 answers were made at once
  // and held, made and waiting for room, until the stream was reset (~50 MiB for this one stream)
  it('makes no more answers than fit in streamWriteBuffer beside those unsent, and still resets the stream after slowReaderTimeout', async () => {
    const bound = 1 * MiB
    const size = 512 * KiB
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { streamWriteBuffer: bound, slowReaderTimeout: 3000 } })
    const [target, other] = net.peers
    if (target == null || other == null) throw new Error('no peers')
    const key = new TextEncoder().encode('big')
    await other.put(key, new Uint8Array(size).fill(7))
    await eventually(async () => (await target.localState(key)) != null, 'the target holds the key')
    /** read answers the target made for other peers so far */
    const reads = async (): Promise<number> => (await target.metrics.replicaRequests.get()).values.filter(v => v.labels.type === 'read').reduce((sum, v) => sum + v.value, 0)
    const before = await reads()

    const hostile = await createHostilePeer()
    cleanup.add(async () => { await hostile.stop() })
    const stream = await hostile.node.dialProtocol(target.getMultiaddrs(), PROTOCOL_KV, { signal: AbortSignal.timeout(10_000) })
    // never read: what arrives stays in its read buffer, and its muxer stops reopening the window
    stream.pause()
    for (let i = 1; i <= 100; i++) sendFrame(stream, encodeRequest(BigInt(i), { type: 'read', key }))

    // what the target holds for the stream, seen from outside: the answers it made, less what
    // left it (the hostile's read buffer; bytes on the wire count as held, so this over-counts)
    let most = 0
    let made = 0
    const sampling = new AbortController()
    const sampler = (async () => {
      while (!sampling.signal.aborted && stream.status === 'open') {
        made = (await reads()) - before
        const received = stream.readBufferLength
        if (stream.status === 'open') most = Math.max(most, made * size - received)
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    })()
    cleanup.add(async () => { sampling.abort(); await sampler })
    await eventually(async () => stream.status !== 'open', 'the hostile stream reset', 30_000)
    sampling.abort()
    await sampler

    expect(made, 'answers made for the hostile stream').to.be.lessThan(100)
    expect(most, 'answers made and not received by the hostile peer').to.be.at.most(bound + size)
    expect(target.standing.score(hostile.peerId), 'penalised as a slow reader').to.be.greaterThan(0)
    // honest traffic through the target
    expect((await target.get(key)).siblings[0]?.value.byteLength).to.equal(size)
  })
})

describe('channel: the write guard on requests to a peer that never reads', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('keeps a request channel\'s unsent requests within the bound and fails the channel after slowReaderTimeout', async () => {
    const PROTOCOL = '/test/never-reads/1.0.0'
    const [ours, hostile] = [await createFloorNode(), await createFloorNode()]
    cleanup.add(async () => { await ours.stop() })
    cleanup.add(async () => { await hostile.stop() })
    // the hostile side takes the stream and never reads from it
    await hostile.handle(PROTOCOL, stream => { stream.pause() })
    const stream = await ours.dialProtocol(hostile.getMultiaddrs(), PROTOCOL)
    const bound = 512 * KiB
    const channel = new RequestChannel<number, number>(hostile.peerId, stream, {
      name: 'test',
      encode: () => new Uint8Array(100 * KiB),
      decode: () => ({ id: 0, response: 0 }),
      describe: () => 'a test request',
      maxFrame: MiB,
      log: () => {},
      writeGuard: { maxBuffered: bound, slowReaderTimeout: 1000 }
    })
    let most = 0
    const sampler = setInterval(() => { most = Math.max(most, stream.writeBufferLength) }, 5)
    cleanup.add(() => { clearInterval(sampler) })
    const results = await Promise.allSettled(Array.from({ length: 50 }, async (_, i) => channel.request(i, { timeout: 30_000 })))
    clearInterval(sampler)
    expect(results.every(r => r.status === 'rejected'), 'every request failed').to.equal(true)
    expect(channel.closed).to.equal(true)
    expect(stream.status).to.not.equal('open')
    expect(most, 'unsent request bytes').to.be.at.most(bound)
    expect(most, 'the window filled').to.be.greaterThan(100 * KiB)
  })
})
