import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** Open connections of each peer. */
function counts (peers: Peer[]): number[] {
  return peers.map(p => p.libp2p.getConnections().length)
}

describe('connection budget: 8 real peers with maxConnections 3', function () {
  this.timeout(300_000)
  const cleanup = useCleanup()

  it('brings every peer down to ≤ 3 connections, serves put and get through every peer, and still sees a killed peer dead', async () => {
    const net = await createTestnet(8, { onTeardown: fn => { cleanup.add(fn) }, peer: { maxConnections: 3 } })
    const { peers } = net
    for (const p of peers) expect(p.connections.maxConnections).to.equal(3)

    // SWIM probes every member in turn: connections open on demand and the budget closes them
    await eventually(async () => counts(peers).every(c => c <= 3), `≤ 3 connections on every peer (last: ${counts(peers).join(',')})`, 120_000, 100)
    expect(peers.reduce((sum, p) => sum + p.connections.trimmed, 0)).to.be.greaterThan(0)
    for (const p of peers) expect(p.connections.protectedPeerIds().length).to.be.within(1, 2)

    // every peer writes, every other reads what it wrote
    for (const [i, p] of peers.entries()) await p.put(`budget-${i}`, enc.encode(`v${i}`))
    for (const [i, p] of peers.entries()) {
      const j = (i + 3) % peers.length
      const got = await p.get(`budget-${j}`)
      expect(got.siblings.map(s => dec.decode(s.value))).to.deep.equal([`v${j}`])
    }

    // a killed peer (no leave message) is seen dead by every other
    const victim = peers[5] as Peer
    const id = victim.peerId.toString()
    await victim.stop({ leave: false })
    const rest = peers.filter(p => p !== victim)
    await eventually(async () => {
      for (const p of rest) {
        const seen = (await p.peers()).find(m => m.peerId === id)
        if (seen?.state !== 'dead') return false
      }
      return true
    }, 'every peer to see the killed peer dead', 60_000, 100)
    // and every key is still readable through the survivors
    for (const [i, p] of rest.entries()) {
      const got = await p.get(`budget-${i}`)
      expect(got.siblings.map(s => dec.decode(s.value))).to.deep.equal([`v${i}`])
    }
  })
})
