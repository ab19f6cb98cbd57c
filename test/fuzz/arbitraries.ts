/**
 * fast-check arbitraries of every message p2pstore decodes, valid by construction: the seeds the
 * mutator starts from and the values the round-trip properties encode and decode.
 */

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import { MAX_ACTOR_BYTES, MAX_CAPACITY, MAX_CONTEXT_ENTRIES, MAX_N, MAX_SCAN_PAGE, MAX_ZONE_LENGTH } from '../../src/constants.ts'
import type { CausalContext, Dot, Sibling, SiblingSet } from '../../src/clock/index.ts'
import type { KvRequest, KvResponse, MemberUpdate, MembershipMessage, WireRosterBody, WireSignedRoster } from '../../src/protocol/index.ts'
import type { StoredRecord } from '../../src/storage/index.ts'
import type { PeerId } from '@libp2p/interface'

/** A few real peer ids (Ed25519), made once: peer ids are checked, so random text would not do. */
export const PEERS: PeerId[] = await Promise.all(Array.from({ length: 6 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

export const peerIdArb: fc.Arbitrary<PeerId> = fc.constantFrom(...PEERS)

/** Counters and other uint64s: small ones, the 2^31 … 2^32−1 band protons once got wrong, and up to 2^53−1. */
export const counterArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 2 ** 31 - 2, max: 2 ** 32 + 1 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
)

export const actorArb: fc.Arbitrary<string> = fc.uint8Array({ minLength: 1, maxLength: MAX_ACTOR_BYTES }).map(hex)

const dotArb: fc.Arbitrary<Dot> = fc.record({ actor: actorArb, counter: counterArb })

export const contextArb: fc.Arbitrary<CausalContext> = fc.record({
  vv: fc.uniqueArray(fc.tuple(actorArb, counterArb), { selector: ([actor]) => actor, maxLength: 6 }).map(entries => new Map(entries)),
  cloud: fc.array(dotArb, { maxLength: 4 })
}).filter(c => c.vv.size + c.cloud.length <= MAX_CONTEXT_ENTRIES)

/** A sibling set that keeps the container invariant: every sibling's dot is in the context, once. */
export const siblingSetArb: fc.Arbitrary<SiblingSet> = fc.record({
  context: contextArb,
  picks: fc.array(fc.record({
    fromCloud: fc.boolean(),
    index: fc.nat(),
    back: fc.nat({ max: 3 }),
    value: fc.uint8Array({ maxLength: 24 }),
    timestamp: fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    deleted: fc.boolean()
  }), { maxLength: 4 })
}).map(({ context, picks }) => {
  const seen = new Set<string>()
  const vv = [...context.vv]
  const siblings: Sibling[] = []
  for (const p of picks) {
    let dot: Dot | undefined
    if (p.fromCloud && context.cloud.length > 0) {
      dot = context.cloud[p.index % context.cloud.length]
    } else if (vv.length > 0) {
      const [actor, counter] = vv[p.index % vv.length] ?? ['', 0]
      dot = { actor, counter: Math.max(1, counter - p.back) }
    }
    if (dot == null || seen.has(`${dot.actor}:${dot.counter}`)) continue
    seen.add(`${dot.actor}:${dot.counter}`)
    siblings.push({ dot: { ...dot }, value: p.deleted ? new Uint8Array(0) : p.value, timestamp: p.timestamp, deleted: p.deleted })
  }
  return { siblings, context }
})

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 48 })
const idArb = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 2n ** 31n - 2n, max: 2n ** 32n + 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
const conditionArb = fc.constantFrom('if-none-match' as const, 'if-match' as const)
const hintArb = fc.array(peerIdArb.map(p => p.toString()), { minLength: 1, maxLength: 3 })

/** A SCAN's range: a prefix (maybe empty), maybe a start key, a limit in range. */
const scanRangeArb = fc.record({
  prefix: fc.uint8Array({ maxLength: 16 }),
  after: fc.option(keyArb, { nil: undefined }),
  limit: fc.integer({ min: 1, max: MAX_SCAN_PAGE }),
  values: fc.boolean()
})

/** A SCAN answer: 1 to 6 entries in strictly increasing key order, each with a valid sibling set. */
export const scanAnswerArb: fc.Arbitrary<{ id: bigint, response: KvResponse }> = fc.record({
  id: idArb,
  entries: fc.uniqueArray(fc.record({ key: keyArb, state: siblingSetArb }), { minLength: 1, maxLength: 6, selector: e => Buffer.from(e.key).toString('hex') }),
  more: fc.boolean()
}).map(({ id, entries, more }) => ({
  id,
  response: { status: 'ok' as const, acks: 0, leaves: [], digests: [], entries: [...entries].sort((a, b) => Buffer.compare(a.key, b.key)), more }
}))

