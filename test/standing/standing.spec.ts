import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerMetrics } from '../../src/metrics/index.ts'
import { Standing, duration } from '../../src/standing/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Ban, StandingInit } from '../../src/standing/index.ts'
import type { PeerId } from '@libp2p/interface'

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const minute = 60_000

describe('standing: penalties and bans', () => {
  const cleanup = useCleanup()
  let clock = 0
  const hungUp: string[] = []

  function standing (init: Partial<StandingInit> = {}, metrics?: PeerMetrics): Standing {
    clock = 1_000_000
    hungUp.length = 0
    const s = new Standing({
      logger: defaultLogger(),
      metrics,
      network: { hangUp: async peer => { hungUp.push(peer.toString()) } }
    }, { halfLife: 10 * minute, banThreshold: 100, banDuration: 10 * minute, now: () => clock, ...init })
    s.start()
    cleanup.add(() => { s.stop() })
    return s
  }

  it('points halve every half-life', async () => {
    const s = standing()
    const p = await newPeer()
    s.penalise(p, 'malformed-frame', 40)
    expect(s.score(p)).to.equal(40)
    clock += 10 * minute
    expect(s.score(p)).to.be.closeTo(20, 1e-9)
    clock += 20 * minute
    expect(s.score(p)).to.be.closeTo(5, 1e-9)
    // new points add to what is left
    s.penalise(p, 'malformed-frame', 10)
    expect(s.score(p)).to.be.closeTo(15, 1e-9)
  })

  it('bans at the threshold: one event with its log line, hangs up, the gater refuses both ways', async () => {
    const metrics = new PeerMetrics({ peerId: 'test' })
    const s = standing({}, metrics)
    const [p, q] = [await newPeer(), await newPeer()]
    const bans: Array<Ban & { line: string }> = []
    s.addEventListener('peer:banned', ({ detail }) => { bans.push(detail) })
    for (let i = 0; i < 9; i++) s.penalise(p, 'malformed-frame', 10)
    expect(s.isBanned(p), 'banned at 90 points').to.equal(false)
    s.penalise(q, 'malformed-frame', 10)
    s.penalise(p, 'malformed-frame', 10)
    expect(s.isBanned(p)).to.equal(true)
    expect(s.isBanned(q)).to.equal(false)
    // more garbage from a banned peer makes no second ban
    s.penalise(p, 'malformed-frame', 10)
    expect(bans).to.have.length(1)
    expect(bans[0]?.line).to.equal(`p2pstore: banned peer ${p.toString()} for 10 min: malformed frames (score 100)`)
    expect(bans[0]?.until).to.equal(clock + 10 * minute)
    await eventually(async () => hungUp.includes(p.toString()), 'the banned peer hung up')
    const gater = s.gater()
    expect(await gater.denyDialPeer?.(p)).to.equal(true)
    expect(await gater.denyInboundEncryptedConnection?.(p, undefined as never)).to.equal(true)
    expect(await gater.denyOutboundEncryptedConnection?.(p, undefined as never)).to.equal(true)
    expect(await gater.denyDialPeer?.(q)).to.equal(false)
    expect(s.bans().map(b => b.peerId)).to.deep.equal([p.toString()])
    const text = await metrics.registry.metrics()
    expect(text).to.match(/p2pstore_peer_penalties_total\{reason="malformed-frame"\} 120/)
    expect(text).to.match(/p2pstore_peers_banned 1/)
    metrics.close()
  })

  it('a ban expires by its timer, with one unban line, and the peer starts afresh', async () => {
    const s = new Standing({ logger: defaultLogger(), network: { hangUp: async () => {} } }, { halfLife: 10 * minute, banThreshold: 25, banDuration: 50 })
    s.start()
    cleanup.add(() => { s.stop() })
    const p = await newPeer()
    const unbans: string[] = []
    s.addEventListener('peer:unbanned', ({ detail }) => { unbans.push(detail.line) })
    for (let i = 0; i < 3; i++) s.penalise(p, 'oversized-frame', 10)
    expect(s.isBanned(p)).to.equal(true)
    await eventually(async () => !s.isBanned(p), 'the ban lifted')
    expect(unbans).to.deep.equal([`p2pstore: unbanned peer ${p.toString()}`])
    expect(s.score(p)).to.equal(0)
    // the real clock decays points between calls: 10 + 10 is just under 20, well under 25
    s.penalise(p, 'oversized-frame', 10)
    expect(s.isBanned(p)).to.equal(false)
  })

  it('a ban whose timer is late is over once its time has passed', async () => {
    const s = standing({ banThreshold: 10 })
    const p = await newPeer()
    s.penalise(p, 'slow-reader', 10)
    expect(s.isBanned(p)).to.equal(true)
    clock += 10 * minute
    expect(s.isBanned(p)).to.equal(false)
    expect(s.bans()).to.deep.equal([])
  })

  it('keeps at most maxPeers scores, forgetting the lowest, and at most maxPeers bans', async () => {
    const s = standing({ maxPeers: 4, banThreshold: 50 })
    const peers = await Promise.all(Array.from({ length: 6 }, newPeer))
    peers.forEach((p, i) => { s.penalise(p, 'malformed-frame', 10 + i) })
    expect(s.scored).to.equal(4)
    // the two lowest (10 and 11 points) were forgotten
    expect(peers.map(p => s.score(p))).to.deep.equal([0, 0, 12, 13, 14, 15])
    for (const p of peers) s.penalise(p, 'malformed-frame', 50)
    expect(s.bans()).to.have.length(4)
    expect(peers.slice(2).every(p => s.isBanned(p))).to.equal(true)
  })

  it('stop() lifts every ban and clears its timers', async () => {
    const s = standing({ banThreshold: 10 })
    const p = await newPeer()
    s.penalise(p, 'malformed-frame', 10)
    s.stop()
    expect(s.isBanned(p)).to.equal(false)
    expect(s.bans()).to.deep.equal([])
  })

  it('writes durations as the log line does', () => {
    expect([duration(600_000), duration(30_000), duration(3_600_000), duration(250)]).to.deep.equal(['10 min', '30 s', '1 h', '250 ms'])
  })
})
