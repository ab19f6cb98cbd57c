import { defaultLogger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import { stubInterface } from 'sinon-ts'
import * as varint from 'uint8-varint'
import { MAX_KV_MESSAGE_BYTES, PROTOCOL_KV } from '../../../src/constants.ts'
import { encodeRequest } from '../../../src/protocol/index.ts'
import * as pb from '../../../src/protocol/kv/kv.ts'
import { KvRpc } from '../../../src/replication/index.ts'
import { createTestnet } from '../../../src/testnet/index.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'
import { aborted, peerIds } from '../../utils/replication.ts'
import type { Peer } from '../../../src/peer.ts'
import type { KvRpcComponents } from '../../../src/replication/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

const enc = new TextEncoder()

interface RawStream {
  send(bytes: Uint8Array): void
  close(): Promise<void>
  lp: ReturnType<typeof lpStream>
}

/** opens a raw kv stream from `from` to `to`, sends `frame` bytes as they are, and says whether the stream was reset */
async function sendRaw (from: Peer, to: Peer, write: (raw: RawStream) => Promise<void>): Promise<'reset' | 'answered'> {
  const stream = await from.libp2p.dialProtocol(to.peerId, PROTOCOL_KV, { signal: AbortSignal.timeout(5000) })
  const lp = lpStream(stream, { maxDataLength: MAX_KV_MESSAGE_BYTES })
  await write({ send: bytes => { stream.send(bytes) }, close: async () => { await stream.close() }, lp })
  try {
    await lp.read({ signal: AbortSignal.timeout(5000) })
    stream.abort(new Error('test done'))
    return 'answered'
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error('the stream was neither answered nor reset within 5 s')
    return 'reset'
  }
}

describe('replication rpc: /p2pstore/kv/1.0.0 against malformed input', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('resets the stream on malformed and oversized frames, keeps serving, stores nothing', async () => {
    const net = await createTestnet(2, { onTeardown: fn => { cleanup.add(fn) } })
    const [target, attacker] = net.peers
    if (target == null || attacker == null) throw new Error('no peers')
    const key = enc.encode('victim')

    // a well-formed READ is answered: the harness itself works
    expect(await sendRaw(attacker, target, async ({ lp }) => { await lp.write(encodeRequest(1n, { type: 'read', key })) })).to.equal('answered')

    const cases: Record<string, (raw: RawStream) => Promise<void>> = {
      'random bytes in a frame': async ({ lp }) => { await lp.write(Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 0x08, 0x99, 0x12])) },
      'a length prefix past the limit (rejected before buffering)': async ({ send }) => { send(varint.encode(MAX_KV_MESSAGE_BYTES + 1)) },
      'a key longer than 1 KiB': async ({ lp }) => { await lp.write(encodeRequest(2n, { type: 'read', key: new Uint8Array(1025) })) },
      // protons refuses to encode an unknown enum value, so this frame is written by hand:
      // field 1 (id) = 3, field 2 (type) = 7, field 3 (key) = "victim"
      'an unknown request type': async ({ lp }) => { await lp.write(Uint8Array.from([0x08, 0x03, 0x10, 0x07, 0x1a, key.length, ...key])) },
      'STORE of a sibling whose dot is outside the context': async ({ lp }) => {
        await lp.write(pb.Request.encode({
          id: 4n,
          type: pb.Request.Type.STORE,
          key,
          state: { siblings: [{ dot: { actor: Uint8Array.from([1, 2]), counter: 5n }, value: enc.encode('evil'), timestamp: 1n, deleted: false }], context: { vv: [], cloud: [] } }
        }))
      },
      'STORE with a zero counter': async ({ lp }) => {
        await lp.write(pb.Request.encode({
          id: 5n,
          type: pb.Request.Type.STORE,
          key,
          state: { siblings: [], context: { vv: [{ actor: Uint8Array.from([1]), counter: 0n }], cloud: [] } }
        }))
      },
      'COORDINATE with w > n': async ({ lp }) => {
        await lp.write(pb.Request.encode({ id: 6n, type: pb.Request.Type.COORDINATE, key, put: { value: enc.encode('v'), deleted: false, n: 1, w: 3, strict: false, condition: pb.Condition.NONE } }))
      },
      'a truncated frame then end of stream': async ({ send, close }) => {
        send(Uint8Array.from([10, 1, 2]))
        await close()
      }
    }

    for (const [name, write] of Object.entries(cases)) {
      const outcome = await sendRaw(attacker, target, write).catch((err: Error) => `error: ${err.message}`)
      expect(outcome, name).to.equal('reset')
      // nothing was stored, and the target still serves real requests
      expect(await target.engine.count(), name).to.equal(0)
      expect((await target.get('victim', { r: 1 })).siblings, name).to.deep.equal([])
    }

    await attacker.put('after', enc.encode('still works'))
    expect((await target.get('after')).siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['still works'])
  })
})

