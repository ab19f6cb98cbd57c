/**
 * A kv request whose connection or stream closes under it is sent again within its deadline
 * (issue #16: the connection budget closes idle connections, and nothing may fail because of it) —
 * every request type but a forwarded put, which is sent again only when its frame never left.
 * The network is stubbed with in-memory stream pairs so that each case is exact.
 */
import { ConnectionClosingError, StreamResetError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { lpStream, streamPair } from '@libp2p/utils'
import { stubInterface } from 'sinon-ts'
import { emptyContext, emptySiblingSet } from '../../../src/clock/index.ts'
import { MAX_KV_MESSAGE_BYTES } from '../../../src/constants.ts'
import { decodeRequest, encodeResponse } from '../../../src/protocol/index.ts'
import { KvRpc } from '../../../src/replication/index.ts'
import { expect } from '../../utils/expect.ts'
import { peerIds } from '../../utils/replication.ts'
import type { KvRequest } from '../../../src/protocol/index.ts'
import type { KvRpcComponents } from '../../../src/replication/index.ts'
import type { Stream } from '@libp2p/interface'

const enc = new TextEncoder()

/** What the remote does with the stream of dial number i: answer every request, or reset on the first. */
type Behaviour = 'answer' | 'reset'

/** A stubbed network whose i-th dial gets a stream served as `behaviours[i]` says. */
function network (behaviours: Behaviour[]): { network: KvRpcComponents['network'], dials: () => number, seen: KvRequest[] } {
  const net = stubInterface<KvRpcComponents['network']>()
  net.handle.resolves()
  net.unhandle.resolves()
  let dials = 0
  const seen: KvRequest[] = []
  net.dialProtocol.callsFake(async () => {
    const behaviour = behaviours[dials++] ?? 'answer'
    const [local, remote] = await streamPair()
    void serve(remote, behaviour, seen)
    return local
  })
  return { network: net, dials: () => dials, seen }
}

async function serve (stream: Stream, behaviour: Behaviour, seen: KvRequest[]): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_KV_MESSAGE_BYTES })
  try {
    for (;;) {
      const { id, request } = decodeRequest(await lp.read())
      if (behaviour === 'reset') {
        // the connection goes away with the request unanswered (trimmed, or the peer restarted)
        stream.abort(new StreamResetError('the remote reset the stream'))
        return
      }
      seen.push(request)
      await lp.write(encodeResponse(id, { status: 'not-found' }))
    }
  } catch {
    // the stream ended
  }
}

function rpc (components: Pick<KvRpcComponents, 'network'> & Partial<KvRpcComponents>, requestTimeout = 5_000): KvRpc {
  return new KvRpc({ logger: defaultLogger(), ...components }, { handlers: {}, maxMessageBytes: MAX_KV_MESSAGE_BYTES, requestTimeout, idleTimeout: 60_000 })
}

describe('replication rpc: requests whose connection closed under them', () => {
  it('sends a read again over a new channel after its stream was reset mid-request, and answers', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const { network: net, dials, seen } = network(['reset', 'answer'])
    const kv = rpc({ network: net })
    await kv.start()
    try {
      const response = await kv.request(peer, { type: 'read', key: enc.encode('k') })
      expect(response.status).to.equal('not-found')
      expect(dials()).to.equal(2)
      expect(seen.map(r => r.type)).to.deep.equal(['read'])
    } finally {
      await kv.stop()
    }
  })

  it('retries stores, summaries and digests too, and gives up after KV_CLOSED_RETRIES with the closing error', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const { network: net } = network(['reset', 'answer', 'reset', 'answer', 'reset', 'answer'])
    const kv = rpc({ network: net })
    await kv.start()
    try {
      expect((await kv.request(peer, { type: 'store', key: enc.encode('k'), state: emptySiblingSet() })).status).to.equal('not-found')
      expect((await kv.request(peer, { type: 'summary' })).status).to.equal('not-found')
      expect((await kv.request(peer, { type: 'digests', buckets: [1] })).status).to.equal('not-found')
    } finally {
      await kv.stop()
    }
    const always = network(['reset', 'reset', 'reset', 'reset', 'reset', 'reset'])
    const failing = rpc({ network: always.network })
    await failing.start()
    try {
      await expect(failing.request(peer, { type: 'read', key: enc.encode('k') })).to.eventually.be.rejected.with.property('name', 'StreamResetError')
      // the first try and KV_CLOSED_RETRIES (3) more
      expect(always.dials()).to.equal(4)
    } finally {
      await failing.stop()
    }
  })

  it('does not send a forwarded put again once its frame went out (it would make a second write)', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const { network: net, dials } = network(['reset', 'answer'])
    const kv = rpc({ network: net })
    await kv.start()
    try {
      const put = { value: enc.encode('v'), deleted: false, context: emptyContext(), n: 3, w: 2, strict: false }
      await expect(kv.request(peer, { type: 'coordinate', key: enc.encode('k'), put })).to.eventually.be.rejected.with.property('name', 'StreamResetError')
      expect(dials()).to.equal(1)
    } finally {
      await kv.stop()
    }
  })

  it('sends a forwarded put again when its frame provably never left (the stream could not be opened on a closing connection)', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const { network: served, dials, seen } = network([])
    let first = true
    const net = {
      ...served,
      dialProtocol: async (...args: Parameters<typeof served.dialProtocol>) => {
        if (first) {
          first = false
          throw new ConnectionClosingError('the connection is closing')
        }
        return served.dialProtocol(...args)
      }
    }
    const kv = rpc({ network: net })
    await kv.start()
    try {
      const put = { value: enc.encode('v'), deleted: false, context: emptyContext(), n: 3, w: 2, strict: false }
      expect((await kv.request(peer, { type: 'coordinate', key: enc.encode('k'), put })).status).to.equal('not-found')
      expect(dials()).to.equal(1)
      expect(seen.map(r => r.type)).to.deep.equal(['coordinate'])
    } finally {
      await kv.stop()
    }
  })

  it('marks work with the peer in flight around each request (the budget does not trim it), and releases it', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const { network: net } = network(['reset', 'answer'])
    let inFlight = 0
    let most = 0
    const connections = {
      acquire: () => {
        inFlight++
        most = Math.max(most, inFlight)
        return () => { inFlight-- }
      }
    }
    const kv = rpc({ network: net, connections })
    await kv.start()
    try {
      await kv.request(peer, { type: 'read', key: enc.encode('k') })
      // one acquire for the request, retries included
      expect(most).to.equal(1)
      expect(inFlight).to.equal(0)
    } finally {
      await kv.stop()
    }
  })

  it('does not retry a timeout: the deadline is the request\'s own', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const net = stubInterface<KvRpcComponents['network']>()
    net.handle.resolves()
    net.unhandle.resolves()
    let dials = 0
    // a remote that reads and never answers
    net.dialProtocol.callsFake(async () => {
      dials++
      const [local, remote] = await streamPair()
      void (async () => { for await (const chunk of remote) void chunk })().catch(() => {})
      return local
    })
    const kv = rpc({ network: net }, 300)
    await kv.start()
    try {
      await expect(kv.request(peer, { type: 'read', key: enc.encode('k') })).to.eventually.be.rejected.with.property('name', 'TimeoutError')
      expect(dials).to.equal(1)
    } finally {
      await kv.stop()
    }
  })
})
