import { createApiServer } from '../../src/api/index.ts'
import { HttpClient } from '../../src/client/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Client } from '../../src/client/index.ts'
import type { Peer } from '../../src/peer.ts'
import type { KeyLocation } from '../../src/replication/index.ts'
import type { Testnet } from '../../src/testnet/index.ts'
import type { Cleanup } from '../utils/cleanup.ts'

const enc = new TextEncoder()

/** the key's home replicas and the other peers, as peer-0's view places them */
function homeOf (net: Testnet, key: string): { home: Peer[], others: Peer[] } {
  const ids = (net.peers[0]?.placement.fromView(enc.encode(key), 3) ?? []).map(p => p.peerId.toString())
  return { home: net.peers.filter(p => ids.includes(p.peerId.toString())), others: net.peers.filter(p => !ids.includes(p.peerId.toString())) }
}

/** the API of `peer` on a loopback port, and an HTTP client of it (both closed after the test) */
async function clientOf (cleanup: Cleanup, peer: Peer): Promise<Client> {
  const app = createApiServer({ peer })
  cleanup.add(async () => { await app.close() })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return new HttpClient({ url }, 30_000)
}

const byId = (location: KeyLocation, peer: Peer): KeyLocation['peers'][number] | undefined => location.peers.find(p => p.peerId === peer.peerId.toString())

