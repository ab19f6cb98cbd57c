import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { stubInterface } from 'sinon-ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { framedNoise, NOISE_NEED_MORE_BYTES, noiseFrameLength } from '../../src/protocol/index.ts'
import { coalesceSends, quietLengthDecoder } from '../../src/protocol/noise.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { ConnectionEncrypter, MessageStream, PrivateKey, Upgrader } from '@libp2p/interface'

/** Noise frames: a 2-byte big-endian length, then that many bytes. */
function frames (sizes: number[]): { wire: Uint8Array, payloads: Uint8Array[] } {
  const payloads = sizes.map((size, i) => new Uint8Array(size).fill(i + 1))
  const parts = payloads.flatMap(p => [Uint8Array.of(p.byteLength >> 8, p.byteLength & 0xff), p])
  return { wire: new Uint8ArrayList(...parts).subarray(), payloads }
}

function decodeInChunks (wire: Uint8Array, chunk: number, lengthDecoder: (data: Uint8Array | Uint8ArrayList) => number): Uint8Array[] {
  const decoder = new LengthPrefixedDecoder({ lengthDecoder, maxBufferSize: 16 * 1024 * 1024, encodingLength: () => 2 })
  const out: Uint8Array[] = []
  for (let i = 0; i < wire.byteLength; i += chunk) {
    for (const frame of decoder.decode(wire.subarray(i, i + chunk))) out.push(frame.subarray())
  }
  return out
}

describe('framed Noise', () => {
  const cleanup = useCleanup()

  it('reads a frame length without throwing, answering "need more" below 2 bytes', () => {
    expect(noiseFrameLength(new Uint8Array(0))).to.equal(NOISE_NEED_MORE_BYTES)
    expect(noiseFrameLength(Uint8Array.of(1))).to.equal(NOISE_NEED_MORE_BYTES)
    expect(noiseFrameLength(Uint8Array.of(0x12, 0x34, 0xff))).to.equal(0x1234)
    expect(noiseFrameLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xff)))).to.equal(0xffff)
  })

  it('decodes frames split at any byte exactly as the library\'s throwing decoder does', () => {
    const { wire, payloads } = frames([0, 1, 2, 300, 65535, 17])
    // Noise's own decoder, as the library has it: throws RangeError below 2 bytes
    const throwing = (data: Uint8Array | Uint8ArrayList): number => {
      if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
      return data instanceof Uint8Array ? (data[0] ?? 0) * 256 + (data[1] ?? 0) : data.getUint16(0)
    }
    // empty frames are not yielded by the decoder
    const expected = payloads.filter(p => p.byteLength > 0)
    for (const chunk of [1, 2, 3, 7, 1000, wire.byteLength]) {
      expect(decodeInChunks(wire, chunk, noiseFrameLength), `chunks of ${chunk}`).to.deep.equal(expected)
      expect(decodeInChunks(wire, chunk, throwing), `chunks of ${chunk}`).to.deep.equal(expected)
    }
  })

  it('hands the transport one buffer per send', () => {
    const sent: unknown[] = []
    const stream = { send (data: unknown) { sent.push(data); return true } } as unknown as MessageStream
    coalesceSends(stream)
    expect(stream.send(new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(1, 2, 3)))).to.equal(true)
    const one = Uint8Array.of(9)
    stream.send(one)
    expect(sent).to.have.length(2)
    expect(sent[0]).to.be.instanceOf(Uint8Array)
    expect([...(sent[0] as Uint8Array)]).to.deep.equal([0, 3, 1, 2, 3])
    expect(sent[1]).to.equal(one)
  })

  it('leaves a stream of another shape alone', () => {
    expect(quietLengthDecoder({} as unknown as MessageStream)).to.equal(false)
  })

  it('puts the quiet decoder into the streams the library secures (fails when a release changes their shape)', async function () {
    this.timeout(60_000)
    const [keyA, keyB] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const encrypter = (key: PrivateKey): ConnectionEncrypter => framedNoise()({ peerId: peerIdFromPrivateKey(key), privateKey: key, logger: defaultLogger(), upgrader: stubInterface<Upgrader>() })
    const [outbound, inbound] = multiaddrConnectionPair()
    const [a, b] = await Promise.all([
      encrypter(keyA).secureOutbound(outbound, { remotePeer: peerIdFromPrivateKey(keyB), skipStreamMuxerNegotiation: true }),
      encrypter(keyB).secureInbound(inbound, { skipStreamMuxerNegotiation: true })
    ])
    for (const secured of [a, b]) {
      expect((secured.connection as unknown as { decoder?: { lengthDecoder?: unknown } }).decoder?.lengthDecoder).to.equal(noiseFrameLength)
    }
    const received = new Promise<Uint8Array>(resolve => { b.connection.addEventListener('message', (evt) => { resolve(evt.data.subarray()) }, { once: true }) })
    a.connection.send(Uint8Array.of(1, 2, 3))
    expect([...await received]).to.deep.equal([1, 2, 3])
    a.connection.abort(new Error('done'))
    b.connection.abort(new Error('done'))
  })

  it('secures real connections that interoperate with plain Noise, with the quiet decoder in place', async function () {
    this.timeout(60_000)
    const quiet = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [framedNoise()], streamMuxers: [yamux()] })
    cleanup.add(async () => quiet.stop())
    const plain = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    cleanup.add(async () => plain.stop())
    const echo = '/test/echo/1.0.0'
    for (const node of [quiet, plain]) {
      await node.handle(echo, async (stream) => {
        for await (const chunk of stream) stream.send(chunk)
        await stream.close()
      })
    }
    const payload = new Uint8Array(200_000).map((_, i) => i % 251)
    for (const [from, to] of [[quiet, plain], [plain, quiet]] as const) {
      const stream = await from.dialProtocol(to.getMultiaddrs(), echo)
      stream.send(payload)
      const received = new Uint8ArrayList()
      for await (const chunk of stream) {
        received.append(chunk)
        if (received.byteLength >= payload.byteLength) break
      }
      expect(received.subarray()).to.deep.equal(payload)
      await stream.close()
    }
  })
})
