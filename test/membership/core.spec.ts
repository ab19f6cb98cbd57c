/**
 * SwimCore without I/O: driven by a fake clock and an in-memory transport (fake-net.ts), as the
 * simulator drives it. Distributed behaviour over real libp2p is in the other membership specs.
 */
import { MAX_PIGGYBACK_BYTES } from '../../src/constants.ts'
import { pushPullInterval, syncBuckets } from '../../src/membership/index.ts'
import { memberUpdateSize } from '../../src/protocol/index.ts'
import { expect } from '../utils/expect.ts'
import { peerIds } from '../utils/replication.ts'
import { FakeNet } from './fake-net.ts'
import type { SwimCore, SwimCoreInit } from '../../src/membership/index.ts'
import type { MemberUpdate } from '../../src/protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

/** fast timing in simulated ms; gossip and push-pull off unless a test turns them on */
const QUIET: SwimCoreInit = { probeInterval: 100, probeTimeout: 40, pushPullInterval: 1e9, gossipInterval: 1e9 }

/** what a core holds about every member, as `id state incarnation` lines, itself included */
function view (core: SwimCore): string[] {
  return core.notLeft().concat(core.members().filter(m => m.state === 'left'))
    .map(m => `${m.peerId.toString()} ${m.state} ${'incarnation' in m ? String(m.incarnation) : 'self'}`)
    .sort()
}

/** the table of `core` as (id → state@incarnation), this peer included */
function table (core: SwimCore, self: PeerId): Map<string, string> {
  const out = new Map<string, string>([[self.toString(), `alive@${core.incarnation}`]])
  for (const m of core.members()) out.set(m.peerId.toString(), `${m.state}@${m.incarnation}`)
  return out
}

/** Teaches `core` news as if `from` had gossiped it. */
async function tell (core: SwimCore, from: PeerId, updates: MemberUpdate[]): Promise<void> {
  await core.handle(from, { type: 'gossip', updates })
}

