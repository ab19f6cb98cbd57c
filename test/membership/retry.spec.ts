/**
 * A membership request whose connection is closed under it (a connection budget pruned it, not a
 * timeout) is retried once on a new channel within its deadline: membership requests are
 * idempotent, and nothing may fail because a connection was pruned mid-request (issue #16).
 * Real peers on loopback; the connection is hung up while the member is handling the request.
 */
import { GOSSIP_TESTNET } from '../../src/constants.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { SwimCore } from '../../src/membership/index.ts'
import type { Peer } from '../../src/peer.ts'

describe('membership: retry after a closed connection', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('a full-state sync whose connection is hung up mid-request is retried on a new one and answered', async () => {
    const net = await createTestnet(2, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: GOSSIP_TESTNET } })
    const [a, b] = net.peers as [Peer, Peer]
    // b holds a's first sync until the test has hung up the connection, then answers as usual
    const core = (b.membership as unknown as { core: SwimCore }).core
    const handle = core.handle.bind(core)
    const syncs: number[] = []
    let arrived: () => void = () => {}
    const firstArrived = new Promise<void>(resolve => { arrived = resolve })
    let release: () => void = () => {}
    const released = new Promise<void>(resolve => { release = resolve })
    core.handle = async (from, message, bytes) => {
      if (message.type === 'sync' && from.equals(a.peerId)) {
        syncs.push(Date.now())
        if (syncs.length === 1) {
          arrived()
          await released
        }
      }
      return handle(from, message, bytes)
    }
    cleanup.add(() => { core.handle = handle; release() })

    const joining = a.membership.join([b.peerId])
    await firstArrived
    await a.libp2p.hangUp(b.peerId)
    release()
    expect(await joining, 'syncs answered').to.equal(1)
    expect(syncs, 'the sync reached the member twice: the second on a new connection').to.have.length(2)
    expect(a.libp2p.getConnections(b.peerId).length).to.be.greaterThan(0)
  })
})
