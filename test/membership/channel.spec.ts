/**
 * Membership keeps one long-lived stream (channel) per member it probes, instead of a new stream per
 * probe: streams cost multistream-select, Yamux and peer-store work each time, which was most of an
 * idle daemon's CPU. Checked on a real loopback test net by counting the streams each peer opens.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { GOSSIP_TESTNET, PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

/** Polls until `done()` holds or `ms` pass. */
async function until (done: () => boolean, ms: number, what: string): Promise<void> {
  const begin = Date.now()
  while (!done()) {
    if (Date.now() - begin > ms) throw new Error(`${what} within ${ms} ms`)
    await sleep(50)
  }
}

describe('membership: one long-lived stream per member pair', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('many probe rounds over 4 peers open at most one membership stream per member, and a stream closed under it is reopened', async () => {
    const net = await createTestnet(4, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: GOSSIP_TESTNET } })
    const peer = net.peers[0] as Peer
    // every stream this peer opens, by protocol and peer
    const node = peer.libp2p
    const dialProtocol = node.dialProtocol.bind(node)
    const dials: Array<{ peer: string, protocol: string }> = []
    node.dialProtocol = async (...args: Parameters<typeof dialProtocol>) => {
      dials.push({ peer: args[0].toString(), protocol: String(args[1]) })
      return dialProtocol(...args)
    }
    cleanup.add(() => { node.dialProtocol = dialProtocol })
    const membershipDials = (): number => dials.filter(d => d.protocol === PROTOCOL_MEMBERSHIP).length
    const sent = (): number => peer.membership.traffic().messagesSent
    // at least 30 of its own probes (every 200 ms), each answered over a stream
    const before = sent()
    await until(() => sent() - before >= 30, 60_000, 'not 30 membership messages sent')
    const opened = membershipDials()
    expect(opened, 'membership streams opened for 30 exchanges').to.be.at.most(net.peers.length - 1)

    // every member is still alive everywhere: the exchanges were answered
    for (const p of net.peers) expect(p.membership.members().every(m => m.state === 'alive'), `${p.peerId} sees everyone alive`).to.equal(true)

    // a stream that ends (the member closed it, a connection dropped) is reopened on the next probe
    const other = net.peers[1] as Peer
    const streams = peer.libp2p.getConnections(other.peerId).flatMap(c => c.streams).filter(s => s.protocol === PROTOCOL_MEMBERSHIP && s.direction === 'outbound')
    expect(streams.length, 'outbound membership streams to one member').to.be.at.most(1)
    for (const s of streams) s.abort(new Error('test: stream reset'))
    const reopened = membershipDials()
    await until(() => dials.slice(reopened).some(d => d.protocol === PROTOCOL_MEMBERSHIP && d.peer === other.peerId.toString()), 30_000, 'the stream to the member was not reopened')
    expect(peer.membership.members().find(m => m.peerId.equals(other.peerId))?.state).to.not.equal('dead')
  })
})