describe('membership: SwimCore (fake clock, in-memory transport)', () => {
  let net: FakeNet
  beforeEach(() => { net = new FakeNet() })
  afterEach(async () => { await net.stopAll() })

  it('joins, sees everyone alive, and sees a silent member suspect then dead — in simulated time only', async () => {
    const cores = await net.add(6, QUIET)
    for (const c of cores) c.start()
    for (const c of cores.slice(1)) expect(await net.run(c.join([net.ids[0] as PeerId]))).to.equal(1)
    await net.clock.advance(5_000)
    for (const c of cores) expect(c.size, 'members alive in every view').to.equal(6)

    const victim = net.ids[3] as PeerId
    net.down.add(victim.toString())
    // suspicion floor 4 × log10(6) × 100 ms ≈ 311 ms, a lone accuser's 6× that: within 10 s of simulated time
    await net.clock.advance(10_000)
    for (const [i, c] of cores.entries()) {
      if (i === 3) continue
      expect(net.state(c, victim), `peer ${i}'s view of the silent member`).to.equal('dead')
    }
  })

  it('a silent member that comes back refutes the suspicion with a higher incarnation', async () => {
    const cores = await net.add(4, QUIET)
    for (const c of cores) c.start()
    for (const c of cores.slice(1)) await net.run(c.join([net.ids[0] as PeerId]))
    await net.clock.advance(2_000)
    const victim = cores[2] as SwimCore
    const before = victim.incarnation
    net.down.add((net.ids[2] as PeerId).toString())
    // long enough to be suspected, not to be declared dead by a lone accuser
    await net.clock.advance(250)
    net.down.delete((net.ids[2] as PeerId).toString())
    await net.clock.advance(10_000)
    expect(victim.incarnation, 'refuted').to.be.greaterThan(before)
    for (const c of cores) expect(c.size).to.equal(4)
    for (const c of cores) for (const m of c.members()) expect(m.state).to.equal('alive')
  })

  it('push-pull: two peers with different tables converge, and identical tables then exchange only digests', async () => {
    // no probe rounds: the tables change by the push-pull alone
    const [a, b] = await net.add(2, { ...QUIET, probeInterval: 1e9 }) as [SwimCore, SwimCore]
    const [ida, idb] = net.ids as [PeerId, PeerId]
    a.start()
    b.start()
    // real members of the fake net (not started; they answer): news of a member heard from
    // another enters a table only once it answered a ping (issue #19)
    await net.add(40, QUIET)
    const others = net.ids.slice(2)
    // a knows the first 25 (some dead), b the last 25 (some suspect, one at a higher incarnation),
    // each as the member itself announced it
    for (const [i, p] of others.slice(0, 25).entries()) await tell(a, p, [{ peerId: p, state: i % 5 === 0 ? 'dead' : 'alive', incarnation: 3, addrs: [] }])
    // the dead ones are down: a dead claim about a member b holds alive is believed only once b failed to reach it too
    for (const [i, p] of others.slice(0, 25).entries()) if (i % 5 === 0) net.down.add(p.toString())
    for (const [i, p] of others.slice(15).entries()) await tell(b, p, [{ peerId: p, state: i % 7 === 0 ? 'suspect' : 'alive', incarnation: i === 3 ? 4 : 3, addrs: [] }])
    expect([...table(a, ida).entries()]).to.not.deep.equal([...table(b, idb).entries()])

    net.log.length = 0
    await net.run(a.pushPull(idb))
    const syncs = (): string[] => net.log.map(m => m.request.type).filter(t => t.startsWith('sync'))
    expect(syncs()).to.deep.equal(['sync-digest', 'sync-push'])
    // the members each side first heard of from the other are pinged before they count
    expect(b.candidateCount + a.candidateCount).to.be.greaterThan(0)
    await net.clock.advance(2_000)
    expect(b.candidateCount + a.candidateCount).to.equal(0)
    const ta = table(a, ida)
    const tb = table(b, idb)
    expect(ta.size).to.equal(42)
    expect([...ta.entries()].sort(), 'the same members, states and incarnations on both sides').to.deep.equal([...tb.entries()].sort())

    // identical tables: one digest request and a reply carrying no bucket, only each side's own
    // record (its view digest and key count change no bucket digest), nothing else
    net.log.length = 0
    await net.run(b.pushPull(ida))
    expect(syncs()).to.deep.equal(['sync-digest'])
    net.log.splice(0, net.log.length, ...net.log.filter(m => m.request.type === 'sync-digest'))
    expect(net.log[0]?.request.updates.map(u => u.peerId.toString())).to.deep.equal([idb.toString()])
    expect(net.log[0]?.reply?.type).to.equal('sync-digest-reply')
    expect(net.log[0]?.reply?.differing).to.deep.equal([])
    expect(net.log[0]?.reply?.updates.map(u => u.peerId.toString())).to.deep.equal([ida.toString()])
    expect(view(a).length).to.equal(view(b).length)
  })

  it('push-pull: a member that holds us suspect tells us in the reply, and we refute', async () => {
    const [a, b] = await net.add(2, QUIET) as [SwimCore, SwimCore]
    const [ida, idb] = net.ids as [PeerId, PeerId]
    a.start()
    b.start()
    await net.run(b.join([ida]))
    // as if a (a live member of b's view) had relayed b's own accusation back
    await tell(b, ida, [{ peerId: ida, state: 'suspect', incarnation: a.incarnation, addrs: [], accuser: idb }])
    const before = a.incarnation
    await net.run(a.pushPull(idb))
    expect(a.incarnation).to.be.greaterThan(before)
    // the refutation went back in the push half
    expect(b.member(ida)?.state).to.equal('alive')
  })

  it('gossip: news goes to gossipNodes members each interval, connected ones first, until its transmissions are used up; no news, no gossip', async () => {
    const connected = new Set<string>()
    const [a] = await net.add(1, { ...QUIET, probeInterval: 1e9, gossipInterval: 200, gossipNodes: 3, retransmitMult: 2 }, {
      connectedPeers: () => net.ids.filter(p => connected.has(p.toString()))
    })
    const members = await net.add(20, QUIET)
    void members
    const core = a as SwimCore
    const ida = net.ids[0] as PeerId
    const memberIds = net.ids.slice(1)
    core.start()
    // each member announces itself (news of others from a stranger is dropped)
    for (const p of memberIds) await tell(core, p, [{ peerId: p, state: 'alive', incarnation: 1, addrs: [] }])
    // the peers first heard of in a gossip are news: let that settle before the test proper
    await net.clock.advance(10_000)
    for (const p of memberIds.slice(0, 3)) connected.add(p.toString())

    net.log.length = 0
    await net.clock.advance(2_000)
    expect(net.log.filter(m => m.request.type === 'gossip'), 'gossip while there is no news').to.have.length(0)

    const newcomer = (await peerIds(1))[0] as PeerId
    // a newcomer announcing itself is news at once (news of it from another waits for a ping)
    await tell(core, newcomer, [{ peerId: newcomer, state: 'alive', incarnation: 9, addrs: [] }])
    // one gossip interval: one round
    await net.clock.advance(200)
    const round = net.log.filter(m => m.request.type === 'gossip')
    expect(round.map(m => m.to).sort(), 'the three connected members').to.deep.equal(memberIds.slice(0, 3).map(String).sort())
    for (const m of round) expect(m.request.updates.map(u => u.peerId.toString())).to.deep.equal([newcomer.toString()])
    // retransmitMult 2 × ceil(log10(22 + 1)) = 4 sends in all, then silence
    await net.clock.advance(5_000)
    const all = net.log.filter(m => m.request.type === 'gossip')
    expect(all.flatMap(m => m.request.updates).length).to.equal(4)
    expect(core.pendingUpdates).to.equal(0)
    expect(all.every(m => m.from === ida.toString())).to.equal(true)
  })

  it('gossip with isConnected only: connected members of a random sample first', async () => {
    const connected = new Set<string>()
    const [a] = await net.add(1, { ...QUIET, probeInterval: 1e9, gossipInterval: 200, gossipNodes: 2 }, { isConnected: peer => connected.has(peer.toString()) })
    await net.add(6, QUIET)
    const core = a as SwimCore
    const memberIds = net.ids.slice(1)
    core.start()
    // each member announces itself (news of others from a stranger is dropped)
    for (const p of memberIds) await tell(core, p, [{ peerId: p, state: 'alive', incarnation: 1, addrs: [] }])
    await net.clock.advance(10_000)
    for (const p of memberIds.slice(0, 2)) connected.add(p.toString())
    net.log.length = 0
    await tell(core, memberIds[4] as PeerId, [{ peerId: memberIds[4] as PeerId, state: 'alive', incarnation: 2, addrs: [] }])
    await net.clock.advance(200)
    // six members: the sample is all of them, so the two connected ones are the targets
    expect(net.log.filter(m => m.request.type === 'gossip').map(m => m.to).sort()).to.deep.equal(memberIds.slice(0, 2).map(String).sort())
  })

  it('piggyback: bounded by count and by bytes on every message', async () => {
    const [a, b] = await net.add(2, { ...QUIET, gossipInterval: 50, gossipNodes: 1, maxPiggyback: 10, maxPiggybackBytes: 600 }) as [SwimCore, SwimCore]
    const [, idb] = net.ids as [PeerId, PeerId]
    const many = await peerIds(60)
    const addr = (await import('@multiformats/multiaddr')).multiaddr('/ip4/10.0.0.1/tcp/4001')
    a.start()
    b.start()
    void idb
    for (const [i, p] of many.entries()) await tell(a, p, [{ peerId: p, state: 'alive', incarnation: 1, addrs: Array.from({ length: 1 + (i % 4) }, () => addr), zone: 'zone-' + 'x'.repeat(i % 30) }])
    await net.clock.advance(3_000)
    const carrying = net.log.filter(m => m.request.updates.length > 0)
    expect(carrying.length).to.be.greaterThan(5)
    let full = 0
    for (const m of net.log) {
      for (const msg of [m.request, m.reply]) {
        if (msg == null || msg.type === 'sync' || msg.type === 'sync-reply' || msg.type.startsWith('sync-')) continue
        const bytes = msg.updates.reduce((sum, u) => sum + memberUpdateSize(u), 0)
        expect(msg.updates.length, `${msg.type} updates`).to.be.at.most(10)
        expect(bytes, `${msg.type} update bytes`).to.be.at.most(600)
        if (bytes > 400) full++
      }
    }
    expect(full, 'messages filled near the byte bound').to.be.greaterThan(0)
    expect(MAX_PIGGYBACK_BYTES).to.be.greaterThan(0)
  })

  it('push-pull interval stretches with log2(n / 32) above 32 members; digest buckets hold about 8 members each', () => {
    expect(pushPullInterval(30_000, 1)).to.equal(30_000)
    expect(pushPullInterval(30_000, 32)).to.equal(30_000)
    expect(pushPullInterval(30_000, 33)).to.equal(60_000)
    expect(pushPullInterval(30_000, 64)).to.equal(60_000)
    expect(pushPullInterval(30_000, 65)).to.equal(90_000)
    expect(pushPullInterval(30_000, 10_000)).to.equal(300_000)
    expect(syncBuckets(1)).to.equal(1)
    expect(syncBuckets(8)).to.equal(1)
    expect(syncBuckets(9)).to.equal(2)
    expect(syncBuckets(10_000)).to.equal(2048)
    expect(syncBuckets(1e6)).to.equal(4096)
  })

  it('the push-pull round runs once per stretched interval, and the digests of an unchanged table match', async () => {
    const cores = await net.add(3, { ...QUIET, pushPullInterval: 1_000 })
    for (const c of cores) c.start()
    for (const c of cores.slice(1)) await net.run(c.join([net.ids[0] as PeerId]))
    net.log.length = 0
    await net.clock.advance(3_000)
    const digests = net.log.filter(m => m.request.type === 'sync-digest')
    // three peers, one round each per second
    expect(digests.length).to.be.within(8, 10)
    expect(digests.every(m => (m.reply?.differing ?? []).length === 0), 'settled tables agree').to.equal(true)
    expect(net.log.filter(m => m.request.type === 'sync-push')).to.have.length(0)
  })

  it('counts bytes per message type on both sides', async () => {
    const cores = await net.add(3, QUIET)
    for (const c of cores) c.start()
    for (const c of cores.slice(1)) await net.run(c.join([net.ids[0] as PeerId]))
    await net.clock.advance(2_000)
    const t = cores.map(c => c.traffic())
    const sent = t.reduce((s, x) => s + x.bytesSent, 0)
    const received = t.reduce((s, x) => s + x.bytesReceived, 0)
    expect(sent).to.be.greaterThan(0)
    expect(received).to.equal(sent)
    const byType = cores[0]?.trafficByType() ?? {}
    expect(byType.ping ?? 0).to.be.greaterThan(0)
    expect(byType.ack ?? 0).to.be.greaterThan(0)
  })

  it('handle() refuses a non-member and a response as a request with InvalidMessageError, changing nothing', async () => {
    const outsider = (await peerIds(1))[0] as PeerId
    const [a] = await net.add(1, QUIET, { admission: { admits: p => !p.equals(outsider) } }) as [SwimCore]
    const [friend] = await peerIds(1) as [PeerId]
    await expect(a.handle(outsider, { type: 'ping', updates: [] })).to.eventually.be.rejected.with.property('name', 'InvalidMessageError')
    await expect(a.handle(friend, { type: 'ack', updates: [{ peerId: friend, state: 'alive', incarnation: 1, addrs: [] }] })).to.eventually.be.rejected.with.property('name', 'InvalidMessageError')
    await expect(a.handle(friend, { type: 'sync-digest', buckets: 4, updates: [] })).to.eventually.be.rejected.with.property('name', 'InvalidMessageError')
    expect(a.members()).to.have.length(0)
  })
})
