/**
 * The generic request channel (one long-lived stream, requests matched by id) and its per-peer
 * pool, over an in-memory stream pair with a toy JSON framing. The kv RPC and membership use them
 * with their protobuf framing; their own specs cover them on real loopback peers.
 */
import { lpStream, streamPair } from '@libp2p/utils'
import { ChannelPool, RequestChannel } from '../../src/channel/index.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { peerIds } from '../utils/replication.ts'
import type { RequestChannelInit } from '../../src/channel/index.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

interface Frame { id: number, body: string }

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The toy framing: `{ id, body }` as JSON. */
function json (): Pick<RequestChannelInit<string, string>, 'encode' | 'decode' | 'describe'> {
  return {
    encode: (id, body) => enc.encode(JSON.stringify({ id, body })),
    decode: frame => {
      const { id, body } = JSON.parse(dec.decode(frame.subarray())) as Frame
      return { id, response: body }
    },
    describe: body => `a ${body} request`
  }
}

/** The serving end of a stream pair: reads requests, answers what the test says. */
class Server {
  readonly lp
  readonly stream: Stream
  constructor (stream: Stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: 1024 })
  }

  async next (): Promise<Frame> {
    return JSON.parse(dec.decode((await this.lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())) as Frame
  }

  async answer (id: number, body: string): Promise<void> {
    await this.lp.write(enc.encode(JSON.stringify({ id, body })))
  }
}

