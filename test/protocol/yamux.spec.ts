import net from 'node:net'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { deferredWindowYamux, deferWindowUpdates, framedNoise } from '../../src/protocol/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const ECHO = '/test/echo/1.0.0'

/** Reads from `stream` until `bytes` arrived. */
async function readBytes (stream: Stream, bytes: number): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  for await (const chunk of stream) {
    received.append(chunk)
    if (received.byteLength >= bytes) break
  }
  return received.subarray()
}

describe('Yamux with deferred window updates', () => {
  const cleanup = useCleanup()

  async function node (): Promise<Libp2p> {
    const peer = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [framedNoise()], streamMuxers: [deferredWindowYamux()] })
    cleanup.add(async () => peer.stop())
    await peer.handle(ECHO, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })
    return peer
  }

  it('leaves a stream of another shape alone', () => {
    expect(deferWindowUpdates({})).to.equal(false)
  })

  it('sends no window update per small message: a request and its echo are one socket write each', async function () {
    this.timeout(60_000)
    const [a, b] = await Promise.all([node(), node()])
    const stream = await a.dialProtocol(b.getMultiaddrs(), ECHO)
    // the first exchange carries the stream's SYN and ACK
    stream.send(Uint8Array.of(0))
    await readBytes(stream, 1)

    const write = net.Socket.prototype.write
    let writes = 0
    net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
      writes++
      return (write as (...a: unknown[]) => boolean).apply(this, args)
    } as typeof write
    try {
      for (let i = 0; i < 20; i++) {
        stream.send(new Uint8Array(100).fill(i))
        expect(await readBytes(stream, 100)).to.deep.equal(new Uint8Array(100).fill(i))
      }
    } finally {
      net.Socket.prototype.write = write
    }
    // one frame each way per round trip (the library sent a window update after each as well,
    // and Noise wrote each frame in two parts: 80 writes)
    expect(writes).to.equal(40)
    await stream.close()
  })

  it('still moves more than a window each way (the window updates come when half of it is used)', async function () {
    this.timeout(60_000)
    const [a, b] = await Promise.all([node(), node()])
    const payload = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 253)
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const stream = await from.dialProtocol(to.getMultiaddrs(), ECHO)
      const echoed = readBytes(stream, payload.byteLength)
      for (let offset = 0; offset < payload.byteLength; offset += 64 * 1024) {
        if (!stream.send(payload.subarray(offset, offset + 64 * 1024))) await stream.onDrain()
      }
      expect(await echoed).to.deep.equal(payload)
      await stream.close()
    }
  })
})
