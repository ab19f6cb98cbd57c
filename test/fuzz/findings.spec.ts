/**
 * What fuzzing found, each pinned by a test of its own (SECURITY.md, "Fuzzing"): decoders that let
 * an untyped error out, read past an input's end, or took a value they cannot represent.
 */

import { createHmac, hkdfSync } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { resolveDaemonConfig } from '../../src/config.ts'
import { parseConfigText } from '../../src/datadir/index.ts'
import { DEFAULT_KV_LIMITS, decodeMembershipMessage, decodeRequest, decodeRosterBody, decodeSiblingSet, encodeRequest, encodeSiblingSet } from '../../src/protocol/index.ts'
import * as membershipPb from '../../src/protocol/membership/membership.ts'
import * as rosterPb from '../../src/protocol/roster/roster.ts'
import { Keyring } from '../../src/storage/encryption.ts'
import { decodeRecord, encodeRecord } from '../../src/storage/record-codec.ts'
import { expect } from '../utils/expect.ts'
import { PEERS } from './arbitraries.ts'
import type { SiblingSet } from '../../src/clock/index.ts'

const peer = PEERS[0]?.toString() ?? ''

function setWithCounter (counter: number): SiblingSet {
  return {
    siblings: [{ dot: { actor: 'aa', counter }, value: Uint8Array.of(1), timestamp: counter, deleted: false }],
    context: { vv: new Map([['aa', counter]]), cloud: [] }
  }
}

function membershipFrame (addrs: Uint8Array[]): Uint8Array {
  return membershipPb.MembershipMessage.encode({
    type: membershipPb.MembershipMessage.Type.GOSSIP,
    target: '',
    id: 0,
    buckets: 0,
    digests: new Uint8Array(0),
    differing: [],
    updates: [{
      peerId: peer,
      state: membershipPb.MemberUpdate.State.ALIVE,
      incarnation: 1n,
      addrs: addrs as Array<Uint8Array<ArrayBuffer>>,
      accuser: '',
      capacity: 0,
      zone: '',
      keys: 0n,
      viewDigest: new Uint8Array(0)
    }]
  })
}

describe('fuzz findings, fixed', () => {
  it('uint64 values from 2^31 to 2^32 − 1 encode and decode (protons-runtime 7.1.2 wrote them wrongly)', () => {
    for (const counter of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 5, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const back = decodeSiblingSet(encodeSiblingSet(setWithCounter(counter)))
      expect(back.siblings[0]?.dot.counter, String(counter)).to.equal(counter)
      expect(back.siblings[0]?.timestamp).to.equal(counter)
      expect(back.context.vv.get('aa')).to.equal(counter)
    }
    const { id } = decodeRequest(encodeRequest(2n ** 31n + 1n, { type: 'read', key: Uint8Array.of(1) }))
    expect(id).to.equal(2n ** 31n + 1n)
  })

  it('a truncated multiaddr in a member update is refused, not read past its end', () => {
    const whole = multiaddr('/ip4/127.0.0.1/tcp/4001').bytes
    expect(decodeMembershipMessage(membershipFrame([whole])).updates[0]?.addrs.map(String)).to.deep.equal(['/ip4/127.0.0.1/tcp/4001'])
    for (const cut of [6, whole.byteLength - 1]) {
      expect(() => decodeMembershipMessage(membershipFrame([whole.subarray(0, cut), whole])), `cut at ${cut}`)
        .to.throw().with.property('name', 'InvalidMessageError')
    }
    const dns = multiaddr('/dns4/example.org/tcp/443').bytes
    expect(() => decodeMembershipMessage(membershipFrame([dns.subarray(0, 8)]))).to.throw().with.property('name', 'InvalidMessageError')
  })

  it('hint owners must be printable ASCII, in a STORE request and in a stored record', () => {
    const state = setWithCounter(1)
    for (const owner of ['peer with space', 'line\nbreak', 'nul\u0000', 'ünïcode', '\u001b[31mred']) {
      const request = encodeRequest(1n, { type: 'store', key: Uint8Array.of(1), state, hintFor: [owner] })
      expect(() => decodeRequest(request), JSON.stringify(owner)).to.throw().with.property('name', 'InvalidMessageError')
      const record = encodeRecord({ set: state, hintFor: [owner] })
      expect(() => decodeRecord(record, DEFAULT_KV_LIMITS), JSON.stringify(owner)).to.throw().with.property('name', 'InvalidMessageError')
    }
    expect(decodeRequest(encodeRequest(1n, { type: 'store', key: Uint8Array.of(1), state, hintFor: [peer] })).request).to.have.property('hintFor').that.deep.equals([peer])
    expect(decodeRecord(encodeRecord({ set: state, hintFor: [peer] }), DEFAULT_KV_LIMITS).hintFor).to.deep.equal([peer])
  })

  it('a roster issuedAt beyond 2^53 − 1 is refused (it cannot be represented exactly)', () => {
    const body = (issuedAt: bigint): Uint8Array => rosterPb.RosterBody.encode({ network: Uint8Array.of(1), sequence: 1n, members: [{ peerId: peer, label: '' }], issuedAt })
    expect(decodeRosterBody(body(BigInt(Number.MAX_SAFE_INTEGER))).issuedAt).to.equal(Number.MAX_SAFE_INTEGER)
    expect(() => decodeRosterBody(body(2n ** 53n))).to.throw().with.property('name', 'InvalidMessageError')
    expect(() => decodeRosterBody(body(2n ** 64n - 1n))).to.throw().with.property('name', 'InvalidMessageError')
  })

  it('a keyring whose authenticated body is JSON null, a number or a list raises IntegrityError', () => {
    const kek = new Uint8Array(32).fill(9)
    const macKey = Buffer.from(hkdfSync('sha256', kek, new Uint8Array(0), 'p2pstore/keyring-mac/v1', 32))
    for (const body of ['null', '7', '[]', '"text"']) {
      const mac = createHmac('sha256', macKey).update(body).digest('base64')
      const stored = new TextEncoder().encode(JSON.stringify({ body, mac }))
      expect(() => Keyring.load(stored, { key: kek }, 'test', async () => {}), body).to.throw().with.property('name', 'IntegrityError')
    }
    for (const stored of ['null', '0', '"x"']) {
      expect(() => Keyring.load(new TextEncoder().encode(stored), { key: kek }, 'test', async () => {}), stored).to.throw().with.property('name', 'IntegrityError')
    }
  })

  it('a config.json value nested 100 000 levels deep raises InvalidConfigurationError quoting it briefly', () => {
    const depth = 100_000
    const file = parseConfigText(`{"n":${'['.repeat(depth)}1${']'.repeat(depth)}}`, 'config.json')
    expect(() => resolveDaemonConfig({}, file)).to.throw(/^n: expected a whole number from 1 to 16, got \[\[\[…\]\]\]$/).with.property('name', 'InvalidConfigurationError')
    const long = parseConfigText(JSON.stringify({ profile: 'x'.repeat(10_000) }), 'config.json')
    expect(() => resolveDaemonConfig({}, long)).to.throw(/^profile: expected one of .*, got "x{100}…"$/).with.property('name', 'InvalidConfigurationError')
    expect(() => resolveDaemonConfig({}, { n: Array.from({ length: 1e5 }, (_, i) => i) })).to.throw(/got \[0,1,2,3,4,…\]$/)
  })
})
