import { applyWrite, emptySiblingSet, liveSiblings, nextDot } from '../../src/clock/index.ts'
import { homeReplicas, keyId } from '../../src/routing/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** key → the peers whose own store holds it as a replica (not a hinted copy), counted from the engines */
async function replicasByKey (peers: Peer[]): Promise<Map<string, Peer[]>> {
  const out = new Map<string, Peer[]>()
  for (const peer of peers) {
    if (!peer.isStarted) continue
    for await (const { key, record } of peer.engine.entries()) {
      if ((record.hintFor?.length ?? 0) > 0 || liveSiblings(record.set).length === 0) continue
      const k = dec.decode(key)
      out.set(k, [...(out.get(k) ?? []), peer])
    }
  }
  return out
}

async function putAll (peer: Peer, keys: string[]): Promise<void> {
  // a few at a time: the test net shares two cores with everything else
  for (let i = 0; i < keys.length; i += 20) {
    await Promise.all(keys.slice(i, i + 20).map(async k => peer.put(k, enc.encode(`v-${k}`))))
  }
}

describe('placement on real peers: zones, capacity, a data dir from the former placement', function () {
  this.timeout(240_000)
  const cleanup = useCleanup()

  it('a 9-peer net in 3 zones stores every one of 300 keys in 3 zones, on its 3 home replicas', async () => {
    const net = await createTestnet(9, { onTeardown: fn => { cleanup.add(fn) }, zones: ['a', 'b', 'c'] })
    expect(net.peers.map(p => p.config.zone)).to.deep.equal(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'])
    // every peer learnt every other's zone by gossip
    for (const p of net.peers) expect(new Set(p.membership.list().map(m => m.zone))).to.deep.equal(new Set(['a', 'b', 'c']))
    const keys = Array.from({ length: 300 }, (_, i) => `zoned-${i}`)
    await putAll(net.peers[0] as Peer, keys)
    let exceptions: string[] = []
    await eventually(async () => {
      const held = await replicasByKey(net.peers)
      exceptions = keys.filter(k => {
        const holders = held.get(k) ?? []
        const home = (net.peers[0] as Peer).placement.fromView(enc.encode(k), 3)
        // every home replica holds it (a former one may keep a copy within the handoff margin)
        return new Set(holders.map(p => p.config.zone)).size !== 3 || new Set(home.map(p => p.zone)).size !== 3 ||
          !home.every(h => holders.some(p => p.peerId.equals(h.peerId)))
      })
      return exceptions.length === 0
    }, 'every key on its 3 home replicas in 3 zones', 60_000, 500).catch(err => {
      throw new Error(`${(err as Error).message}: ${exceptions.length} keys not spread, e.g. ${exceptions.slice(0, 3).join(', ')}`)
    })
    // and the ring says so: every peer's expected share of a balanced 9-peer net is about N / 9
    const ring = await (net.peers[4] as Peer).ring()
    expect(ring).to.have.length(9)
    for (const m of ring) expect(m.share).to.be.within(0.8 * 3 / 9, 1.25 * 3 / 9)
    expect(ring.reduce((a, m) => a + m.share, 0)).to.be.closeTo(3, 1e-9)
  })

  it('a peer of capacity 2 holds about twice the keys of each of its neighbours', async () => {
    const net = await createTestnet(9, { onTeardown: fn => { cleanup.add(fn) }, capacities: [2] })
    const heavy = net.peers[0] as Peer
    await eventually(async () => net.peers.every(p => p.membership.list().find(m => m.peerId.equals(heavy.peerId))?.capacity === 2), 'capacity 2 gossiped', 20_000)
    const shares = heavy.placement.ownership(3)
    const lightShares = net.peers.slice(1).map(p => shares.get(p.peerId.toString()) ?? 0)
    const lightMean = lightShares.reduce((a, b) => a + b, 0) / lightShares.length
    expect((shares.get(heavy.peerId.toString()) ?? 0) / lightMean).to.be.within(1.6, 2.4)

    const keys = Array.from({ length: 300 }, (_, i) => `weighted-${i}`)
    await putAll(net.peers[1] as Peer, keys)
    let counts: number[] = []
    await eventually(async () => {
      const held = await replicasByKey(net.peers)
      counts = net.peers.map(p => keys.filter(k => held.get(k)?.includes(p) === true).length)
      return keys.every(k => held.get(k)?.length === 3)
    }, 'every key on its 3 home replicas', 60_000, 500)
    const others = counts.slice(1).reduce((a, b) => a + b, 0) / (counts.length - 1)
    expect((counts[0] ?? 0) / others, `keys per peer ${counts.join(' ')}`).to.be.within(1.5, 2.6)
  })

  it('a peer restarted with a higher capacity takes its larger share: the data moves as on a membership change', async () => {
    const net = await createTestnet(6, { onTeardown: fn => { cleanup.add(fn) } })
    const keys = Array.from({ length: 150 }, (_, i) => `grown-${i}`)
    await putAll(net.peers[1] as Peer, keys)
    const holding = async (peers: Peer[], who: Peer): Promise<number> => {
      const held = await replicasByKey(peers)
      return keys.filter(k => held.get(k)?.includes(who) === true).length
    }
    await eventually(async () => {
      const held = await replicasByKey(net.peers)
      return keys.every(k => held.get(k)?.length === 3)
    }, 'every key on its 3 home replicas', 60_000, 500)
    const before = await holding(net.peers, net.peers[0] as Peer)

    await (net.peers[0] as Peer).stop()
    const grown = await net.startPeer(0, { capacity: 3 })
    const peers = [grown, ...net.peers.slice(1)]
    await eventually(async () => peers.every(p => p.membership.list().find(m => m.peerId.equals(grown.peerId))?.capacity === 3), 'capacity 3 gossiped', 30_000, 200)
    // weights 3 : 1 × 5 with N = 3: it is now a home replica of most keys (0.5 before)
    expect(grown.placement.ownership(3).get(grown.peerId.toString())).to.be.greaterThan(0.7)
    await eventually(async () => {
      const held = await replicasByKey(peers)
      return keys.every(k => grown.placement.fromView(enc.encode(k), 3).every(h => held.get(k)?.some(p => p.peerId.equals(h.peerId)) === true))
    }, 'every key on its new home replicas', 60_000, 500)
    const after = await holding(peers, grown)
    expect(after, `held ${before} keys before, ${after} after`).to.be.greaterThan(Math.max(before * 1.3, 0.65 * keys.length))
  })

  it('a data dir written under the former placement (one position per peer) restarts and converges, nothing lost', async () => {
    // no background passes while the old layout is written
    const net = await createTestnet(7, { onTeardown: fn => { cleanup.add(fn) }, peer: { handoffInterval: 3_600_000, antiEntropyInterval: 3_600_000 } })
    const members = net.peers.map(p => ({ peer: p, kadId: keyId(p.peerId.toMultihash().bytes) }))
    const keys = Array.from({ length: 120 }, (_, i) => `former-${i}`)
    let moved = 0
    for (const k of keys) {
      // where the former placement put the key: the 3 peers whose kad ids are nearest by XOR
      const former = homeReplicas(keyId(enc.encode(k)), members, 3).map(m => m.peer)
      const now = (net.peers[0] as Peer).placement.fromView(enc.encode(k), 3).map(p => p.peerId.toString())
      if (former.some(p => !now.includes(p.peerId.toString()))) moved++
      const actor = 'ffeeddccbbaa998800000001'
      const set = emptySiblingSet()
      const { state } = applyWrite(set, { dot: nextDot(set, actor), value: enc.encode(`v-${k}`), timestamp: Date.now(), deleted: false, context: { vv: new Map(), cloud: [] } })
      for (const p of former) await p.engine.update(enc.encode(k), () => ({ set: state }))
    }
    // the layouts differ for most keys: the test is about moving them
    expect(moved).to.be.greaterThan(keys.length / 2)

    // restart every peer on its data dir with the usual test-net intervals
    const restarted: Peer[] = []
    for (const [i, peer] of net.peers.entries()) {
      await peer.stop()
      restarted.push(await net.startPeer(i, { handoffInterval: 1_000, antiEntropyInterval: 2_000 }))
      // the first one restarts through peer 1, the others through the restarted ones
    }
    await eventually(async () => restarted.every(p => p.membership.size === 7), 'the restarted net settles', 60_000, 200)

    let wrong: string[] = []
    await eventually(async () => {
      const held = await replicasByKey(restarted)
      wrong = keys.filter(k => {
        // the new home replicas hold it; beyond them only the handoff margin (N + 1) may keep a copy
        const list = (restarted[0] as Peer).placement.fromView(enc.encode(k), 3, 4).map(p => p.peerId.toString())
        const holders = (held.get(k) ?? []).map(p => p.peerId.toString())
        return !list.slice(0, 3).every(id => holders.includes(id)) || holders.some(id => !list.includes(id))
      })
      return wrong.length === 0
    }, 'every key held by its new home replicas', 90_000, 500).catch(err => {
      throw new Error(`${(err as Error).message}: ${wrong.length} keys elsewhere, e.g. ${wrong.slice(0, 3).join(', ')}`)
    })
    for (const k of keys) {
      const got = await (restarted[2] as Peer).get(k)
      expect(got.siblings.map(s => dec.decode(s.value))).to.deep.equal([`v-${k}`])
    }
  })
})
