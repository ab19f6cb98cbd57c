import { lpStream } from '@libp2p/utils'
import { RequestChannel, WriteGuard } from '../../src/channel/index.ts'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { encodeRequest } from '../../src/protocol/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
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
    this.writeBufferLength = left
    this.dispatchEvent(new Event('drain'))
  }

  abort (err: Error): void {
    this.aborted = err
    this.status = 'aborted'
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