export const kvRequestArb: fc.Arbitrary<{ id: bigint, request: KvRequest }> = fc.record({
  id: idArb,
  request: fc.oneof(
    fc.record({ type: fc.constant('read' as const), key: keyArb }),
    fc.record({ type: fc.constant('store' as const), key: keyArb, state: siblingSetArb, hintFor: fc.option(hintArb, { nil: undefined }) }),
    // a coordinator's conditional store (never hinted)
    fc.record({ type: fc.constant('store' as const), key: keyArb, state: siblingSetArb, hintFor: fc.constant(undefined), condition: conditionArb }),
    fc.record({ type: fc.constant('purge' as const), key: keyArb, state: siblingSetArb }),
    fc.record({ type: fc.constant('summary' as const) }),
    fc.record({ type: fc.constant('digests' as const), buckets: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }) }),
    fc.record({ type: fc.constant('scan' as const), scan: scanRangeArb }),
    fc.record({
      type: fc.constant('coordinate' as const),
      key: keyArb,
      put: fc.record({
        deleted: fc.boolean(),
        value: fc.uint8Array({ maxLength: 24 }),
        context: contextArb,
        n: fc.integer({ min: 1, max: MAX_N }),
        w: fc.integer({ min: 1, max: MAX_N }),
        strict: fc.boolean(),
        condition: fc.option(conditionArb, { nil: undefined })
      }).map(({ condition, ...put }) => ({ ...put, value: put.deleted ? new Uint8Array(0) : put.value, w: Math.min(put.w, put.n), ...(condition == null ? {} : { condition }) }))
    })
  )
})

export const kvResponseArb: fc.Arbitrary<{ id: bigint, response: KvResponse }> = fc.record({
  id: idArb,
  response: fc.oneof(
    fc.record({
      status: fc.constant('ok' as const),
      state: fc.option(siblingSetArb, { nil: undefined }),
      context: fc.option(contextArb, { nil: undefined }),
      acks: fc.integer({ min: 0, max: MAX_N }),
      leaves: fc.array(fc.uint8Array({ minLength: 1, maxLength: 32 }), { maxLength: 4 }),
      digests: fc.array(fc.record({ key: keyArb, hash: fc.uint8Array({ maxLength: 32 }) }), { maxLength: 3 })
    }),
    fc.record({ status: fc.constant('not-found' as const) }),
    fc.record({ status: fc.constant('error' as const), errorName: fc.string({ maxLength: 40 }), errorMessage: fc.string({ maxLength: 80 }) })
  )
})

const ADDRS = ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4002', '/dns4/example.org/tcp/443/tls/ws', '/ip4/10.0.0.1/udp/4001/quic-v1', `/ip4/192.0.2.7/tcp/4700/p2p/${PEERS[0]?.toString() ?? ''}`]

const updateArb: fc.Arbitrary<MemberUpdate> = fc.record({
  peerId: peerIdArb,
  state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const),
  incarnation: fc.oneof(fc.nat(), counterArb),
  addrs: fc.array(fc.constantFrom(...ADDRS).map(a => multiaddr(a)), { maxLength: 3 }),
  accuser: fc.option(peerIdArb, { nil: undefined }),
  capacity: fc.option(fc.double({ min: 0.01, max: MAX_CAPACITY, noNaN: true }), { nil: undefined }),
  zone: fc.option(fc.string({ minLength: 1, maxLength: MAX_ZONE_LENGTH }), { nil: undefined }),
  keys: fc.option(counterArb, { nil: undefined }),
  viewDigest: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined })
})

export const membershipArb: fc.Arbitrary<MembershipMessage> = fc.record({
  type: fc.constantFrom<MembershipMessage['type']>('ping', 'ping-req', 'ack', 'nack', 'sync', 'sync-reply', 'leave', 'gossip', 'sync-digest', 'sync-digest-reply', 'sync-push'),
  target: peerIdArb,
  updates: fc.array(updateArb, { maxLength: 3 }),
  id: fc.option(fc.integer({ min: 1, max: 2 ** 32 - 1 }), { nil: undefined }),
  log2Buckets: fc.integer({ min: 0, max: 5 }),
  digestSeed: fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 32, maxLength: 32 }),
  differing: fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { maxLength: 5 })
}).map(({ type, target, updates, id, log2Buckets, digestSeed, differing }) => {
  const message: MembershipMessage = { type, updates, ...(id === undefined ? {} : { id }) }
  if (type === 'ping-req') message.target = target
  if (type === 'sync-digest' || type === 'sync-digest-reply' || type === 'sync-push') {
    const buckets = 2 ** log2Buckets
    message.buckets = buckets
    if (type === 'sync-digest') message.digests = Uint32Array.from(digestSeed.slice(0, buckets))
    if (type === 'sync-digest-reply') message.differing = differing.filter(b => b < buckets).sort((a, b) => a - b)
  }
  return message
})

export const rosterBodyArb: fc.Arbitrary<WireRosterBody> = fc.record({
  network: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  sequence: fc.oneof(fc.bigInt({ min: 1n, max: 100n }), fc.bigInt({ min: 1n, max: 2n ** 64n - 1n })),
  members: fc.array(fc.record({ peerId: peerIdArb, label: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }) }), { maxLength: 4 }),
  issuedAt: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 + 1 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
})

export const signedRosterArb: fc.Arbitrary<WireSignedRoster> = fc.record({
  body: fc.uint8Array({ minLength: 1, maxLength: 80 }),
  signature: fc.uint8Array({ minLength: 1, maxLength: 64 })
})

export const recordArb: fc.Arbitrary<StoredRecord> = fc.record({
  set: siblingSetArb,
  actor: fc.option(actorArb, { nil: undefined }),
  hintFor: fc.option(hintArb, { nil: undefined })
})

/** A bootstrap list's text: multiaddrs, comments and blank lines. */
export const bootstrapTextArb: fc.Arbitrary<string> = fc.array(fc.oneof(
  fc.constantFrom(...ADDRS),
  fc.constant('# a comment'),
  fc.constant(''),
  fc.constantFrom(...ADDRS).map(a => `  ${a}  # trailing`)
), { maxLength: 6 }).map(lines => lines.join('\n'))