describe('channel: RequestChannel over one long-lived stream', function () {
  let peer: PeerId
  const opened: Stream[] = []

  before(async () => { [peer] = await peerIds(1) as [PeerId] })
  afterEach(() => {
    for (const s of opened.splice(0)) s.abort(new Error('test done'))
  })

  async function open (init: Partial<RequestChannelInit<string, string>> = {}): Promise<{ channel: RequestChannel<string, string>, server: Server }> {
    const [outbound, inbound] = await streamPair()
    opened.push(outbound, inbound)
    const channel = new RequestChannel<string, string>(peer, outbound, { name: 'test', maxFrame: 1024, log: () => {}, ...json(), ...init })
    return { channel, server: new Server(inbound) }
  }

  it('hands every response to the request with its id, in whatever order they come', async () => {
    const { channel, server } = await open()
    const replies = ['a', 'b', 'c'].map(async body => channel.request(body, { timeout: 10_000 }))
    const requests = [await server.next(), await server.next(), await server.next()]
    expect(requests.map(r => r.id)).to.deep.equal([1, 2, 3])
    for (const r of requests.reverse()) await server.answer(r.id, `re:${r.body}`)
    expect(await Promise.all(replies)).to.deep.equal(['re:a', 're:b', 're:c'])
    expect(channel.closed).to.equal(false)
    expect(channel.inFlight).to.equal(0)
  })

  it('a request that times out fails with TimeoutError and leaves the channel open; its late reply is dropped', async () => {
    const { channel, server } = await open()
    const slow = channel.request('slow', { timeout: 50 })
    const first = await server.next()
    await expect(slow).to.eventually.be.rejected.with.property('name', 'TimeoutError')
    expect(channel.closed).to.equal(false)
    // the late reply, then the next request's reply: only the latter is taken
    const next = channel.request('next', { timeout: 10_000 })
    const second = await server.next()
    await server.answer(first.id, 'late')
    await server.answer(second.id, 're:next')
    expect(await next).to.equal('re:next')
    expect(channel.closed).to.equal(false)
  })

  it('an aborted request fails with the abort reason (AbortError) and leaves the channel open', async () => {
    const { channel, server } = await open()
    const controller = new AbortController()
    const request = channel.request('a', { signal: controller.signal, timeout: 10_000 })
    await server.next()
    controller.abort()
    await expect(request).to.eventually.be.rejected.with.property('name', 'AbortError')
    expect(channel.closed).to.equal(false)
    const already = new AbortController()
    already.abort()
    await expect(channel.request('b', { signal: already.signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
  })

  it('a response to an id never sent is an InvalidMessageError: pending requests fail, the channel closes and its stream is reset', async () => {
    const { channel, server } = await open()
    const pending = channel.request('a', { timeout: 10_000 })
    await server.next()
    await server.answer(99, 'who?')
    await expect(pending).to.eventually.be.rejected.with.property('name', 'InvalidMessageError')
    expect(channel.closed).to.equal(true)
    await expect(channel.request('b')).to.eventually.be.rejected.with.property('name', 'InvalidMessageError')
    await eventually(async () => server.stream.status !== 'open', 'the server side of the stream reset')
  })

  it('with rejectUnknownIds false an unknown id is dropped; with zeroIsOldest id 0 answers the oldest request', async () => {
    const { channel, server } = await open({ rejectUnknownIds: false, zeroIsOldest: true })
    const a = channel.request('a', { timeout: 10_000 })
    const b = channel.request('b', { timeout: 10_000 })
    await server.next()
    const second = await server.next()
    await server.answer(99, 'stray')
    await server.answer(0, 'to the oldest')
    await server.answer(second.id, 're:b')
    expect(await a).to.equal('to the oldest')
    expect(await b).to.equal('re:b')
    expect(channel.closed).to.equal(false)
  })

  it('ids wrap to 1 after maxId', async () => {
    const { channel, server } = await open({ maxId: 2 })
    const ids: number[] = []
    for (const body of ['a', 'b', 'c']) {
      const reply = channel.request(body, { timeout: 10_000 })
      const r = await server.next()
      ids.push(r.id)
      await server.answer(r.id, body)
      expect(await reply).to.equal(body)
    }
    expect(ids).to.deep.equal([1, 2, 1])
  })

  it('when the stream fails every pending request fails and the channel is closed', async () => {
    const { channel, server } = await open()
    const pending = channel.request('a', { timeout: 10_000 })
    await server.next()
    server.stream.abort(new Error('test: reset'))
    await expect(pending).to.be.rejectedWith(Error)
    await eventually(async () => channel.closed, 'the channel closed')
    await expect(channel.request('b')).to.be.rejectedWith(Error)
  })

  it('close() fails pending requests with its error and resets the stream', async () => {
    const { channel, server } = await open()
    const pending = channel.request('a', { timeout: 10_000 })
    await server.next()
    channel.close(new Error('member is no longer alive'))
    await expect(pending).to.eventually.be.rejected.with.property('message', 'member is no longer alive')
    expect(channel.closed).to.equal(true)
    await eventually(async () => server.stream.status !== 'open', 'the server side of the stream reset')
  })

  it('a channel unused for idleTimeout closes itself, half-closing its stream (the server reads a clean end)', async () => {
    const { channel, server } = await open({ idleTimeout: 100 })
    const reply = channel.request('a', { timeout: 10_000 })
    const r = await server.next()
    await server.answer(r.id, 're:a')
    expect(await reply).to.equal('re:a')
    await eventually(async () => channel.closed, 'the idle channel closed')
    await expect(channel.request('b')).to.eventually.be.rejected.with.property('name', 'TimeoutError')
    await expect(server.next()).to.eventually.be.rejected.with.property('name', 'UnexpectedEOFError')
  })
})

describe('channel: ChannelPool opens one channel per peer on demand', function () {
  /** A channel that is only a flag. */
  class Fake {
    closed = false
    error?: Error
    close (err: Error): void { this.closed = true; this.error = err }
  }

  let peers: PeerId[]
  before(async () => { peers = await peerIds(2) })

  it('concurrent opens to one peer share one dial; the open channel is reused, and replaced once closed', async () => {
    const dials: PeerId[] = []
    const pool = new ChannelPool<Fake>(async peer => {
      dials.push(peer)
      await new Promise(resolve => setImmediate(resolve))
      return new Fake()
    })
    const [p0, p1] = peers as [PeerId, PeerId]
    expect(pool.get(p0)).to.equal(undefined)
    const [a, b] = await Promise.all([pool.open(p0, { timeout: 10_000 }), pool.open(p0, { timeout: 10_000 })])
    expect(a).to.equal(b)
    expect(dials).to.have.length(1)
    expect(pool.get(p0)).to.equal(a)
    expect(await pool.open(p1, { timeout: 10_000 })).to.not.equal(a)
    expect(dials).to.have.length(2)
    a.closed = true
    expect(pool.get(p0)).to.equal(undefined)
    const c = await pool.open(p0, { timeout: 10_000 })
    expect(c).to.not.equal(a)
    expect(dials).to.have.length(3)
  })

  it('a failed dial is forgotten: the next open dials again', async () => {
    let fail = true
    let dials = 0
    const pool = new ChannelPool<Fake>(async () => {
      dials++
      if (fail) throw Object.assign(new Error('connection refused'), { name: 'DialError' })
      return new Fake()
    })
    const p0 = peers[0] as PeerId
    await expect(pool.open(p0, { timeout: 10_000 })).to.eventually.be.rejected.with.property('name', 'DialError')
    fail = false
    expect(await pool.open(p0, { timeout: 10_000 })).to.be.instanceOf(Fake)
    expect(dials).to.equal(2)
  })

  it('an open ends at its timeout or any of its signals, and passes its deadline to the dial', async () => {
    const pool = new ChannelPool<Fake>(async (_peer, options: AbortOptions) => new Promise((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => {
        const reason: Error = options.signal?.reason
        reject(reason)
      }, { once: true })
    }))
    const p0 = peers[0] as PeerId
    await expect(pool.open(p0, { timeout: 20 })).to.eventually.be.rejected.with.property('name', 'TimeoutError')
    const controller = new AbortController()
    const opening = pool.open(p0, { timeout: 10_000, signals: [undefined, controller.signal] })
    controller.abort()
    await expect(opening).to.eventually.be.rejected.with.property('name', 'AbortError')
  })

  it('a channel the dial returns closed is not kept; drop() and closeAll() close channels with their error', async () => {
    const made: Fake[] = []
    let closedAtBirth = true
    const pool = new ChannelPool<Fake>(async () => {
      const channel = new Fake()
      if (closedAtBirth) channel.close(new Error('peer is stopping'))
      made.push(channel)
      return channel
    })
    const [p0, p1] = peers as [PeerId, PeerId]
    expect((await pool.open(p0, { timeout: 10_000 })).closed).to.equal(true)
    expect(pool.get(p0)).to.equal(undefined)
    closedAtBirth = false
    const a = await pool.open(p0, { timeout: 10_000 })
    const b = await pool.open(p1, { timeout: 10_000 })
    pool.drop(p0, new Error('member is no longer alive'))
    expect(pool.get(p0)).to.equal(undefined)
    await eventually(async () => a.closed, 'the dropped channel closed')
    expect(a.error?.message).to.equal('member is no longer alive')
    pool.closeAll(new Error('peer is stopping'))
    expect(pool.get(p1)).to.equal(undefined)
    await eventually(async () => b.closed, 'every channel closed')
    expect(made).to.have.length(3)
  })
})
