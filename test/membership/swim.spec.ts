import { setTimeout as sleep } from 'node:timers/promises'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'
import type { Testnet } from '../../src/testnet/index.ts'

/** the state `observer` holds for `subject`, or undefined */
async function stateOf (observer: Peer, subject: Peer): Promise<{ state: string, incarnation: number } | undefined> {
  return (await observer.peers()).find(p => p.peerId === subject.peerId.toString())
}

/** polls until every peer in `observers` holds `subject` in `state`; resolves with the ms it took */
async function seenAs (observers: Peer[], subject: Peer, state: string, ms: number): Promise<number> {
  const begin = Date.now()
  for (;;) {
    const states = await Promise.all(observers.map(async o => (await stateOf(o, subject))?.state))
    if (states.every(s => s === state)) return Date.now() - begin
    if (Date.now() - begin > ms) throw new Error(`not every peer sees ${subject.peerId} as ${state} after ${ms} ms: ${states.join(', ')}`)
    await sleep(50)
  }
}

describe('membership: SWIM gossip on a real loopback network', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  const testnet = async (n: number): Promise<Testnet> => createTestnet(n, { onTeardown: fn => { cleanup.add(fn) } })

  it('8 peers: a peer that stops without leaving is seen dead by all others; restarted, it is alive everywhere with a higher incarnation', async () => {
    const net = await testnet(8)
    const victim = net.peers[5]
    if (victim == null) throw new Error('no victim')
    const others = net.peers.filter(p => p !== victim)
    const before = await stateOf(others[0] as Peer, victim)
    expect(before?.state).to.equal('alive')

    await victim.stop({ leave: false })
    await seenAs(others, victim, 'dead', 30_000)
    // placement no longer counts it
    for (const o of others) expect(o.membership.list().map(m => m.peerId.toString())).to.not.include(victim.peerId.toString())

    const restarted = await net.startPeer(5)
    await seenAs(others, restarted, 'alive', 30_000)
    for (const o of others) {
      expect((await stateOf(o, restarted))?.incarnation, `incarnation seen by ${o.peerId}`).to.be.greaterThan(before?.incarnation ?? Infinity)
    }
  })

  it('a peer that stops gracefully is seen as left by all others, without a suspicion', async () => {
    const net = await testnet(5)
    const leaver = net.peers[2]
    if (leaver == null) throw new Error('no peer')
    const others = net.peers.filter(p => p !== leaver)
    await leaver.stop()
    await seenAs(others, leaver, 'left', 15_000)
  })

  it('a new peer joining through one bootstrap peer becomes an alive member everywhere, and everyone in its view', async () => {
    const net = await testnet(4)
    const late = await net.startPeer()
    await seenAs(net.peers, late, 'alive', 15_000)
    // the members its join peer told it of count once each answered a ping (issue #19)
    await eventually(async () => (await Promise.all(net.peers.map(async p => (await stateOf(late, p))?.state === 'alive'))).every(Boolean), 'every member alive in the new peer\'s view', 15_000)

    // every exchange is counted on both sides: nothing is received that was not sent, and what
    // was sent arrived, give or take the exchanges in flight or timed out (on a loaded machine a
    // starved peer gives up on some: hence a margin that grows with the traffic)
    const traffic = [...net.peers, late].map(p => p.membership.traffic())
    const sum = (k: keyof typeof traffic[number]): number => traffic.reduce((a, t) => a + t[k], 0)
    const sent = sum('messagesSent')
    expect(sent).to.be.greaterThan(0)
    expect(sum('bytesSent')).to.be.greaterThan(sent)
    expect(sum('messagesReceived')).to.be.at.most(sent)
    expect(sent - sum('messagesReceived')).to.be.at.most(Math.max(3 * traffic.length, sent / 10))
  })
})
