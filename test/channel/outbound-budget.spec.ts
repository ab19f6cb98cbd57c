import { lpStream } from '@libp2p/utils'
import fc from 'fast-check'
import { OutboundBudget, WriteGuard } from '../../src/channel/index.ts'
import { MIN_FRAME_MEMORY, PROTOCOL_KV } from '../../src/constants.ts'
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
  aborted?: Error

  send (data: Uint8Array | Uint8ArrayList): boolean {
    if (this.aborted != null) throw this.aborted
    this.writeBufferLength += data.byteLength
    return false
  }

  /** the peer read all but `left` bytes */
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

/** Lets the guards' microtasks and promise chains run. */
async function settle (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

describe('channel: the outbound budget', () => {
  it('charges a peer\'s streams together; a write past its share waits until another drains', async () => {
    const budget = new OutboundBudget({ perPeer: 10 * KiB, total: 100 * KiB })
    const init = { maxBuffered: 64 * KiB, slowReaderTimeout: 60_000, outbound: budget }
    const a = new FakeStream()
    const b = new FakeStream()
    const guardA = new WriteGuard(a as unknown as Stream, init, 'p')
    const guardB = new WriteGuard(b as unknown as Stream, init, 'p')
    await guardA.write(new Uint8Array(6 * KiB))
    let second = false
    const waiting = guardB.write(new Uint8Array(6 * KiB)).then(() => { second = true })
    await settle()
    expect(budget.usedBy('p')).to.equal(6 * KiB + 2)
    expect(second, 'the second stream waits for the peer\'s share').to.equal(false)
    expect(budget.waiting).to.equal(1)
    // another peer is not held back by p
    const c = new FakeStream()
    const guardC = new WriteGuard(c as unknown as Stream, init, 'q')
    await guardC.write(new Uint8Array(6 * KiB))
    expect(budget.usedBy('q')).to.equal(6 * KiB + 2)
    a.drain()
    await waiting
    expect(budget.usedBy('p')).to.equal(6 * KiB + 2)
    for (const [s, g] of [[a, guardA], [b, guardB], [c, guardC]] as const) { s.drain(); g.close() }
    await settle()
    expect(budget.used).to.equal(0)
  })

  it('lets one frame larger than the share go when nothing else of its peer is unsent', async () => {
    const budget = new OutboundBudget({ perPeer: 10 * KiB, total: 100 * KiB })
    const stream = new FakeStream()
    const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 4 * KiB, slowReaderTimeout: 60_000, outbound: budget }, 'p')
    await guard.write(new Uint8Array(30 * KiB))
    expect(budget.usedBy('p')).to.equal(30 * KiB + 3)
    stream.drain()
    await settle()
    expect(budget.used).to.equal(0)
    guard.close()
  })

  it('serves the total first come, first served: a large write is not starved by small ones', async () => {
    const budget = new OutboundBudget({ perPeer: 10, total: 24 })
    const [p, q, r, s] = [budget.share('p'), budget.share('q'), budget.share('r'), budget.share('s')]
    await p.reserve(10)
    await q.reserve(8)
    const order: string[] = []
    // 28 > 24: waits for the total
    const big = r.reserve(10).then(() => { order.push('big') })
    // 19 would fit, but it came after
    const small = s.reserve(1).then(() => { order.push('small') })
    await settle()
    expect(order, 'the small one waits behind the big one').to.deep.equal([])
    q.release()
    await Promise.all([big, small])
    expect(order).to.deep.equal(['big', 'small'])
    for (const share of [p, r, s]) share.release()
    expect(budget.used).to.equal(0)
  })

  it('gives up a waiting write when its stream ends, and releases what the stream held', async () => {
    const budget = new OutboundBudget({ perPeer: 10 * KiB, total: 100 * KiB })
    const init = { maxBuffered: 64 * KiB, slowReaderTimeout: 60_000, outbound: budget }
    const a = new FakeStream()
    const b = new FakeStream()
    const guardA = new WriteGuard(a as unknown as Stream, init, 'p')
    const guardB = new WriteGuard(b as unknown as Stream, init, 'p')
    await guardA.write(new Uint8Array(8 * KiB))
    const waiting = guardB.write(new Uint8Array(8 * KiB))
    await settle()
    b.abort(new Error('reset'))
    await expect(waiting).to.be.rejectedWith(Error)
    expect(budget.waiting).to.equal(0)
    a.abort(new Error('reset'))
    expect(budget.used).to.equal(0)
    guardA.close()
    guardB.close()
  })

  it('holds a stream that never reads only until slowReaderTimeout: its reset releases the waiting writes', async () => {
    const budget = new OutboundBudget({ perPeer: 10 * KiB, total: 100 * KiB })
    const a = new FakeStream()
    const b = new FakeStream()
    const guardA = new WriteGuard(a as unknown as Stream, { maxBuffered: 64 * KiB, slowReaderTimeout: 30, outbound: budget }, 'p')
    const guardB = new WriteGuard(b as unknown as Stream, { maxBuffered: 64 * KiB, slowReaderTimeout: 60_000, outbound: budget }, 'p')
    await guardA.write(new Uint8Array(8 * KiB))
    await guardB.write(new Uint8Array(8 * KiB))
    expect(a.aborted?.name).to.equal('TimeoutError')
    b.drain()
    await settle()
    expect(budget.used).to.equal(0)
    guardA.close()
    guardB.close()
  })

  // random writes, partial drains and resets over streams of three peers: the charges never pass the
  // bounds but by the one-frame rule, match what the streams hold once the guards have caught up,
  // and are 0 once every stream ended
  it('never charges past its bounds but by one frame, and charges nothing once every stream ended (property)', async () => {
    const perPeer = 10 * KiB
    const total = 20 * KiB
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(5), fc.oneof(fc.constant(-1), fc.constant(-2), fc.integer({ min: 1, max: 14 }))), { maxLength: 120 }),
      async ops => {
        const budget = new OutboundBudget({ perPeer, total })
        const streams = Array.from({ length: 6 }, (_, i) => {
          const stream = new FakeStream()
          const guard = new WriteGuard(stream as unknown as Stream, { maxBuffered: 6 * KiB, slowReaderTimeout: 60_000, outbound: budget }, `peer-${i % 3}`)
          return { stream, guard, peer: `peer-${i % 3}` }
        })
        const writes: Array<Promise<void>> = []
        let largest = 0
        for (const [which, op] of ops) {
          const s = streams[which]
          if (s == null) continue
          if (op === -1) s.stream.drain(Math.floor(s.stream.writeBufferLength / 2))
          else if (op === -2) s.stream.abort(new Error('reset'))
          else {
            largest = Math.max(largest, op * KiB + 2)
            writes.push(s.guard.write(new Uint8Array(op * KiB)).catch(() => {}))
          }
          await settle()
          for (const peer of ['peer-0', 'peer-1', 'peer-2']) {
            expect(budget.usedBy(peer), `charged to ${peer}`).to.be.at.most(Math.max(perPeer, largest))
            const held = streams.filter(t => t.peer === peer && t.stream.status === 'open').reduce((sum, t) => sum + t.stream.writeBufferLength, 0)
            expect(budget.usedBy(peer), `charged to ${peer} against what its streams hold`).to.equal(held)
          }
          expect(budget.used, 'charged in total').to.be.at.most(Math.max(total, largest))
        }
        for (const s of streams) s.stream.abort(new Error('end'))
        await Promise.all(writes)
        for (const s of streams) s.guard.close()
        expect(budget.used).to.equal(0)
        expect(budget.waiting).to.equal(0)
      }), { numRuns: 200 })
  })
})

