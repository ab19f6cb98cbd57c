import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { resolveLww } from '../../src/clock/index.ts'
import { createPeer } from '../../src/peer.ts'
import { shortPeer, waitForQuorum } from '../../src/replication/quorum.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'
import type { Testnet, TestnetInit } from '../../src/testnet/index.ts'
import type { AddressInfo } from 'node:net'

const enc = new TextEncoder()
const dec = new TextDecoder()
const values = (got: { siblings: Array<{ value: Uint8Array, deleted: boolean }> }): string[] =>
  got.siblings.map(s => s.deleted ? '<deleted>' : dec.decode(s.value)).sort()

/** the error a promise rejects with (fails the test when it resolves) */
async function rejection (promise: Promise<unknown>): Promise<Error> {
  return promise.then(value => { throw new Error(`expected a rejection, got ${JSON.stringify(value)}`) }, (err: Error) => err)
}

/** a deadline far beyond the coordinator's own: a quorum error must come from the quorum, not a timeout */
const LONG = (): AbortSignal => AbortSignal.timeout(60_000)

describe('waitForQuorum', () => {
  it('never caps the quorum: with fewer tasks than needed it waits for them all, then counts their answers', async () => {
    const tasks = [{ peer: 'a', promise: Promise.resolve(1) }, { peer: 'b', promise: new Promise<number>(resolve => setTimeout(() => { resolve(2) }, 20)) }]
    const err = await rejection(waitForQuorum(tasks, 3, { op: 'put', unit: 'acks', n: 3 }))
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err.message).to.equal('quorum not reached: 2 of 3 acks (2 live replicas of 3 for this key; failed: none; start more peers, or lower --w/--n)')
  })

  it('names the failed replicas and why; a lone peer says it is alone', async () => {
    const refused = new Promise<number>((_resolve, reject) => setTimeout(() => { reject(new Error('connection refused')) }, 20))
    const failed = [{ peer: '12D3KooWAbcdefghijkl', promise: refused }, { peer: 'b', promise: Promise.resolve(1) }]
    const err = await rejection(waitForQuorum(failed, 2, { op: 'get', unit: 'replies', n: 2 }))
    expect(err.message).to.equal(`quorum not reached: 1 of 2 replies (get; failed: ${shortPeer('12D3KooWAbcdefghijkl')} (connection refused); retry, or lower --r)`)
    const alone = await rejection(waitForQuorum([{ peer: 'me', promise: Promise.resolve(1) }], 2, { op: 'put', unit: 'acks', n: 3, alone: true }))
    expect(alone.message).to.equal('quorum not reached: 1 of 2 acks (only 1 peer in this network; start more peers, or lower --w/--n)')
  })
})

