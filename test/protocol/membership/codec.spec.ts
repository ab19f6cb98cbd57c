import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MAX_PIGGYBACK_RECEIVED } from '../../../src/constants.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../../../src/protocol/index.ts'
import * as pb from '../../../src/protocol/membership/membership.ts'
import { expect } from '../../utils/expect.ts'

describe('protocol/membership codec', () => {
  it('carries a member\'s capacity, zone and key count; absent ones stay absent', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const decoded = decodeMembershipMessage(encodeMembershipMessage({
      type: 'sync',
      updates: [
        { peerId: a, state: 'alive', incarnation: 3, addrs: [], capacity: 2.5, zone: 'rack-1', keys: 42 },
        { peerId: b, state: 'alive', incarnation: 4, addrs: [] }
      ]
    }))
    expect(decoded.updates[0]).to.include({ capacity: 2.5, zone: 'rack-1', keys: 42 })
    expect(decoded.updates[1]?.capacity).to.equal(undefined)
    expect(decoded.updates[1]?.zone).to.equal(undefined)
    expect(decoded.updates[1]?.keys).to.equal(undefined)
  })

  it('carries a request id for long-lived streams; a message without one decodes without one (one exchange per stream)', () => {
    expect(decodeMembershipMessage(encodeMembershipMessage({ type: 'ping', updates: [], id: 2 ** 32 - 1 })).id).to.equal(2 ** 32 - 1)
    expect(decodeMembershipMessage(encodeMembershipMessage({ type: 'ack', updates: [], id: 7 })).id).to.equal(7)
    expect(decodeMembershipMessage(encodeMembershipMessage({ type: 'ack', updates: [] }))).to.not.have.property('id')
  })

  it('refuses a capacity out of range or an overlong zone as InvalidMessageError', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const frame = (u: Partial<pb.MemberUpdate>): Uint8Array => pb.MembershipMessage.encode({
      type: pb.MembershipMessage.Type.SYNC,
      target: '',
      updates: [{ peerId: a.toString(), state: pb.MemberUpdate.State.ALIVE, incarnation: 1n, addrs: [], accuser: '', capacity: 0, zone: '', keys: 0n, viewDigest: new Uint8Array(0), ...u }]
    })
    expect(() => decodeMembershipMessage(frame({ capacity: -1 }))).to.throw().with.property('name', 'InvalidMessageError')
    expect(() => decodeMembershipMessage(frame({ capacity: Number.NaN }))).to.throw().with.property('name', 'InvalidMessageError')
    expect(() => decodeMembershipMessage(frame({ capacity: 1e9 }))).to.throw().with.property('name', 'InvalidMessageError')
    expect(() => decodeMembershipMessage(frame({ zone: 'z'.repeat(65) }))).to.throw().with.property('name', 'InvalidMessageError')
    expect(() => decodeMembershipMessage(frame({ viewDigest: new Uint8Array(33) }))).to.throw().with.property('name', 'InvalidMessageError')
    expect(decodeMembershipMessage(frame({ viewDigest: Uint8Array.of(1, 2) })).updates[0]?.viewDigest).to.deep.equal(Uint8Array.of(1, 2))
  })

  it('refuses a ping, ack, gossip or leave with more updates than a piggyback before parsing any member id; a push-pull carries more (issue #19)', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    // ids that are no peer ids: parsing one would raise another error
    const frame = (type: pb.MembershipMessage.Type, n: number, peerId = 'not-a-peer-id'): Uint8Array => pb.MembershipMessage.encode({
      type,
      target: '',
      updates: Array.from({ length: n }, () => ({ peerId, state: pb.MemberUpdate.State.ALIVE, incarnation: 1n, addrs: [], accuser: '', capacity: 0, zone: '', keys: 0n, viewDigest: new Uint8Array(0) })),
      id: 1,
      buckets: 1,
      digests: new Uint8Array(0),
      differing: []
    })
    const T = pb.MembershipMessage.Type
    for (const type of [T.PING, T.ACK, T.NACK, T.GOSSIP, T.LEAVE]) {
      expect(() => decodeMembershipMessage(frame(type, MAX_PIGGYBACK_RECEIVED + 1)), type).to.throw(/only a push-pull carries more/).with.property('name', 'InvalidMessageError')
      expect(decodeMembershipMessage(frame(type, MAX_PIGGYBACK_RECEIVED, a.toString())).updates, type).to.have.length(MAX_PIGGYBACK_RECEIVED)
    }
    for (const type of [T.SYNC, T.SYNC_REPLY, T.SYNC_PUSH]) {
      expect(decodeMembershipMessage(frame(type, 200, a.toString())).updates, type).to.have.length(200)
    }
  })

  describe('digest push-pull and gossip frames', () => {
    const raw = (m: Partial<pb.MembershipMessage>): Uint8Array => pb.MembershipMessage.encode({
      type: pb.MembershipMessage.Type.SYNC_DIGEST, target: '', updates: [], id: 1, buckets: 4, digests: new Uint8Array(16), differing: [], ...m
    })

    it('round-trips digests, differing buckets and gossip', async () => {
      const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const digests = Uint32Array.from([0, 1, 0xdeadbeef, 2 ** 32 - 1])
      const d = decodeMembershipMessage(encodeMembershipMessage({ type: 'sync-digest', buckets: 4, digests, updates: [], id: 3 }))
      expect(d).to.include({ type: 'sync-digest', buckets: 4, id: 3 })
      expect([...d.digests ?? []]).to.deep.equal([...digests])
      const r = decodeMembershipMessage(encodeMembershipMessage({ type: 'sync-digest-reply', buckets: 4, differing: [0, 3], updates: [{ peerId: a, state: 'dead', incarnation: 2, addrs: [] }] }))
      expect(r.differing).to.deep.equal([0, 3])
      expect(r.updates).to.have.length(1)
      expect(decodeMembershipMessage(encodeMembershipMessage({ type: 'sync-push', buckets: 1, updates: [] })).buckets).to.equal(1)
      expect(decodeMembershipMessage(encodeMembershipMessage({ type: 'gossip', updates: [{ peerId: a, state: 'alive', incarnation: 1, addrs: [] }] })).type).to.equal('gossip')
    })

    it('refuses a bucket count that is 0, not a power of two or over the limit, as InvalidMessageError', () => {
      for (const buckets of [0, 3, 8192]) {
        expect(() => decodeMembershipMessage(raw({ buckets, digests: new Uint8Array(4 * buckets) })), `${buckets} buckets`).to.throw(/buckets/).with.property('name', 'InvalidMessageError')
      }
      expect(() => decodeMembershipMessage(raw({ type: pb.MembershipMessage.Type.SYNC_PUSH, buckets: 0, digests: new Uint8Array(0) }))).to.throw().with.property('name', 'InvalidMessageError')
    })

    it('refuses digests that are not exactly 4 bytes a bucket, or digests on another type, as InvalidMessageError', () => {
      expect(() => decodeMembershipMessage(raw({ digests: new Uint8Array(15) }))).to.throw(/digest bytes/).with.property('name', 'InvalidMessageError')
      expect(() => decodeMembershipMessage(raw({ digests: new Uint8Array(20) }))).to.throw(/digest bytes/).with.property('name', 'InvalidMessageError')
      expect(() => decodeMembershipMessage(raw({ type: pb.MembershipMessage.Type.PING, buckets: 0, digests: new Uint8Array(4) }))).to.throw(/digests on a ping/).with.property('name', 'InvalidMessageError')
    })

    it('refuses differing buckets out of range, unsorted, repeated, over the limit or on another type, as InvalidMessageError', () => {
      const reply = (differing: number[]): Uint8Array => raw({ type: pb.MembershipMessage.Type.SYNC_DIGEST_REPLY, digests: new Uint8Array(0), differing })
      expect(decodeMembershipMessage(reply([1, 2])).differing).to.deep.equal([1, 2])
      for (const differing of [[4], [2, 1], [1, 1]]) {
        expect(() => decodeMembershipMessage(reply(differing)), differing.join(',')).to.throw(/names bucket/).with.property('name', 'InvalidMessageError')
      }
      expect(() => decodeMembershipMessage(reply(Array.from({ length: 4097 }, (_, i) => i)))).to.throw().with.property('name', 'InvalidMessageError')
      expect(() => decodeMembershipMessage(raw({ type: pb.MembershipMessage.Type.GOSSIP, buckets: 0, digests: new Uint8Array(0), differing: [1] }))).to.throw(/differing buckets on a gossip/).with.property('name', 'InvalidMessageError')
    })

    it('refuses truncated new frames as InvalidMessageError', () => {
      const frame = raw({})
      for (let cut = 1; cut < frame.byteLength; cut++) {
        expect(() => decodeMembershipMessage(frame.subarray(0, cut)), `cut at ${cut}`).to.throw().with.property('name', 'InvalidMessageError')
      }
    })
  })
})
