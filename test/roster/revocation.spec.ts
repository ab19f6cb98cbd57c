/**
 * Revocation: the operator removes a member; the new roster reaches one peer, gossip carries it to
 * the rest, and every peer disconnects the removed one, marks it `left` and never names it as a
 * replica again. The time is reported, not asserted (timing belongs in the benchmark).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { signRoster } from '../../src/roster/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

describe('roster: revocation', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('a removed member is disconnected by all, left in every view, no replica, and cannot reconnect', async () => {
    const net = await createTestnet(4, { onTeardown: fn => { cleanup.add(fn) } })
    const credentials = net.credentials
    if (credentials == null) throw new Error('a closed test net has credentials')
    const victim = net.peers[3] as Peer
    const others = net.peers.slice(0, 3)
    const first = others[0] as Peer
    await first.put('k', new TextEncoder().encode('v'))

    const next = await signRoster(credentials.operator, {
      sequence: credentials.roster.sequence + 1n,
      members: credentials.roster.members.filter(m => m.peerId !== victim.peerId.toString())
    })
    const start = Date.now()
    await first.updateRoster(next.bytes)

    const revoked = async (p: Peer): Promise<boolean> =>
      p.roster?.sequence === next.sequence &&
      p.libp2p.getConnections(victim.peerId).length === 0 &&
      (await p.peers()).find(m => m.peerId === victim.peerId.toString())?.state === 'left'
    for (;;) {
      const done = await Promise.all(others.map(revoked))
      if (done.every(Boolean)) break
      if (Date.now() - start > 30_000) throw new Error(`not revoked everywhere after 30 s: ${done.join(', ')}`)
      await sleep(20)
    }
    const elapsed = Date.now() - start
    process.stdout.write(`      revocation: roster change on one peer → removed member disconnected and left on all ${others.length} in ${elapsed} ms\n`)

    for (const p of others) {
      const replicas = await p.placement.preferenceList(new TextEncoder().encode('k'))
      expect(replicas.map(r => r.peerId.toString())).to.not.include(victim.peerId.toString())
    }
    // it cannot come back: the member refuses it after the handshake (its own dial may resolve
    // before the refusal reaches it, but no stream of ours ever opens)
    await expect(victim.libp2p.dialProtocol(first.getMultiaddrs(), PROTOCOL_KV, { signal: AbortSignal.timeout(5_000) })).to.be.rejected
    await sleep(500)
    expect(first.libp2p.getConnections(victim.peerId)).to.have.length(0)
  })
})
