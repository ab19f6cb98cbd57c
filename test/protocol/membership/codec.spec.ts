import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
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
})