describe('channel: the outbound budget against a peer that asks on many streams and never reads', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  // the attack of issue #19: every kv stream it may open asks for the same large value again and
  // again and reads nothing. Each stream may hold 64 MiB unsent here, eight of them 512 MiB; the
  // peer's share holds the lot to writeMemoryPerPeer
  it('holds at most writeMemoryPerPeer unsent for it over all its streams, and serves honest put/get meanwhile', async () => {
    const perPeer = MIN_FRAME_MEMORY
    const net = await createTestnet(3, {
      open: true,
      onTeardown: fn => { cleanup.add(fn) },
      peer: { streamWriteBuffer: 64 * MiB, slowReaderTimeout: 8000, writeMemoryPerPeer: perPeer, writeMemoryTotal: 4 * perPeer }
    })
    const [target, other] = net.peers
    if (target == null || other == null) throw new Error('no peers')
    const key = new TextEncoder().encode('big')
    await other.put(key, new Uint8Array(MiB).fill(7))
    await eventually(async () => (await target.localState(key)) != null, 'the target holds the key')

    const hostile = await createFloorNode()
    cleanup.add(async () => { await hostile.stop() })
    await hostile.dial(target.getMultiaddrs())
    let most = 0
    let held = 0
    const sampler = setInterval(() => {
      most = Math.max(most, target.outboundBudget.usedBy(hostile.peerId))
      held = Math.max(held, target.outboundBudget.waiting)
    }, 5)
    cleanup.add(() => { clearInterval(sampler) })
    const streams: Stream[] = []
    for (let s = 0; s < 6; s++) {
      const stream = await hostile.dialProtocol(target.peerId, PROTOCOL_KV, { signal: AbortSignal.timeout(10_000) })
      // never read: its muxer stops reopening the window, so what the target answers stays unsent there
      stream.pause()
      streams.push(stream)
      const lp = lpStream(stream)
      for (let i = 1; i <= 20; i++) await lp.write(encodeRequest(BigInt(i), { type: 'read', key }))
    }
    await eventually(async () => target.outboundBudget.usedBy(hostile.peerId) > 40 * MiB, 'the answers pile up', 60_000)

    // honest traffic through the attacked peer, while the hostile one holds its share
    const honest = new TextEncoder().encode('during')
    await other.put(honest, new TextEncoder().encode('v'))
    expect((await target.get(honest)).siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['v'])
    expect((await target.get(key)).siblings[0]?.value.byteLength).to.equal(MiB)

    await eventually(async () => streams.every(s => s.status !== 'open'), 'every hostile stream reset as a slow reader', 90_000)
    clearInterval(sampler)
    most = Math.max(most, target.outboundBudget.usedBy(hostile.peerId))
    expect(most, 'unsent bytes charged for the hostile peer').to.be.at.most(perPeer)
    expect(most, 'the attack reached the share').to.be.greaterThan(40 * MiB)
    expect(held, 'answers waited for the share').to.be.greaterThan(0)
    expect(target.standing.score(hostile.peerId), 'penalised as a slow reader').to.be.greaterThan(0)
    await eventually(async () => target.outboundBudget.usedBy(hostile.peerId) === 0, 'nothing charged once its streams ended')
  })
})