describe('GET /v1/locate/:key on a real 5-peer loopback network', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('names the 3 home replicas holding a key with their clocks; a killed one shows unreachable, and the next put leaves a hinted copy that locate finds', async () => {
    // no probing: the killed replica is never declared dead, so a write to it fails over to a
    // fallback (sloppy quorum) and the hint stays there (no handoff pass either)
    const net = await createTestnet(5, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: { probeInterval: 3_600_000, pushPullInterval: 300 }, handoffInterval: 3_600_000 } })
    const key = 'where/is/it'
    const { home, others } = homeOf(net, key)
    const asker = others[0]
    if (asker == null || home.length !== 3) throw new Error('unexpected placement')
    const client = await clientOf(cleanup, asker)

    const put = await asker.put(key, enc.encode('v1'))
    expect(put.acks).to.be.at.least(2)
    let location: KeyLocation | undefined
    await eventually(async () => {
      location = await client.locate(key)
      return location.homeCopies === 3
    }, 'three home replicas holding the key', 30_000)
    if (location == null) throw new Error('no answer')
    expect(location.n).to.equal(3)
    expect(location.peerId).to.equal(asker.peerId.toString())
    const homes = location.peers.filter(p => p.role === 'home')
    // in preference order, exactly the home replicas placement names
    expect(homes.map(p => p.peerId)).to.deep.equal(asker.placement.fromView(enc.encode(key), 3).map(p => p.peerId.toString()))
    expect(homes.map(p => p.place)).to.deep.equal([1, 2, 3])
    for (const p of homes) {
      expect(p, p.peerId).to.include({ state: 'alive', answer: 'holds' })
      expect(p.copy).to.include({ siblings: 1, tombstones: 0, current: true })
      // one write: one actor that issued one dot
      expect(Object.values(p.copy?.clock ?? {})).to.deep.equal([1])
    }
    expect(location.otherCopies).to.equal(0)
    expect(location.siblings).to.equal(1)

    // a home replica crashes; it is still alive in everyone's view (nobody probes)
    const victim = home[0]
    if (victim == null) throw new Error('no victim')
    await victim.stop({ leave: false })
    location = await client.locate(key)
    expect(byId(location, victim)).to.include({ role: 'home', state: 'alive', answer: 'unreachable' })
    expect(byId(location, victim)?.error).to.be.a('string')
    expect(location.homeCopies).to.equal(2)

    // a write now stores its third copy on a fallback, as a hint for the victim
    const read = await asker.get(key)
    await asker.put(key, enc.encode('v2'), { context: read.context })
    await eventually(async () => {
      location = await client.locate(key)
      return location.otherCopies >= 1
    }, 'a hinted copy outside the home replicas', 30_000)
    const fallbacks = location.peers.filter(p => p.role === 'fallback')
    expect(fallbacks.length).to.be.at.least(1)
    for (const f of fallbacks) {
      expect(f).to.include({ answer: 'holds' })
      expect(f.place).to.be.above(3)
      // the fallback really holds a hint naming the victim
      const peer = net.peers.find(p => p.peerId.toString() === f.peerId)
      const record = await peer?.engine.get(enc.encode(key))
      expect(record?.hintFor).to.include(victim.peerId.toString())
      if (f.self) expect(f.copy?.hintFor).to.include(victim.peerId.toString())
    }
    // the survivors' copies carry the new write: two dots now
    for (const p of location.peers.filter(p => p.role === 'home' && p.answer === 'holds')) {
      expect(p.copy?.siblings).to.equal(1)
      expect(Object.values(p.copy?.clock ?? {}).reduce((a, b) => a + b, 0)).to.equal(2)
    }
  })

  it('a home replica declared dead shows as dead (not asked) beside the live home replicas that take its place', async () => {
    const net = await createTestnet(5, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    const key = 'dead-home'
    const { home, others } = homeOf(net, key)
    const asker = others[0]
    const victim = home[1]
    if (asker == null || victim == null) throw new Error('unexpected placement')
    const client = await clientOf(cleanup, asker)
    await asker.put(key, enc.encode('v1'))
    await eventually(async () => (await client.locate(key)).homeCopies === 3, '3 copies', 30_000)

    await victim.stop({ leave: false })
    await eventually(async () => (await asker.peers()).find(p => p.peerId === victim.peerId.toString())?.state === 'dead', 'the victim declared dead', 90_000, 200)
    const location = await client.locate(key)
    expect(byId(location, victim)).to.include({ role: 'displaced', state: 'dead', answer: 'not-asked' })
    const homes = location.peers.filter(p => p.role === 'home')
    expect(homes).to.have.length(3)
    expect(homes.every(p => p.state === 'alive' && p.peerId !== victim.peerId.toString())).to.equal(true)

    // a read repairs the new home replica: all three hold the key again
    await asker.get(key)
    await eventually(async () => (await client.locate(key)).homeCopies === 3, 'the new home replica repaired', 30_000)
  })

  it('refuses a bad key or n with the usual errors', async () => {
    const net = await createTestnet(1, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    const peer = net.peers[0]
    if (peer == null) throw new Error('no peer')
    const app = createApiServer({ peer })
    cleanup.add(async () => { await app.close() })
    const long = await app.inject({ method: 'GET', url: `/v1/locate/${'k'.repeat(1025)}` })
    expect(long.statusCode).to.equal(400)
    expect(long.json()).to.include({ error: 'KeyTooLargeError' })
    const badN = await app.inject({ method: 'GET', url: '/v1/locate/k?n=0' })
    expect(badN.statusCode).to.equal(400)
    expect(badN.json().message).to.equal('n=0: expected a whole number from 1 to 16')
    // a key nobody holds: an answer (not a 404), with the one home replica missing it
    const missing = await app.inject({ method: 'GET', url: '/v1/locate/nothing%2Fhere' })
    expect(missing.statusCode).to.equal(200)
    expect(missing.json()).to.include({ homeCopies: 0, otherCopies: 0, siblings: 0 })
    expect(missing.json().peers).to.deep.equal([{ peerId: peer.peerId.toString(), place: 1, role: 'home', state: 'alive', self: true, answer: 'missing' }])
  })

  it('Peer.locate() aborted by its caller fails with AbortError', async () => {
    const net = await createTestnet(2, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    const peer = net.peers[0]
    if (peer == null) throw new Error('no peer')
    const controller = new AbortController()
    controller.abort()
    await expect(peer.locate('k', { signal: controller.signal })).to.be.rejected.and.eventually.have.property('name', 'AbortError')
    // aborted while the replicas are being asked
    const racing = new AbortController()
    const pending = peer.locate('k', { signal: racing.signal })
    racing.abort()
    await expect(pending).to.be.rejected.and.eventually.have.property('name', 'AbortError')
  })
})
