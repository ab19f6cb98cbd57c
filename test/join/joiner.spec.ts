import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { explainDialError, Joiner } from '../../src/join/index.ts'
import { expect } from '../utils/expect.ts'
import type { JoinEvents } from '../../src/join/index.ts'
import type { Connection } from '@libp2p/interface'

describe('join: Joiner', () => {
  it('says that the swarm keys probably differ when the handshake reads a nonsense length', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const events = new TypedEventEmitter<JoinEvents>()
    const joiner = new Joiner({
      logger: defaultLogger(),
      peerId,
      network: {
        dial: async () => { throw new Error('Message length too long - 8205 > 1024') },
        getConnections: (): Connection[] => []
      },
      dht: { getClosestPeers: async function * () {} },
      events
    }, { bootstrap: [multiaddr('/ip4/127.0.0.1/tcp/9')], retryMin: 60_000, retryMax: 60_000, dialTimeout: 1000, lookupTimeout: 1000, checkInterval: 60_000 })
    const retry = new Promise<JoinEvents['join:retry']['detail']>(resolve => {
      events.addEventListener('join:retry', ({ detail }) => { resolve(detail) }, { once: true })
    })
    joiner.start()
    try {
      const detail = await retry
      expect(detail.attempt).to.equal(1)
      expect(detail.errors).to.have.length(1)
      expect(detail.errors[0]).to.include('Message length too long - 8205 > 1024')
      expect(detail.errors[0]).to.include('the swarm keys probably differ')
    } finally {
      await joiner.stop()
    }
  })

  it('leaves other dial errors as libp2p words them', () => {
    expect(explainDialError(new Error('connect ECONNREFUSED 127.0.0.1:9'))).to.equal('connect ECONNREFUSED 127.0.0.1:9')
  })
})
