/**
 * A member we hold as suspect or dead is told so on every exchange it has with us, not only while
 * that news still has piggyback retransmissions left: a peer wrongly declared dead (paused, slow,
 * cut off) that keeps probing must learn it, or it cannot refute and stays dead until a push-pull.
 * Checked on the wire: a plain libp2p node speaks the membership protocol to a real peer.
 */
import { lpStream } from '@libp2p/utils'
import { GOSSIP_TESTNET, PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../../src/protocol/membership/codec.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { MemberState } from '../../src/membership/index.ts'
import type { MembershipMessage } from '../../src/protocol/membership/codec.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** One request/response exchange of the membership protocol, as a member would make it. */
async function exchange (node: Libp2p, peer: PeerId, message: MembershipMessage): Promise<MembershipMessage> {
  const signal = AbortSignal.timeout(5_000)
  const stream = await node.dialProtocol(peer, PROTOCOL_MEMBERSHIP, { signal })
  const lp = lpStream(stream)
  await lp.write(encodeMembershipMessage(message), { signal })
  const reply = decodeMembershipMessage(await lp.read({ signal }))
  await stream.close({ signal })
  return reply
}

describe('membership: a member held suspect or dead is told so', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('every ack to it carries its record, after the gossip of that news is used up', async () => {
    // one peer, probing nobody: only our own exchanges use its piggyback retransmissions
    const net = await createTestnet(1, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: GOSSIP_TESTNET } })
    const peer = net.peers[0]
    if (peer == null) throw new Error('no peer')
    const node = await createFloorNode()
    cleanup.add(async () => { await node.stop() })
    // answer the peer's own probes, so that it never suspects our node by itself
    await node.handle(PROTOCOL_MEMBERSHIP, async stream => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(encodeMembershipMessage({ type: 'ack', updates: [] }))
      await stream.close()
    })
    await node.dial(peer.getMultiaddrs(), { signal: AbortSignal.timeout(5_000) })

    const told = async (state: MemberState, incarnation: number): Promise<boolean[]> => {
      const acks: boolean[] = []
      // far more exchanges than the news gets retransmissions (4 × log10(n + 1), rounded up)
      for (let i = 0; i < 12; i++) {
        const ack = await exchange(node, peer.peerId, { type: 'ping', updates: [] })
        expect(ack.type).to.equal('ack')
        acks.push(ack.updates.some(u => u.peerId.equals(node.peerId) && u.state === state && u.incarnation === incarnation))
      }
      return acks
    }

    // someone tells the peer that our node is dead; its acks must say so every time
    await exchange(node, peer.peerId, { type: 'sync', updates: [{ peerId: node.peerId, state: 'dead', incarnation: 3, addrs: [] }] })
    expect(peer.membership.members().find(m => m.peerId.equals(node.peerId))?.state).to.equal('dead')
    expect(await told('dead', 3)).to.deep.equal(Array(12).fill(true))

    // a suspicion at a newer incarnation likewise
    await exchange(node, peer.peerId, { type: 'sync', updates: [{ peerId: node.peerId, state: 'suspect', incarnation: 4, addrs: [], accuser: peer.peerId }] })
    expect(await told('suspect', 4)).to.deep.equal(Array(12).fill(true))

    // refuted: alive at a higher incarnation, and the acks stop repeating it
    await exchange(node, peer.peerId, { type: 'ping', updates: [{ peerId: node.peerId, state: 'alive', incarnation: 5, addrs: node.getMultiaddrs() }] })
    expect(peer.membership.members().find(m => m.peerId.equals(node.peerId))?.state).to.equal('alive')
    const after = await told('alive', 5)
    expect(after.filter(Boolean).length, 'acks still carrying the alive news').to.be.below(12)
  })
})
