import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { Health } from '../../src/health/index.ts'
import { peerKadId } from '../../src/routing/index.ts'
import { expect } from '../utils/expect.ts'
import type { HealthComponents } from '../../src/health/index.ts'
import type { MemberRecord, MemberState, MembershipEvents } from '../../src/membership/index.ts'
import type { StoredRecord } from '../../src/storage/index.ts'
import type { PeerId } from '@libp2p/interface'

const enc = new TextEncoder()

class FakeMembership extends TypedEventEmitter<MembershipEvents> {
  records: MemberRecord[] = []
  version = 1
  incarnation = 1
  members (): MemberRecord[] { return this.records }
  set (peer: PeerId, state: MemberState, lastHeard = Date.now() - 1500): void {
    let record = this.records.find(r => r.peerId.equals(peer))
    const previous = record?.state
    if (record == null) {
      record = { peerId: peer, kadId: peerKadId(peer), state, incarnation: 1, addrs: [], lastHeard, stateSince: Date.now(), suspectedBy: new Set() }
      this.records.push(record)
    }
    record.state = state
    record.stateSince = Date.now()
    this.version++
    this.safeDispatchEvent('member:update', { detail: { record, previous } })
  }
}

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('health: safety counts from the view, the keys and anti-entropy evidence (no network)', () => {
  let a: PeerId, b: PeerId, c: PeerId, d: PeerId
  let membership: FakeMembership
  let placed: number
  let listener: ((key: Uint8Array, record: StoredRecord | undefined) => void) | undefined
  let health: Health
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5'].map(k => enc.encode(k))

  beforeEach(async () => {
    [a, b, c, d] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId()])
    membership = new FakeMembership()
    placed = 0
    // every key's preference order is a, d, b, c: its home replicas the first 3 alive or suspect
    const order = [a, d, b, c]
    const components: HealthComponents = {
      logger: defaultLogger(),
      peerId: a,
      engine: {
        entries: async function * () { for (const key of keys) yield { key, record: {} as unknown as StoredRecord } },
        onChange: fn => { listener = fn; return () => { listener = undefined } }
      },
      placement: {
        fromView: (_key, n) => {
          placed++
          return order.filter(p => p.equals(a) || ['alive', 'suspect'].includes(membership.records.find(r => r.peerId.equals(p))?.state ?? '')).slice(0, n).map(peerId => ({ peerId, kadId: peerKadId(peerId) }))
        }
      },
      membership
    }
    for (const p of [b, c, d]) membership.set(p, 'alive')
    health = new Health(components, { n: 3, r: 2, w: 2, settle: 1 })
    health.start()
    await new Promise(resolve => setImmediate(resolve))
  })

  afterEach(async () => { await health.stop() })

  it('healthy, then degraded while a home replica is suspect and dead, then healthy once a complete round after the change confirms the new one', async () => {
    expect(health.report()).to.deep.include({ verdict: 'healthy', keys: { primary: 5, underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 } })
    // nothing changed: the per-key pass is not run again
    const before = placed
    health.report()
    health.safety()
    expect(placed).to.equal(before)

    const detected: number[] = []
    const repaired: Array<{ peerId: string, seconds: number, keys: number }> = []
    health.addEventListener('health:detection', evt => { detected.push(evt.detail.seconds) })
    health.addEventListener('health:rereplication', evt => { repaired.push(evt.detail) })

    membership.set(d, 'suspect')
    const suspect = health.report()
    expect(suspect.verdict).to.equal('degraded')
    expect(suspect.keys).to.include({ underReplicated: 5, writeUnavailable: 0, singleCopy: 0 })
    expect(suspect.reasons[0]).to.deep.include({ severity: 'degraded', effect: '5 keys have 2 of 3 copies', peers: [d.toString()] })
    expect(suspect.reasons[0]?.cause).to.match(/^peer 12D3…\w{4} suspect \d+ s$/)

    membership.set(d, 'dead')
    expect(detected).to.have.length(1)
    expect(detected[0]).to.be.at.least(1.5)
    const dead = health.report()
    // c took d's place and holds nothing confirmed yet
    expect(dead.keys.underReplicated).to.equal(5)
    expect(dead.reasons[0]?.cause).to.match(/dead/)
    expect(dead.reasons[0]?.effect).to.match(/^5 keys have 2 of 3 copies; re-replication 0 %/)
    expect(dead.rereplication).to.include({ active: true, done: 0, total: 5 })

    // a round that began before the change, or one that failed a transfer, is no evidence
    health.roundDone(c.toString(), Date.now() - 60_000, true)
    health.roundDone(c.toString(), Date.now(), false)
    expect(health.safety().underReplicated).to.equal(5)
    health.roundDone(c.toString(), Date.now(), true)
    expect(health.safety()).to.deep.equal({ underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 })
    const after = health.report()
    expect(after.verdict).to.equal('healthy')
    expect(after.reasons).to.deep.equal([])
    expect(after.notes[0]?.effect).to.match(/^its 5 keys here had 3 copies again after/)
    expect(repaired).to.have.length(1)
    expect(repaired[0]).to.include({ peerId: d.toString(), keys: 5 })
    expect(repaired[0]?.seconds).to.be.at.least(0)
  })

  it('two of four gone: every key write- and read-unavailable with R = W = 3, at risk, single copy', async () => {
    await health.stop()
    health = new Health({ logger: defaultLogger(), peerId: a, engine: { entries: async function * () { for (const key of keys) yield { key, record: {} as unknown as StoredRecord } }, onChange: () => () => {} }, placement: { fromView: (_k, n) => [a, b, c, d].filter(p => p.equals(a) || membership.records.find(r => r.peerId.equals(p))?.state === 'alive').slice(0, n).map(peerId => ({ peerId, kadId: peerKadId(peerId) })) }, membership }, { n: 3, r: 3, w: 3 })
    health.start()
    await new Promise(resolve => setImmediate(resolve))
    membership.set(b, 'dead')
    membership.set(c, 'dead')
    const r = health.report()
    expect(r.keys).to.deep.equal({ primary: 5, underReplicated: 5, writeUnavailable: 5, readUnavailable: 5, singleCopy: 5 })
    // no quorum for anything this peer answers for
    expect(r.verdict).to.equal('unavailable')
    expect(r.serving).to.equal(true)
  })

  it('follows the store: a new key is counted, a deleted one forgotten', async () => {
    expect(health.report().keys.primary).to.equal(5)
    listener?.(enc.encode('k6'), {} as unknown as StoredRecord)
    expect(health.report().keys.primary).to.equal(6)
    listener?.(enc.encode('k1'), undefined)
    listener?.(enc.encode('k2'), undefined)
    expect(health.report().keys.primary).to.equal(4)
  })

  it('announces a view digest that changes with the view, and counts who shares it', async () => {
    const first = Buffer.from(health.viewDigest()).toString('hex')
    expect(first).to.match(/^[0-9a-f]{16}$/)
    expect(Buffer.from(health.viewDigest()).toString('hex')).to.equal(first)
    const [rb, rc] = membership.records
    if (rb == null || rc == null) throw new Error('no records')
    rb.viewDigest = { digest: health.viewDigest(), at: Date.now() }
    rc.viewDigest = { digest: Uint8Array.of(1, 2, 3), at: Date.now() + 1 }
    expect(health.report().view).to.deep.include({ digest: first, agreeing: 1, disagreeing: 1, unknown: 1, disagreeingPeers: [rc.peerId.toString()] })
    membership.set(d, 'suspect')
    expect(Buffer.from(health.viewDigest()).toString('hex')).to.not.equal(first)
  })
})