describe('replication rpc: a channel failing under load', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('fails the requests in flight cleanly, with no unhandled rejection, when the remote goes away mid-write', async () => {
    const rejections: unknown[] = []
    const onRejection = (reason: unknown): void => { rejections.push(reason) }
    process.on('unhandledRejection', onRejection)
    cleanup.add(() => process.off('unhandledRejection', onRejection))

    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: { probeInterval: 3_600_000, pushPullInterval: 300 } } })
    const [writer, a, b] = net.peers
    if (writer == null || a == null || b == null) throw new Error('no peers')
    const value = new Uint8Array(256 * 1024).fill(7)
    // many large writes in flight over the shared streams, then both replicas vanish
    const writes = Array.from({ length: 40 }, async (_, i) => writer.put(`big-${i}`, value, { w: 3, strict: true }).then(() => 'ok', (err: Error) => err.name))
    await new Promise(resolve => setTimeout(resolve, 30))
    await Promise.all([a.stop({ leave: false }), b.stop({ leave: false })])
    const outcomes = await Promise.all(writes)
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(rejections, 'unhandled rejections').to.deep.equal([])
    expect(outcomes.some(o => o !== 'ok'), 'some writes failed').to.equal(true)
    expect(outcomes.every(o => o === 'ok' || o === 'QuorumNotReachedError')).to.equal(true)
    // the writer still serves
    expect(writer.isStarted).to.equal(true)
  })
})

describe('replication rpc: KvRpc.request (stubbed network)', () => {
  it('rejects with AbortError when the caller aborts while the stream is being opened', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const network = stubInterface<KvRpcComponents['network']>()
    network.handle.resolves()
    network.unhandle.resolves()
    // a dial that never completes on its own: only the signal ends it
    network.dialProtocol.callsFake(async (_peer: PeerId, _protocol: string, options: AbortOptions = {}) => new Promise((_resolve, reject) => {
      const abort = (): void => { reject(new DOMException('the dial was aborted', 'AbortError')) }
      if (options.signal?.aborted === true) abort()
      options.signal?.addEventListener('abort', abort, { once: true })
    }))
    const rpc = new KvRpc({ logger: defaultLogger(), network }, { handlers: {}, maxMessageBytes: MAX_KV_MESSAGE_BYTES, requestTimeout: 60_000, idleTimeout: 60_000 })
    await rpc.start()
    try {
      const controller = new AbortController()
      const requesting = rpc.request(peer, { type: 'read', key: enc.encode('k') }, { signal: controller.signal })
      controller.abort()
      await expect(requesting).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(rpc.request(peer, { type: 'read', key: enc.encode('k') }, { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
    } finally {
      await rpc.stop()
    }
  })

  it('refuses requests with NotStartedError once stopped', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const rpc = new KvRpc({ logger: defaultLogger(), network: stubInterface<KvRpcComponents['network']>() }, { handlers: {}, maxMessageBytes: MAX_KV_MESSAGE_BYTES, requestTimeout: 60_000, idleTimeout: 60_000 })
    await expect(rpc.request(peer, { type: 'read', key: enc.encode('k') })).to.eventually.be.rejected.with.property('name', 'NotStartedError')
  })
})
