import { defaultLogger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL_KV } from '../../../src/constants.ts'
import { decodeResponse, encodeRequest } from '../../../src/protocol/index.ts'
import { KvRpc } from '../../../src/replication/index.ts'
import { createFloorNode } from '../../bench/nodes.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'
import type { KvResponse } from '../../../src/protocol/index.ts'
import type { KvQuotasInit } from '../../../src/quota/index.ts'
import type { PeerId } from '@libp2p/interface'

const enc = new TextEncoder()

describe('replication rpc: pacing an inbound kv stream', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  /** A KvRpc serving slow reads on a real libp2p node, and a raw client node dialled to it. */
  async function setup (init: { maxInFlight?: number, quotas?: KvQuotasInit, penalised?: Array<{ peer: PeerId, points: number }> }): Promise<{ send: (n: number) => Promise<KvResponse[]>, most: () => number }> {
    const server = await createFloorNode()
    const client = await createFloorNode()
    cleanup.add(async () => { await client.stop() })
    cleanup.add(async () => { await server.stop() })
    let running = 0
    let most = 0
    const rpc = new KvRpc({
      logger: defaultLogger(),
      network: server,
      standing: { penalise: (peer, _reason, points) => { init.penalised?.push({ peer, points }) } }
    }, {
      handlers: {
        read: {
          handle: async () => {
            running++
            most = Math.max(most, running)
            await new Promise(resolve => setTimeout(resolve, 20))
            running--
            return { status: 'not-found' }
          }
        }
      },
      maxMessageBytes: 1024 * 1024,
      requestTimeout: 10_000,
      idleTimeout: 30_000,
      maxInFlight: init.maxInFlight,
      quotas: init.quotas
    })
    await rpc.start()
    cleanup.add(async () => { await rpc.stop() })
    await client.dial(server.getMultiaddrs())
    return {
      most: () => most,
      send: async (n) => {
        const stream = await client.dialProtocol(server.peerId, PROTOCOL_KV, { signal: AbortSignal.timeout(5000) })
        const lp = lpStream(stream, { maxDataLength: 1024 * 1024 })
        // every request at once, none waiting for an answer
        await Promise.all(Array.from({ length: n }, async (_, i) => { await lp.write(encodeRequest(BigInt(i + 1), { type: 'read', key: enc.encode(`k${i}`) })) }))
        const answers: KvResponse[] = []
        for (let i = 0; i < n; i++) answers.push(decodeResponse(await lp.read({ signal: AbortSignal.timeout(20_000) })).response)
        await stream.close()
        return answers
      }
    }
  }

  it('serves a stream past its requests in flight by pausing it, not by resetting it', async () => {
    const { send, most } = await setup({ maxInFlight: 2 })
    const answers = await send(12)
    expect(answers.map(a => a.status)).to.deep.equal(Array(12).fill('not-found'))
    expect(most(), 'handlers running at once').to.equal(2)
  })

  it('holds a peer to its requests in flight over all its streams (kvPeerMaxInFlight)', async () => {
    const { send, most } = await setup({ quotas: { peerMaxInFlight: 3 } })
    const answers = (await Promise.all([send(8), send(8)])).flat()
    expect(answers).to.have.length(16)
    expect(most(), 'handlers running at once').to.equal(3)
  })

  it('paces a peer past its request rate and tells its standing after a second of waiting', async () => {
    const penalised: Array<{ peer: PeerId, points: number }> = []
    const { send } = await setup({ quotas: { peerRequestRate: 50, peerRequestBurst: 5, globalRequestRate: 100 }, penalised })
    const started = performance.now()
    const answers = await send(80)
    const seconds = (performance.now() - started) / 1000
    expect(answers).to.have.length(80)
    // 5 at once, the other 75 at 50/s: at least 1.5 s
    expect(seconds, 'seconds to serve 80 requests at 50/s').to.be.at.least(1.45)
    expect(penalised.reduce((sum, p) => sum + p.points, 0), 'penalty points').to.be.at.least(1)
  })
})
