import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { byteStream } from '@libp2p/utils'
import fc from 'fast-check'
import { InboundBudget } from '../../src/channel/index.ts'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { PeerId, Stream } from '@libp2p/interface'

/** A stream as the budget sees it: message and close events, and abort(). */
class FakeStream extends EventTarget {
  aborted?: Error
  chunk (bytes: number): void {
    const evt = new Event('message') as Event & { data: Uint8Array }
    evt.data = new Uint8Array(bytes)
    this.dispatchEvent(evt)
  }

  abort (err: Error): void {
    if (this.aborted != null) return
    this.aborted = err
    this.dispatchEvent(new Event('close'))
  }
}

const asStream = (s: FakeStream): Stream => s as unknown as Stream
const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const MiB = 1024 * 1024

describe('channel: the inbound budget', () => {
  it('counts what arrives until its frame is read, per peer and in total', async () => {
    const [a, b] = [await newPeer(), await newPeer()]
    const budget = new InboundBudget({ total: 100, perPeer: 60 })
    const s1 = new FakeStream()
    const w1 = budget.watch(asStream(s1), a)
    const s2 = new FakeStream()
    const w2 = budget.watch(asStream(s2), b)
    s1.chunk(30)
    s2.chunk(20)
    expect([budget.usedBy(a), budget.usedBy(b), budget.used]).to.deep.equal([30, 20, 50])
    // a 28-byte frame has a 1-byte prefix: 29 bytes read
    w1.consumed(28)
    expect(budget.usedBy(a)).to.equal(1)
    w2.close()
    expect([budget.usedBy(b), budget.used]).to.deep.equal([0, 1])
    expect(s1.aborted).to.equal(undefined)
  })

  it('resets the stream that would take its peer past its share, and only that one', async () => {
    const [a, b] = [await newPeer(), await newPeer()]
    const budget = new InboundBudget({ total: 100, perPeer: 60 })
    const [s1, s2, s3] = [new FakeStream(), new FakeStream(), new FakeStream()]
    budget.watch(asStream(s1), a)
    budget.watch(asStream(s2), a)
    budget.watch(asStream(s3), b)
    s1.chunk(40)
    s3.chunk(30)
    s2.chunk(25)
    expect(s2.aborted?.name).to.equal('StreamBufferError')
    expect(s2.aborted?.message).to.match(/over its share of 60/)
    expect(s1.aborted).to.equal(undefined)
    expect([budget.usedBy(a), budget.usedBy(b)]).to.deep.equal([40, 30])
    // the total: b's next 31 bytes fit its share (61 > 60 would not) — 40 + 30 + 29 = 99 fits, 40 + 30 + 31 does not
    const s4 = new FakeStream()
    budget.watch(asStream(s4), b)
    s4.chunk(29)
    expect(s4.aborted).to.equal(undefined)
    s3.chunk(1)
    s1.chunk(1)
    expect(s1.aborted?.message).to.match(/over the total of 100/)
    expect(budget.used).to.equal(60)
  })

  it('never holds more than its limits, and nothing once every stream closed (property)', async () => {
    const peers = [await newPeer(), await newPeer(), await newPeer()]
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(5), fc.oneof(fc.constant(-1), fc.constant(-2), fc.integer({ min: 1, max: 50 }))), { maxLength: 200 }), ops => {
      const budget = new InboundBudget({ total: 120, perPeer: 70 })
      const streams = Array.from({ length: 6 }, (_, i) => {
        const stream = new FakeStream()
        return { stream, watch: budget.watch(asStream(stream), peers[i % 3] as PeerId), pending: 0 }
      })
      for (const [which, op] of ops) {
        const s = streams[which] as typeof streams[number]
        if (op === -1) {
          // a frame of what is pending (minus its 1-byte prefix) was read
          if (s.pending > 1) s.watch.consumed(s.pending - 1)
          s.pending = 0
        } else if (op === -2) {
          s.watch.close()
        } else {
          s.stream.chunk(op)
          s.pending += op
        }
        expect(budget.used).to.be.at.most(120)
        for (const p of peers) expect(budget.usedBy(p)).to.be.at.most(70)
      }
      for (const s of streams) s.watch.close()
      expect(budget.used).to.equal(0)
    }), { numRuns: 500 })
  })
})

describe('channel: the inbound budget against a hostile peer', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  // the attack of issue #19 on an open network (anyone may speak kv): frames announced at 60 MiB
  // on every kv stream it may open, their bodies never finished. Without the budget the peer would
  // hold 6 × 20 MiB for it; with it, at most its share
  it('holds at most its share of a peer that announces huge frames and never finishes them; honest requests go on', async () => {
    const perPeer = 70 * MiB
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { frameMemoryPerPeer: perPeer, frameMemoryTotal: 4 * perPeer } })
    const [target, other] = net.peers
    if (target == null || other == null) throw new Error('no peers')
    const hostile = await createFloorNode()
    cleanup.add(async () => { await hostile.stop() })
    await hostile.dial(target.getMultiaddrs())

    let most = 0
    const sampler = setInterval(() => { most = Math.max(most, target.inboundBudget.usedBy(hostile.peerId)) }, 5)
    cleanup.add(() => { clearInterval(sampler) })
    const prefix = new Uint8Array([0x80, 0x80, 0x80, 0x1e]) // varint 60 MiB
    const streams: Stream[] = []
    await Promise.allSettled(Array.from({ length: 6 }, async () => {
      const stream = await hostile.dialProtocol(target.peerId, PROTOCOL_KV, { signal: AbortSignal.timeout(10_000) })
      streams.push(stream)
      const bytes = byteStream(stream)
      await bytes.write(prefix)
      for (let i = 0; i < 20; i++) await bytes.write(new Uint8Array(MiB), { signal: AbortSignal.timeout(10_000) })
    }))
    // what was sent may still be in flight: the budget decides once it arrives, and its reset comes back
    await eventually(async () => streams.some(s => s.status !== 'open'), 'a hostile stream reset')
    clearInterval(sampler)
    most = Math.max(most, target.inboundBudget.usedBy(hostile.peerId))

    expect(streams, 'hostile streams opened').to.have.length(6)
    expect(most, 'bytes held for the hostile peer').to.be.at.most(perPeer)
    expect(most, 'the attack reached the budget').to.be.greaterThan(20 * MiB)
    // honest traffic through the attacked peer
    await other.put(new TextEncoder().encode('after'), new TextEncoder().encode('v'))
    expect((await target.get(new TextEncoder().encode('after'))).siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['v'])
    await hostile.stop()
    await eventually(async () => target.inboundBudget.usedBy(hostile.peerId) === 0, 'nothing held once the hostile peer left')
  })
})
