import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as FakeTimers from '@sinonjs/fake-timers'
import { TypedEventEmitter } from 'main-event'
import { explainDialError, Joiner } from '../../src/join/index.ts'
import { expect } from '../utils/expect.ts'
import type { JoinEvents } from '../../src/join/index.ts'
import type { Connection } from '@libp2p/interface'
import type { Clock } from '@sinonjs/fake-timers'

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

describe('join: Joiner backoff and rejoin (fake time)', () => {
  let clock: Clock | undefined
  afterEach(() => { clock?.uninstall(); clock = undefined })

  it('retries with doubling delays up to the ceiling, joins once a bootstrap peer answers, and rejoins when isolated', async () => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const bootstrapPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const events = new TypedEventEmitter<JoinEvents>()
    let up = false
    let connections: Connection[] = []
    const joiner = new Joiner({
      logger: defaultLogger(),
      peerId,
      network: {
        dial: async () => {
          if (!up) throw new Error('connection refused')
          const conn = { remotePeer: bootstrapPeer } as unknown as Connection
          connections = [conn]
          return conn
        },
        getConnections: (): Connection[] => connections
      },
      dht: { getClosestPeers: async function * () { yield { name: 'FINAL_PEER' } } },
      events
    }, { bootstrap: [multiaddr('/ip4/127.0.0.1/tcp/9')], retryMin: 100, retryMax: 400, dialTimeout: 1000, lookupTimeout: 1000, checkInterval: 5000 })
    const seen: string[] = []
    events.addEventListener('join:retry', ({ detail }) => { seen.push(`retry ${detail.attempt} in ${detail.delayMs} at ${Date.now()}`) })
    events.addEventListener('join:joined', ({ detail }) => { seen.push(`joined after ${detail.attempt} at ${Date.now()}`) })
    events.addEventListener('join:isolated', () => { seen.push(`isolated at ${Date.now()}`) })
    joiner.start()
    try {
      await clock.tickAsync(1_000)
      // attempts at 0, 100, 300, 700 (the delay stops doubling at 400)
      expect(seen.map(s => s.replace(/ at \d+$/, ''))).to.deep.equal(['retry 1 in 100', 'retry 2 in 200', 'retry 3 in 400', 'retry 4 in 400'])
      expect(joiner.joined).to.equal(false)
      up = true
      await clock.tickAsync(400)
      expect(seen.at(-1)).to.match(/^joined after 5 /)
      expect(joiner.joined).to.equal(true)
      // every connection gone: the next check notices, and it joins again from attempt 1
      connections = []
      await clock.tickAsync(5_000)
      expect(seen.slice(-2).map(s => s.replace(/ at \d+$/, ''))).to.deep.equal(['isolated', 'joined after 1'])
    } finally {
      await joiner.stop()
    }
  })
})
