import net from 'node:net'
import path from 'node:path'
import { generateKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import { createPeer } from '../src/peer.ts'
import { LOOPBACK_ALLOW, createTestnet } from '../src/testnet/index.ts'
import { useCleanup } from './utils/cleanup.ts'
import { expect } from './utils/expect.ts'

function swarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

describe('peer (real libp2p on loopback)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('5 peers joined through one bootstrap peer all know each other', async () => {
    const testnet = await createTestnet(5, { onTeardown: fn => { cleanup.add(fn) } })
    const ids = testnet.peers.map(p => p.peerId.toString())
    for (const [i, peer] of testnet.peers.entries()) {
      const known = (await peer.peers()).map(p => p.peerId).sort()
      expect(known, `peer-${i}`).to.deep.equal(ids.filter(id => id !== ids[i]).sort())
      const status = await peer.status()
      expect(status.joined, `peer-${i} joined`).to.equal(true)
      expect(status.peers.known).to.equal(4)
    }
    // the DHT runs under our own protocol id, never the public IPFS one
    const protocols = testnet.peers[0]?.libp2p.getProtocols() ?? []
    expect(protocols).to.include('/p2pstore/kad/1.0.0')
    expect(protocols).to.not.include('/ipfs/kad/1.0.0')
  })

  it('keeps its peer id across a restart on the same data dir', async () => {
    const dir = await cleanup.tempDir()
    const init = { dataDir: path.join(dir, 'peer'), listen: ['/ip4/127.0.0.1/tcp/0'], open: true }
    const first = await createPeer(init)
    cleanup.add(async () => first.stop())
    const id = first.peerId.toString()
    await first.stop()

    const second = await createPeer(init)
    cleanup.add(async () => second.stop())
    expect(second.peerId.toString()).to.equal(id)
  })

  it('start() and stop() are idempotent', async () => {
    const peer = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], start: false, open: true })
    cleanup.add(async () => peer.stop())
    await Promise.all([peer.start(), peer.start()])
    expect(peer.isStarted).to.equal(true)
    const stops = [peer.stop(), peer.stop()]
    expect(stops[0]).to.equal(stops[1])
    await Promise.all(stops)
    expect(peer.isStarted).to.equal(false)
    await peer.stop()
  })

  it('raises AddressInUseError when its listen port is taken', async () => {
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanup.add(async () => new Promise(resolve => server.close(resolve)))
    const { port } = server.address() as net.AddressInfo
    await expect(createPeer({ listen: [`/ip4/127.0.0.1/tcp/${port}`], open: true }))
      .to.be.rejectedWith(/address already in use/).and.eventually.have.property('name', 'AddressInUseError')
  })

  it('keeps retrying an absent bootstrap peer with backoff, and joins once it appears', async () => {
    // reserve a port for the bootstrap peer, then free it so that nothing answers there yet
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as net.AddressInfo
    await new Promise(resolve => server.close(resolve))

    const joiner = await createPeer({
      open: true,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [`/ip4/127.0.0.1/tcp/${port}`],
      bootstrapRetryMin: 100,
      bootstrapRetryMax: 400,
      allow: [LOOPBACK_ALLOW]
    })
    cleanup.add(async () => joiner.stop())
    const retries: Array<{ attempt: number, delayMs: number }> = []
    // a condition, not a wall-clock wait: the first three retries (100 + 200 ms of backoff apart)
    const threeRetries = new Promise<void>(resolve => {
      joiner.addEventListener('join:retry', ({ detail }) => {
        retries.push(detail)
        if (retries.length === 3) resolve()
      })
    })
    await threeRetries
    expect(retries.length).to.be.at.least(2)
    // exponential backoff: 100, 200, 400, 400, … ms
    expect(retries.map(r => r.delayMs)).to.deep.equal(retries.map((_, i) => Math.min(100 * 2 ** i, 400)))
    expect(retries.map(r => r.attempt)).to.deep.equal(retries.map((_, i) => i + 1))
    expect((await joiner.status()).joined).to.equal(false)

    // membership joins on join:connected, before the Kademlia self-lookup ends (join:joined)
    const order: string[] = []
    joiner.addEventListener('join:connected', ({ detail }) => { order.push(`connected via ${detail.via.length}`) })
    joiner.addEventListener('join:joined', () => { order.push('joined') })
    const joined = new Promise(resolve => { joiner.addEventListener('join:joined', resolve, { once: true }) })
    const bootstrap = await createPeer({ listen: [`/ip4/127.0.0.1/tcp/${port}`], allow: [LOOPBACK_ALLOW], open: true })
    cleanup.add(async () => bootstrap.stop())
    await joined
    expect(order).to.deep.equal(['connected via 1', 'joined'])
    expect((await joiner.status()).joined).to.equal(true)
    // the joiner's membership sync with its bootstrap peer makes each a member of the other's view
    for (let i = 0; !(await bootstrap.peers()).some(p => p.peerId === joiner.peerId.toString()); i++) {
      if (i > 100) throw new Error('the bootstrap peer never learned about the joiner')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    expect((await joiner.peers()).map(p => p.peerId)).to.include(bootstrap.peerId.toString())
  })

  describe('private network (pnet)', () => {
    it('peers with the same swarm key connect', async () => {
      const key = swarmKey()
      const a = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey: key })
      cleanup.add(async () => a.stop())
      const b = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey: key })
      cleanup.add(async () => b.stop())
      const conn = await b.libp2p.dial(a.getMultiaddrs()[0] ?? multiaddr(), { signal: AbortSignal.timeout(10_000) })
      expect(conn.remotePeer.equals(a.peerId)).to.equal(true)
      expect((await b.status()).network).to.equal('private')
    })

    it('peers with different swarm keys (or none) never complete a connection', async () => {
      const a = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey: swarmKey(), dialTimeout: 2000 })
      cleanup.add(async () => a.stop())
      const b = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], swarmKey: swarmKey(), dialTimeout: 2000 })
      cleanup.add(async () => b.stop())
      const open = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], dialTimeout: 2000, open: true })
      cleanup.add(async () => open.stop())
      const target = a.getMultiaddrs()[0] ?? multiaddr()

      await expect(b.libp2p.dial(target)).to.be.rejected
      await expect(open.libp2p.dial(target)).to.be.rejected
      await expect(a.libp2p.dial(open.getMultiaddrs()[0] ?? multiaddr())).to.be.rejected
      expect(a.libp2p.getConnections()).to.have.length(0)
      expect(b.libp2p.getConnections()).to.have.length(0)
      expect(open.libp2p.getConnections()).to.have.length(0)
    })
  })
})
