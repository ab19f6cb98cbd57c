/**
 * Partitions through the connection gater, between real in-process peers on loopback: a partitioned
 * pair has no connection and cannot open one, gossip declares the other side dead, a one-way block
 * refuses only the blocked direction, and healing brings every member back alive.
 */
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

async function stateOf (observer: Peer, subject: Peer): Promise<string | undefined> {
  return (await observer.peers()).find(p => p.peerId === subject.peerId.toString())?.state
}

describe('faults: partitions through the connection gater (real peers on loopback)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('cuts two groups apart below every protocol, and heals', async () => {
    const { peers } = await createTestnet(4, { onTeardown: fn => { cleanup.add(fn) } })
    const [a, b, c, d] = peers as [Peer, Peer, Peer, Peer]
    const left = [a, b]
    const right = [c, d]
    await Promise.all(left.map(async p => { await p.partition(right.map(r => r.peerId)) }))
    await Promise.all(right.map(async p => { await p.partition(left.map(l => l.peerId)) }))

    expect(a.libp2p.getConnections(c.peerId)).to.have.length(0)
    await expect(a.libp2p.dial(c.peerId)).to.be.rejected
    expect(a.partitions().map(p => p.peerId)).to.have.members([c.peerId.toString(), d.peerId.toString()])

    await eventually(async () => await stateOf(a, c) === 'dead' && await stateOf(c, a) === 'dead' && await stateOf(b, d) === 'dead', 'each side to declare the other dead', 30_000, 100)
    // within a side, nothing changed
    expect(await stateOf(a, b)).to.equal('alive')
    expect(await stateOf(c, d)).to.equal('alive')
    // writes still reach a quorum on each side (sloppy quorum through the members it can reach)
    await a.put('left-key', new TextEncoder().encode('written during the partition'))

    for (const p of peers) expect(p.heal()).to.equal(2)
    await eventually(async () => {
      for (const o of peers) for (const s of peers) if (o !== s && await stateOf(o, s) !== 'alive') return false
      return true
    }, 'every member alive again after healing', 60_000, 100)
    const read = await d.get('left-key', { r: 3 })
    expect(new TextDecoder().decode(read.siblings[0]?.value)).to.equal('written during the partition')
  })

  it('one-way: the blocked peer cannot open a connection, the other side still can', async () => {
    const { peers } = await createTestnet(2, { onTeardown: fn => { cleanup.add(fn) } })
    const [a, b] = peers as [Peer, Peer]
    // a cannot reach b: a refuses to dial b, and b refuses connections a opens
    await a.partition([b.peerId], { direction: 'outbound' })
    await b.partition([a.peerId], { direction: 'inbound' })
    expect(a.libp2p.getConnections(b.peerId)).to.have.length(0)
    await expect(a.libp2p.dial(b.peerId)).to.be.rejected
    const conn = await b.libp2p.dial(a.peerId)
    expect(conn.status).to.equal('open')
  })
})
