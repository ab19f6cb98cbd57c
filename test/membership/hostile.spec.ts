/**
 * Forged membership from a hostile libp2p peer (issue #19 item 5): a stranger with its own
 * identity, speaking `/p2pstore/membership/1.0.0` to a peer of an open test net, says members are
 * dead or have left, sends absurd incarnations, and announces 20 000 member ids with no peer behind
 * them. Each passes when no honest member's state changes, the member table stays bounded, and
 * honest puts and gets go on.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_CLOCK_SKEW, MAX_MEMBER_CANDIDATES, MAX_PIGGYBACK_RECEIVED, MEMBERSHIP_BULK_UPDATES_BURST, MEMBERSHIP_BULK_UPDATES_RATE } from '../../src/constants.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { createHostilePeer } from '../utils/hostile.ts'
import { enc, peerIds } from '../utils/replication.ts'
import type { Peer } from '../../src/index.ts'
import type { MemberUpdate } from '../../src/protocol/index.ts'
import type { HostilePeer } from '../utils/hostile.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const dec = new TextDecoder()

describe('membership: forged news from a hostile peer', function () {
  this.timeout(240_000)
  const cleanup = useCleanup()
  let peers: Peer[]
  let hostile: HostilePeer
  /** every state change an honest peer saw about an honest member since the attack began */
  let changes: string[]

  beforeEach(async () => {
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    peers = net.peers
    hostile = await createHostilePeer()
    cleanup.add(async () => { await hostile.stop() })
    await hostile.dial(target().getMultiaddrs())
    changes = []
    const honest = new Set(peers.map(p => p.peerId.toString()))
    for (const [i, p] of peers.entries()) {
      p.membership.addEventListener('member:update', evt => {
        const { record, previous } = evt.detail
        if (honest.has(record.peerId.toString())) changes.push(`peer-${i} saw ${record.peerId.toString()} ${previous ?? 'new'} → ${record.state}`)
      })
    }
  })

  const target = (): Peer => peers[0] as Peer
  const victim = (): Peer => peers[1] as Peer
  /** what `of` holds about `about` */
  const record = (of: Peer, about: Peer): { state: string, incarnation: number } | undefined => {
    const r = of.membership.members().find(m => m.peerId.equals(about.peerId))
    return r == null ? undefined : { state: r.state, incarnation: r.incarnation }
  }
  const claim = (peerId: PeerId, state: MemberUpdate['state'], incarnation: number, addrs: Multiaddr[] = []): MemberUpdate => ({ peerId, state, incarnation, addrs })
  /** the claims about live members have been checked (the target probed them itself) */
  const checked = async (): Promise<void> => { await eventually(async () => target().membership.defences().checking === 0, 'claims checked', 30_000) }

  /** the hostile peer announces itself: a live member for a few seconds (it answers no probe), so its news is weighed, not dropped */
  const announce = async (): Promise<void> => {
    await hostile.membership(target().peerId, { type: 'ping', updates: [claim(hostile.peerId, 'alive', Date.now(), hostile.node.getMultiaddrs())] })
  }

  it('a stranger saying a member is dead or has left changes no member\'s state', async () => {
    const about = victim().peerId
    await announce()
    const other = (peers[2] as Peer).peerId
    const before = record(target(), victim())
    expect(before?.state).to.equal('alive')
    const incarnation = before?.incarnation ?? 0
    // every way it can say so: gossip, a leave naming another, a ping's piggyback, a push-pull
    expect(await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(about, 'dead', incarnation), claim(other, 'left', incarnation + 1)] })).to.not.equal(undefined)
    await hostile.membership(target().peerId, { type: 'leave', updates: [claim(about, 'left', incarnation + 5)] })
    await hostile.membership(target().peerId, { type: 'ping', updates: [claim(other, 'dead', Date.now())] })
    await hostile.membership(target().peerId, { type: 'sync-push', buckets: 1, updates: [claim(about, 'dead', incarnation + 2)] })
    // one update per member per message: the second (a suspicion) is dropped
    const dropped = target().membership.defences().dropped
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(about, 'alive', incarnation), claim(about, 'suspect', incarnation)] })
    expect(target().membership.defences().dropped).to.equal(dropped + 1)
    await checked()

    expect(changes, 'state changes of honest members').to.deep.equal([])
    for (const of of peers) {
      for (const about of peers) {
        if (of === about) continue
        expect(record(of, about)?.state, 'every honest member alive in every view').to.equal('alive')
      }
    }
    // the check's ping shows the accused the claim, and it refutes (SWIM's answer to a false claim):
    // its incarnation may rise by the refutation; its state never changes
    const after = record(target(), victim())?.incarnation ?? 0
    expect(after, 'its incarnation at most raised by a refutation').to.be.at.least(incarnation)
    await target().put(enc.encode('after-claims'), enc.encode('v'))
    expect((await victim().get(enc.encode('after-claims'))).siblings.map(s => dec.decode(s.value))).to.deep.equal(['v'])
  })

  it('an absurd incarnation is dropped, and a stranger\'s suspicion above the member\'s incarnation is capped: the member can always refute', async () => {
    await announce()
    const before = record(target(), victim())
    const incarnation = before?.incarnation ?? 0
    const dropped = target().membership.defences().dropped
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(victim().peerId, 'suspect', Number.MAX_SAFE_INTEGER)] })
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(victim().peerId, 'alive', Number.MAX_SAFE_INTEGER - 1)] })
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(victim().peerId, 'dead', Date.now() + 2 * MAX_CLOCK_SKEW)] })
    // about the target itself: it must not raise its own incarnation out of reach
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(target().peerId, 'suspect', Number.MAX_SAFE_INTEGER)] })
    expect(target().membership.defences().dropped).to.equal(dropped + 4)
    expect(record(target(), victim()), 'nothing changed').to.deep.equal(before)
    expect(changes).to.deep.equal([])
    expect(target().membership.incarnation).to.be.below(Date.now() + MAX_CLOCK_SKEW)

    // within the skew but far above what the member uses: capped at the incarnation we hold, so
    // the member's refutation (one above it) wins
    await hostile.membership(target().peerId, { type: 'gossip', updates: [claim(victim().peerId, 'suspect', incarnation + 100_000)] })
    await eventually(async () => {
      const now = record(target(), victim())
      return now?.state === 'alive' && now.incarnation > incarnation
    }, 'the member refuted', 30_000)
    expect(record(target(), victim())?.incarnation, 'refuted one above the capped suspicion').to.equal(incarnation + 1)
    expect(victim().membership.incarnation).to.equal(incarnation + 1)
  })

  it('20 000 forged member ids: a gossip of hundreds is refused; in piggyback-sized messages none enters a member table or placement, they age out, and honest puts and gets go on', async () => {
    const forged = await peerIds(20_000)
    const forgedIds = new Set(forged.map(p => p.toString()))
    // each with an address (a closed port): news without one is not even pinged
    const nowhere = multiaddr('/ip4/127.0.0.1/tcp/1')
    // a stranger speaks only for itself: it announces itself first (a member, until it fails its probes)
    await announce()
    // 200 a message is no piggyback: refused before an id is parsed, and the sender penalised
    expect(await hostile.membership(target().peerId, { type: 'gossip', updates: forged.slice(0, 200).map(p => claim(p, 'alive', Date.now(), [nowhere])) }), 'a gossip of 200').to.equal(undefined)
    expect(target().standing.score(hostile.peerId), 'the flooder\'s penalty').to.be.above(0)
    expect(target().membership.defences().candidates, 'none of its ids became a candidate').to.equal(0)
    // as many as a piggyback may carry, a message
    const answered = await hostile.flood(target().peerId, forged.map(p => claim(p, 'alive', Date.now(), [nowhere])), MAX_PIGGYBACK_RECEIVED)
    expect(answered, 'gossip messages answered').to.equal(Math.ceil(forged.length / MAX_PIGGYBACK_RECEIVED))
    const { candidates } = target().membership.defences()
    expect(candidates, 'waiting to be pinged, bounded').to.be.at.most(MAX_MEMBER_CANDIDATES)

    for (const p of peers) {
      expect(p.membership.members().filter(m => forgedIds.has(m.peerId.toString())), 'forged members in a table').to.deep.equal([])
      expect(p.membership.list().filter(m => forgedIds.has(m.peerId.toString())), 'forged members placement uses').to.deep.equal([])
    }
    for (let i = 0; i < 10; i++) {
      const key = enc.encode(`during-flood-${i}`)
      await (peers[i % 3] as Peer).put(key, enc.encode(`v${i}`))
      expect((await target().get(key)).siblings.map(s => dec.decode(s.value))).to.deep.equal([`v${i}`])
    }
    // no ping answers for them: they are forgotten (MEMBER_CANDIDATE_TTL at most)
    await eventually(async () => target().membership.defences().candidates === 0, 'forged candidates forgotten', 150_000, 500)
    // the pinged ones' addresses entered the peer store for the dial, and leave it when they do not answer
    await eventually(async () => !(await target().libp2p.peerStore.all()).some(p => forgedIds.has(p.id.toString())), 'forged ids out of the peer store', 30_000, 200)
    for (const p of peers) expect(p.membership.members().some(m => forgedIds.has(m.peerId.toString()))).to.equal(false)
    expect(changes.slice(0, 10)).to.deep.equal([])
    await victim().put(enc.encode('after-flood'), enc.encode('w'))
    expect((await target().get(enc.encode('after-flood'))).siblings.map(s => dec.decode(s.value))).to.deep.equal(['w'])
  })

  it('push-pulls of forged ids: past its budget a sender\'s push-pull is refused unread and unpenalised, and none of the ids enters a table', async () => {
    const forged = await peerIds(2_000)
    const forgedIds = new Set(forged.map(p => p.toString()))
    const nowhere = multiaddr('/ip4/127.0.0.1/tcp/1')
    await announce()
    const updates = forged.map(p => claim(p, 'alive', Date.now(), [nowhere]))
    const started = performance.now()
    let accepted = 0
    let refused = false
    // until one is refused: the budget is the burst plus the rate over the time taken
    for (let i = 0; i < 200 && !refused; i++) {
      const reply = await hostile.membership(target().peerId, { type: 'sync-push', buckets: 1, updates })
      if (reply == null) refused = true
      else accepted += updates.length
    }
    const seconds = (performance.now() - started) / 1000
    expect(refused, 'a push-pull refused').to.equal(true)
    expect(target().membership.defences().bulkRefused).to.be.at.least(1)
    expect(accepted, 'updates decoded').to.be.at.most(MEMBERSHIP_BULK_UPDATES_BURST + MEMBERSHIP_BULK_UPDATES_RATE * seconds)
    expect(target().standing.score(hostile.peerId), 'no penalty: an honest member over budget retries').to.equal(0)
    for (const p of peers) expect(p.membership.members().filter(m => forgedIds.has(m.peerId.toString())), 'forged members in a table').to.deep.equal([])
    // a ping (no push-pull) still goes through
    expect(await hostile.membership(target().peerId, { type: 'ping', updates: [] })).to.not.equal(undefined)
    expect(changes).to.deep.equal([])
  })
})
