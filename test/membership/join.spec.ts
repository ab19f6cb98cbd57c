/**
 * Joining the SWIM group on a real loopback network when the join's full-state sync fails: under
 * load the sync with the bootstrap peer times out or its connection breaks (a 50-peer in-process
 * net lost 7 of 49 joins this way), and a peer that knows no member, and that no member knows,
 * must not stay outside the group for good.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { GOSSIP_TESTNET } from '../../src/constants.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

/** polls until `observer` holds `subject` as alive; rejects after `ms` */
async function seesAlive (observer: Peer, subject: Peer, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (observer.membership.members().some(m => m.peerId.equals(subject.peerId) && m.state === 'alive')) return
    if (Date.now() > deadline) throw new Error(`${observer.peerId} does not see ${subject.peerId} alive after ${ms} ms`)
    await sleep(50)
  }
}

describe('membership: join', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('a peer whose join sync failed keeps joining through its bootstrap peer until it is a member', async () => {
    const net = await createTestnet(1, { onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: GOSSIP_TESTNET } })
    const bootstrap = net.peers[0]
    if (bootstrap == null) throw new Error('no bootstrap peer')
    // the bootstrap peer does not serve the membership protocol: the join sync fails
    await bootstrap.membership.stop({ leave: false })

    const late = await net.startPeer(undefined, { start: false })
    const joined = new Promise<number>(resolve => {
      const join = late.membership.join.bind(late.membership)
      late.membership.join = async (peers, options) => {
        const answered = await join(peers, options)
        resolve(answered)
        return answered
      }
    })
    await late.start()
    expect(await joined).to.equal(0)
    expect(late.membership.members()).to.have.length(0)

    // the bootstrap peer serves again, knowing no one (a fresh member table): only a retried join
    // can bring the two together
    await bootstrap.membership.start()
    const bound = 5 * GOSSIP_TESTNET.pushPullInterval
    await seesAlive(late, bootstrap, bound)
    await seesAlive(bootstrap, late, bound)
  })
})