describe('quorums when N exceeds the live peers (real loopback network)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  const testnet = async (n: number, peer?: TestnetInit['peer']): Promise<Testnet> =>
    createTestnet(n, { onTeardown: fn => { cleanup.add(fn) }, peer })

  describe('a lone peer (the first of a new network)', () => {
    it('put --w 1 succeeds at once and says it is degraded: 1 of 3 copies', async () => {
      const [peer] = (await testnet(1)).peers
      if (peer == null) throw new Error('no peer')
      const result = await peer.put('x', enc.encode('y'), { w: 1, signal: LONG() })
      expect(result).to.include({ acks: 1, replicas: 1, n: 3 })
      expect(values(await peer.get('x', { r: 1, signal: LONG() }))).to.deep.equal(['y'])
    })

    it('put with the default W=2 fails with the quorum error and a hint, not a timeout; the copy it could make is stored', async () => {
      const [peer] = (await testnet(1)).peers
      if (peer == null) throw new Error('no peer')
      const err = await rejection(peer.put('x', enc.encode('y'), { signal: LONG() }))
      expect(err).to.have.property('name', 'QuorumNotReachedError')
      expect(err.message).to.equal('quorum not reached: 1 of 2 acks (only 1 peer in this network; start more peers, or lower --w/--n)')
      expect((await peer.localState('x'))?.siblings.map(s => dec.decode(s.value))).to.deep.equal(['y'])
    })

    it('get with the default R=2 fails with the quorum error; --r 1 and --n 1 read', async () => {
      const [peer] = (await testnet(1)).peers
      if (peer == null) throw new Error('no peer')
      await peer.put('x', enc.encode('y'), { n: 1, signal: LONG() })
      const err = await rejection(peer.get('x', { signal: LONG() }))
      expect(err).to.have.property('name', 'QuorumNotReachedError')
      expect(err.message).to.equal('quorum not reached: 1 of 2 replies (only 1 peer in this network; start more peers, or lower --r/--n)')
      const one = await peer.get('x', { r: 1, signal: LONG() })
      expect(values(one)).to.deep.equal(['y'])
      expect(one).to.include({ replies: 1, replicas: 1, n: 3 })
      const n1 = await peer.get('x', { n: 1, signal: LONG() })
      expect(values(n1)).to.deep.equal(['y'])
      expect(n1).to.include({ replies: 1, replicas: 1, n: 1 })
      // a missing key reads as not found, as fast
      expect((await peer.get('missing', { n: 1, signal: LONG() })).siblings).to.deep.equal([])
    })

    it('a peer whose bootstrap peers never answered (an empty routing table) decides from its view too', async () => {
      const server = createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      await new Promise(resolve => server.close(resolve))
      const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const peer = await createPeer({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${nobody.toString()}`], bootstrapRetryMin: 200, bootstrapRetryMax: 1000, open: true })
      cleanup.add(async () => { await peer.stop() })
      expect(await peer.put('x', enc.encode('y'), { w: 1, signal: LONG() })).to.include({ acks: 1, replicas: 1, n: 3 })
      expect(values(await peer.get('x', { r: 1, signal: LONG() }))).to.deep.equal(['y'])
      // not "alone in the network": it has not joined yet, and says so
      const err = await rejection(peer.put('x', enc.encode('z'), { signal: LONG() }))
      expect(err).to.have.property('name', 'QuorumNotReachedError')
      expect(err.message).to.equal('quorum not reached: 1 of 2 acks (this peer knows no other peer yet: it has not joined its bootstrap peers; check the bootstrap peers and `p2pstore status`, or lower --w/--n)')
    })
  })

  it('3 peers: put --n 5 --w 5 writes 3 copies and says so; get --n 5 --r 5 fails the same way; --r 3 reads', async () => {
    const net = await testnet(3)
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    const err = await rejection(a.put('wide', enc.encode('v'), { n: 5, w: 5, signal: LONG() }))
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err.message).to.equal('quorum not reached: 3 of 5 acks (3 live replicas of 5 for this key; failed: none; start more peers, or lower --w/--n)')
    // the write reached every replica that exists
    for (const peer of net.peers) expect((await peer.localState('wide'))?.siblings.map(s => dec.decode(s.value))).to.deep.equal(['v'])

    const readErr = await rejection(b.get('wide', { n: 5, r: 5, signal: LONG() }))
    expect(readErr).to.have.property('name', 'QuorumNotReachedError')
    expect(readErr.message).to.equal('quorum not reached: 3 of 5 replies (3 live replicas of 5 for this key; failed: none; start more peers, or lower --r/--n)')
    const read = await b.get('wide', { n: 5, r: 3, signal: LONG() })
    expect(values(read)).to.deep.equal(['v'])
    expect(read).to.include({ replies: 3, replicas: 3, n: 5 })
    // a W the live replicas can give succeeds, degraded
    expect(await a.put('wide', enc.encode('v2'), { n: 5, w: 3, context: read.context, signal: LONG() })).to.include({ acks: 3, replicas: 3, n: 5 })
  })

  it('3 peers, one crashed and still a member: put --w 3 says 2 of 3 and names the failed replica', async () => {
    // probing slowed down: the crashed peer stays a live member, so its store fails
    const net = await testnet(3, { gossip: { probeInterval: 3_600_000, pushPullInterval: 300 } })
    const [a, b, victim] = net.peers
    if (a == null || b == null || victim == null) throw new Error('testnet too small')
    await victim.stop({ leave: false })
    const err = await rejection(a.put('k', enc.encode('v'), { w: 3, signal: LONG() }))
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err.message).to.match(/^quorum not reached: 2 of 3 acks \(put; failed: \S+ \(.+\); retry, or lower --w\)$/)
    expect(err.message).to.include(shortPeer(victim.peerId.toString()))
    expect((err as AggregateError).errors).to.have.length(1)
  })

  it('3 peers, one gone (left): put --w 3 says 2 of 3 with 2 live replicas; --w 2 succeeds degraded', async () => {
    const net = await testnet(3)
    const [a, b, gone] = net.peers
    if (a == null || b == null || gone == null) throw new Error('testnet too small')
    await gone.stop()
    await eventually(async () => a.membership.size === 2, 'peer-0 sees the leave')
    const err = await rejection(a.put('k', enc.encode('v'), { w: 3, signal: LONG() }))
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err.message).to.equal('quorum not reached: 2 of 3 acks (2 live replicas of 3 for this key; failed: none; start more peers, or lower --w/--n)')
    expect(await a.put('k', enc.encode('v'), { w: 2, signal: LONG() })).to.include({ acks: 2, replicas: 2, n: 3 })
  })
})

describe('delete (real loopback network)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  /** every peer's plain read and LWW read of `key` */
  async function reads (peers: Peer[], key: string): Promise<Array<{ plain: string[], lww: string | undefined }>> {
    return Promise.all(peers.map(async peer => {
      const got = await peer.get(key, { r: 3 })
      const winner = resolveLww(got.versions)
      return { plain: values(got), lww: winner == null || winner.deleted ? undefined : dec.decode(winner.value) }
    }))
  }

  it('a delete without a context deletes what is there: plain get and lww both say not found, on every peer', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a, b, c] = net.peers
    if (a == null || b == null || c == null) throw new Error('testnet too small')
    // two concurrent siblings: the delete must supersede both
    await a.put('gone', enc.encode('v1'))
    await b.put('gone', enc.encode('v2'))
    const deleted = await c.delete('gone')
    expect(deleted.acks).to.be.at.least(2)
    for (const r of await reads(net.peers, 'gone')) expect(r).to.deep.equal({ plain: [], lww: undefined })
    // a put after the delete is simply the value again
    await a.put('gone', enc.encode('back'), { context: deleted.context })
    for (const r of await reads(net.peers, 'gone')) expect(r).to.deep.equal({ plain: ['back'], lww: 'back' })
  })

  it('deleting a missing key succeeds (idempotent) and it stays not found', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a] = net.peers
    if (a == null) throw new Error('no peer')
    expect((await a.delete('never-written')).acks).to.be.at.least(2)
    expect((await a.delete('never-written')).acks).to.be.at.least(2)
    for (const r of await reads(net.peers, 'never-written')) expect(r).to.deep.equal({ plain: [], lww: undefined })
  })

  it('a blind delete supersedes nothing: the value and the delete read as siblings, lww as not found; a delete with that context settles it', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    await a.put('conflict', enc.encode('v'))
    await b.delete('conflict', { blind: true })
    for (const r of await reads(net.peers, 'conflict')) expect(r).to.deep.equal({ plain: ['<deleted>', 'v'], lww: undefined })
    await expect(b.delete('conflict', { blind: true, context: (await a.get('conflict')).context })).to.be.rejected.and.eventually.have.property('name', 'InvalidParametersError')

    await a.delete('conflict', { context: (await a.get('conflict')).context })
    for (const r of await reads(net.peers, 'conflict')) expect(r).to.deep.equal({ plain: [], lww: undefined })
  })

  it('a lone peer deletes with --n 1', async () => {
    const [peer] = (await createTestnet(1, { onTeardown: fn => { cleanup.add(fn) } })).peers
    if (peer == null) throw new Error('no peer')
    await peer.put('x', enc.encode('y'), { n: 1 })
    expect(await peer.delete('x', { n: 1, signal: LONG() })).to.include({ acks: 1, replicas: 1, n: 1 })
    expect((await peer.get('x', { n: 1 })).siblings).to.deep.equal([])
  })

  it('aborts a delete (its read, then its write) when the caller aborts', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a] = net.peers
    if (a == null) throw new Error('no peer')
    await a.put('abort-me', enc.encode('v'))
    await expect(a.delete('abort-me', { signal: AbortSignal.abort() })).to.be.rejected.and.eventually.have.property('name', 'AbortError')
    const controller = new AbortController()
    const deleting = a.delete('abort-me', { signal: controller.signal })
    controller.abort()
    await expect(deleting).to.be.rejected.and.eventually.have.property('name', 'AbortError')
  })
})
