import { DEFAULT_N } from '../../../src/constants.ts'
import { createTestnet } from '../../../src/testnet/index.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { eventually } from '../../utils/eventually.ts'
import { expect } from '../../utils/expect.ts'
import { deadEverywhere, holders } from '../../utils/net-state.ts'
import type { Peer } from '../../../src/peer.ts'

const enc = new TextEncoder()
const PEERS = 12
const KEYS = Array.from({ length: 24 }, (_, i) => `scope-${i}`)
/** the target: anti-entropy partners per membership event ≤ 2N */
const MAX_PARTNERS = 2 * DEFAULT_N

const within = async (fn: () => Promise<boolean> | boolean, what: string, ms = 180_000): Promise<void> => { await eventually(async () => fn(), what, ms, 200) }

/** Rounds each peer ran to the end so far (the sweeps' and nothing else: plain rounds are an hour apart). */
function roundsOf (peers: Peer[]): Map<string, number> {
  return new Map(peers.map(p => [p.peerId.toString(), p.antiEntropy.stats.rounds]))
}

/**
 * Every peer's sweeps since `since` ran rounds with at most 2N peers each, and the rounds it ran
 * since then are no more than that: a sweep with every member (the code before issue #16) ran
 * n − 1 = 11 here. Returns the most partners one sweep had, and the rounds all peers ran.
 */
function expectScoped (peers: Peer[], since: number, roundsBefore: Map<string, number>): { most: number, rounds: number } {
  let most = 0
  let rounds = 0
  for (const p of peers) {
    const { stats } = p.antiEntropy
    const sweeps = stats.recentSweeps.filter(s => s.at >= since)
    for (const s of sweeps) expect(s.partners, `partners of a sweep of ${p.peerId.toString()} (of ${s.members} members)`).to.be.at.most(MAX_PARTNERS)
    most = Math.max(most, ...sweeps.map(s => s.partners))
    const ran = stats.rounds - (roundsBefore.get(p.peerId.toString()) ?? 0)
    expect(ran, `rounds ${p.peerId.toString()} ran after the event (${sweeps.length} sweeps)`).to.be.at.most(MAX_PARTNERS * Math.max(1, sweeps.length))
    rounds += ran
  }
  return { most, rounds }
}

describe('anti-entropy scoped to the neighbourhood: 12 real peers on loopback (issue #16)', function () {
  this.timeout(900_000)
  const cleanup = useCleanup()

  it('after a kill and after a join each peer sweeps at most 2N peers, N copies come back, the joiner receives its keys, and health is healthy again', async () => {
    // plain rounds an hour apart: whatever repairs the net below is the sweeps' doing
    const net = await createTestnet(PEERS, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { antiEntropyInterval: 3_600_000 } })
    for (const [i, key] of KEYS.entries()) await net.peers[i % PEERS]?.put(key, enc.encode(`v-${key}`))
    const live = (): Peer[] => net.peers.filter(p => p.isStarted)
    await within(() => live().every(p => p.health.report().keys.underReplicated === 0), 'every key with N copies before the kill')

    // a kill: the survivors that shared keys with the victim restore N copies, talking only to the
    // peers that became a home replica of what they hold
    const victim = net.peers[7] as Peer
    const killedAt = Date.now()
    const beforeKill = roundsOf(live().filter(p => p !== victim))
    await victim.stop({ leave: false })
    const survivors = live()
    await within(async () => deadEverywhere(survivors, victim), 'the victim dead on every survivor')
    await within(async () => {
      for (const key of KEYS) if ((await holders(survivors, key)).length < DEFAULT_N) return false
      return true
    }, 'every key back to N copies')
    await within(() => survivors.every(p => p.health.report().keys.underReplicated === 0), 'health: no key under-replicated after the kill')
    await within(() => survivors.every(p => p.health.report().verdict === 'healthy'), 'health: every survivor healthy after the kill')
    const afterKill = expectScoped(survivors, killedAt, beforeKill)
    // the copies came back through sweeps: somebody swept somebody
    expect(afterKill.most, 'the largest sweep after the kill').to.be.greaterThan(0)
    // and /metrics counts them as the stats do
    for (const p of survivors) {
      const text = await p.metrics.registry.metrics()
      const { sweeps, recentSweeps } = p.antiEntropy.stats
      expect(text).to.match(new RegExp(`^p2pstore_antientropy_sweeps_total ${sweeps}$`, 'm'))
      if (sweeps <= recentSweeps.length) expect(text).to.match(new RegExp(`^p2pstore_antientropy_sweep_partners_total ${recentSweeps.reduce((n, s) => n + s.partners, 0)}$`, 'm'))
    }

    // a join: the holders of the keys the newcomer now homes sweep it, and nobody else
    const joinedAt = Date.now()
    const beforeJoin = roundsOf(survivors)
    const late = await net.startPeer()
    const all = [...survivors, late]
    await within(() => all.every(p => p.membership.size === PEERS), 'everyone sees the newcomer alive')
    const homes = (key: string): boolean => late.placement.fromView(enc.encode(key), DEFAULT_N).some(p => p.peerId.equals(late.peerId))
    const mine = KEYS.filter(homes)
    await within(async () => {
      for (const key of KEYS.filter(homes)) if ((await late.localState(key)) == null) return false
      return true
    }, `the newcomer holds the ${mine.length} keys it homes`)
    await within(() => all.every(p => p.health.report().verdict === 'healthy'), 'health: every peer healthy after the join')
    const afterJoin = expectScoped(all, joinedAt, beforeJoin)
    if (mine.length > 0) expect(afterJoin.most, 'the largest sweep after the join').to.be.greaterThan(0)
  })
})
