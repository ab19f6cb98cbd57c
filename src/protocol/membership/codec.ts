import { InvalidMessageError } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { equals } from 'uint8arrays'
import { MAX_CAPACITY, MAX_PIGGYBACK_RECEIVED, MAX_SYNC_BUCKETS, MAX_ZONE_LENGTH } from '../../constants.ts'
import { decodeOrThrow } from '../decode.ts'
import * as pb from './membership.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A member's state as the wire carries it (membership's `WireMemberState` is the same four values;
 * `src/membership/members.ts` checks that they stay the same at compile time).
 */
export type WireMemberState = 'alive' | 'suspect' | 'dead' | 'left'

/** One piece of membership news, validated. */
export interface MemberUpdate {
  peerId: PeerId
  state: WireMemberState
  incarnation: number
  addrs: Multiaddr[]
  /** suspect: who raised the suspicion (kept when relayed) */
  accuser?: PeerId
  /** alive: the member's capacity weight (absent = 1, or unknown) */
  capacity?: number
  /** alive: the member's zone label (absent = none, or unknown) */
  zone?: string
  /** alive: how many keys the member held when it sent this (informational) */
  keys?: number
  /** alive, from the member itself: a digest of its member view (at most 32 bytes) */
  viewDigest?: Uint8Array
}

/** A validated membership message. */
export interface MembershipMessage {
  type: 'ping' | 'ping-req' | 'ack' | 'nack' | 'sync' | 'sync-reply' | 'leave' | 'gossip' | 'sync-digest' | 'sync-digest-reply' | 'sync-push'
  /** `ping-req`: whom to probe */
  target?: PeerId
  updates: MemberUpdate[]
  /**
   * the request's id on a long-lived stream, echoed by its response (1 … 2^32 − 1); absent or 0
   * when the stream carries this one exchange only
   */
  id?: number
  /**
   * `sync-digest`, `sync-digest-reply`, `sync-push`: how many buckets the member table is cut into
   * (a power of two, 1 … `maxBuckets`)
   */
  buckets?: number
  /** `sync-digest`: one 32-bit digest per bucket (exactly `buckets` of them) */
  digests?: Uint32Array
  /** `sync-digest-reply`: the buckets whose digests differ, ascending, each below `buckets` */
  differing?: number[]
  /** received only: updates skipped unparsed (see `MembershipDecodeOptions.keep`); never sent */
  skipped?: number
}

/** What a receiver decides about a frame before any of its updates is parsed (issue #19). */
export interface MembershipDecodeOptions {
  /** sees the message's type and update count; may throw to refuse it (a per-sender rate limit) */
  admit?(type: MembershipMessage['type'], updates: number): void
  /**
   * whether to parse the update about `peerId` (the id as sent); one it declines is skipped
   * unparsed and counted in `skipped`. @default every update is parsed
   */
  keep?(peerId: string): boolean
}

/** Limits of one membership message. */
export interface MembershipLimits {
  /**
   * most updates in one message (a join's full-state sync carries every member; at about 100 bytes
   * an update, 40 000 fill the 4 MiB frame). @default 40_000
   */
  maxUpdates: number
  /**
   * most updates in a message that is not a push-pull (ping, ping-req, ack, nack, gossip, leave):
   * an honest peer piggybacks at most MAX_PIGGYBACK (16) in 1 200 bytes, so one carrying hundreds
   * is a flood, refused before any of its member ids or addresses is parsed (issue #19).
   * @default MAX_PIGGYBACK_RECEIVED (64)
   */
  maxPiggybackUpdates: number
  /** most addresses per member. @default 16 */
  maxAddrs: number
  /** most buckets of a digest push-pull. @default MAX_SYNC_BUCKETS (4 096) */
  maxBuckets: number
}

export const DEFAULT_MEMBERSHIP_LIMITS: MembershipLimits = { maxUpdates: 40_000, maxPiggybackUpdates: MAX_PIGGYBACK_RECEIVED, maxAddrs: 16, maxBuckets: MAX_SYNC_BUCKETS }

/** The push-pull message types: the only ones that carry more than a piggyback's updates. */
const BULK = new Set<MembershipMessage['type']>(['sync', 'sync-reply', 'sync-digest', 'sync-digest-reply', 'sync-push'])

/** The message types that carry a bucket count. */
const BUCKETED = new Set<MembershipMessage['type']>(['sync-digest', 'sync-digest-reply', 'sync-push'])

const STATES: Record<pb.MemberUpdate.State, WireMemberState> = {
  [pb.MemberUpdate.State.ALIVE]: 'alive',
  [pb.MemberUpdate.State.SUSPECT]: 'suspect',
  [pb.MemberUpdate.State.DEAD]: 'dead',
  [pb.MemberUpdate.State.LEFT]: 'left'
}
const STATE_CODES: Record<WireMemberState, pb.MemberUpdate.State> = {
  alive: pb.MemberUpdate.State.ALIVE,
  suspect: pb.MemberUpdate.State.SUSPECT,
  dead: pb.MemberUpdate.State.DEAD,
  left: pb.MemberUpdate.State.LEFT
}
const TYPES: Record<pb.MembershipMessage.Type, MembershipMessage['type']> = {
  [pb.MembershipMessage.Type.PING]: 'ping',
  [pb.MembershipMessage.Type.PING_REQ]: 'ping-req',
  [pb.MembershipMessage.Type.ACK]: 'ack',
  [pb.MembershipMessage.Type.NACK]: 'nack',
  [pb.MembershipMessage.Type.SYNC]: 'sync',
  [pb.MembershipMessage.Type.SYNC_REPLY]: 'sync-reply',
  [pb.MembershipMessage.Type.LEAVE]: 'leave',
  [pb.MembershipMessage.Type.GOSSIP]: 'gossip',
  [pb.MembershipMessage.Type.SYNC_DIGEST]: 'sync-digest',
  [pb.MembershipMessage.Type.SYNC_DIGEST_REPLY]: 'sync-digest-reply',
  [pb.MembershipMessage.Type.SYNC_PUSH]: 'sync-push'
}
const TYPE_CODES: Record<MembershipMessage['type'], pb.MembershipMessage.Type> = {
  ping: pb.MembershipMessage.Type.PING,
  'ping-req': pb.MembershipMessage.Type.PING_REQ,
  ack: pb.MembershipMessage.Type.ACK,
  nack: pb.MembershipMessage.Type.NACK,
  sync: pb.MembershipMessage.Type.SYNC,
  'sync-reply': pb.MembershipMessage.Type.SYNC_REPLY,
  leave: pb.MembershipMessage.Type.LEAVE,
  gossip: pb.MembershipMessage.Type.GOSSIP,
  'sync-digest': pb.MembershipMessage.Type.SYNC_DIGEST,
  'sync-digest-reply': pb.MembershipMessage.Type.SYNC_DIGEST_REPLY,
  'sync-push': pb.MembershipMessage.Type.SYNC_PUSH
}

/** A membership message as one frame's bytes. */
export function encodeMembershipMessage (message: MembershipMessage): Uint8Array {
  return pb.MembershipMessage.encode({
    type: TYPE_CODES[message.type],
    target: message.target?.toString() ?? '',
    id: message.id ?? 0,
    updates: message.updates.map(toWire),
    buckets: message.buckets ?? 0,
    digests: message.digests == null ? new Uint8Array(0) : digestBytes(message.digests),
    differing: message.differing ?? []
  })
}

/**
 * The bytes one update adds to a message's frame (its protobuf encoding plus the field's tag and
 * length prefix): what the piggyback byte bound counts.
 */
export function memberUpdateSize (update: MemberUpdate): number {
  const length = pb.MemberUpdate.encode(toWire(update)).byteLength
  return 1 + varintLength(length) + length
}

function varintLength (n: number): number {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    bytes++
  }
  return bytes
}

function toWire (u: MemberUpdate): pb.MemberUpdate {
  return {
    peerId: u.peerId.toString(),
    state: STATE_CODES[u.state],
    incarnation: BigInt(u.incarnation),
    addrs: u.addrs.map(a => a.bytes as Uint8Array<ArrayBuffer>),
    accuser: u.accuser?.toString() ?? '',
    capacity: u.capacity ?? 0,
    zone: u.zone ?? '',
    keys: BigInt(u.keys ?? 0),
    viewDigest: (u.viewDigest ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>
  }
}

function digestBytes (digests: Uint32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4 * digests.length)
  const view = new DataView(out.buffer)
  for (let i = 0; i < digests.length; i++) view.setUint32(4 * i, digests[i] ?? 0)
  return out
}

/**
 * Decodes and validates one frame; anything malformed raises `InvalidMessageError`. See
 * `MembershipDecodeOptions` for what a receiver may refuse or skip before any update is parsed.
 */
export function decodeMembershipMessage (frame: Parameters<typeof pb.MembershipMessage.decode>[0], limits: MembershipLimits = DEFAULT_MEMBERSHIP_LIMITS, options: MembershipDecodeOptions = {}): MembershipMessage {
  const raw = decodeOrThrow(() => pb.MembershipMessage.decode(frame, {
    limits: { updates: limits.maxUpdates, updates$: { addrs: limits.maxAddrs }, differing: limits.maxBuckets }
  }), 'membership message')
  const type = TYPES[raw.type]
  if (type == null) throw new InvalidMessageError(`unknown membership message type ${raw.type}`)
  // checked before any update is parsed: a peer id and its addresses cost far more than their bytes
  if (raw.updates.length > limits.maxPiggybackUpdates && !BULK.has(type)) {
    throw new InvalidMessageError(`${type} with ${raw.updates.length} updates (at most ${limits.maxPiggybackUpdates}; only a push-pull carries more)`)
  }
  options.admit?.(type, raw.updates.length)
  const keep = options.keep
  const kept = keep == null ? raw.updates : raw.updates.filter(u => keep(u.peerId))
  let target: PeerId | undefined
  if (type === 'ping-req') {
    target = parsePeerId(raw.target)
  }
  const message: MembershipMessage = { type, target, updates: kept.map(u => decodeUpdate(u, limits)), ...(raw.id === 0 ? {} : { id: raw.id }), ...(kept.length === raw.updates.length ? {} : { skipped: raw.updates.length - kept.length }) }
  if (BUCKETED.has(type)) {
    const buckets = raw.buckets
    // eslint-disable-next-line no-bitwise
    if (buckets < 1 || buckets > limits.maxBuckets || (buckets & (buckets - 1)) !== 0) {
      throw new InvalidMessageError(`${type} with ${buckets} buckets (a power of two from 1 to ${limits.maxBuckets})`)
    }
    message.buckets = buckets
    if (type === 'sync-digest') {
      if (raw.digests.byteLength !== 4 * buckets) throw new InvalidMessageError(`sync-digest of ${raw.digests.byteLength} digest bytes for ${buckets} buckets (expected ${4 * buckets})`)
      const view = new DataView(raw.digests.buffer, raw.digests.byteOffset, raw.digests.byteLength)
      const digests = new Uint32Array(buckets)
      for (let i = 0; i < buckets; i++) digests[i] = view.getUint32(4 * i)
      message.digests = digests
    }
    if (type === 'sync-digest-reply') {
      let last = -1
      for (const b of raw.differing) {
        if (b >= buckets || b <= last) throw new InvalidMessageError(`sync-digest-reply names bucket ${b} (ascending, below ${buckets})`)
        last = b
      }
      message.differing = raw.differing
    }
  }
  if (type !== 'sync-digest' && raw.digests.byteLength > 0) throw new InvalidMessageError(`digests on a ${type}`)
  if (type !== 'sync-digest-reply' && raw.differing.length > 0) throw new InvalidMessageError(`differing buckets on a ${type}`)
  return message
}

function decodeUpdate (u: pb.MemberUpdate, limits: MembershipLimits): MemberUpdate {
  const state = STATES[u.state]
  if (state == null) throw new InvalidMessageError(`unknown member state ${u.state}`)
  if (u.incarnation > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidMessageError(`incarnation ${u.incarnation} out of range`)
  if (u.addrs.length > limits.maxAddrs) throw new InvalidMessageError(`${u.addrs.length} addresses for one member (max ${limits.maxAddrs})`)
  const addrs = u.addrs.map(bytes => {
    let addr: Multiaddr
    let exact: boolean
    try {
      addr = multiaddr(bytes)
      // a truncated multiaddr parses by reading past its end (into the rest of the frame) and keeps
      // the short bytes: only one whose text encodes back to exactly its bytes is taken
      exact = equals(multiaddr(addr.toString()).bytes, bytes)
    } catch {
      throw new InvalidMessageError('malformed multiaddr in a member update')
    }
    if (!exact) throw new InvalidMessageError('truncated or padded multiaddr in a member update')
    return addr
  })
  if (!Number.isFinite(u.capacity) || u.capacity < 0 || u.capacity > MAX_CAPACITY) throw new InvalidMessageError(`capacity ${u.capacity} out of range (0 < capacity ≤ ${MAX_CAPACITY})`)
  if (u.viewDigest.byteLength > 32) throw new InvalidMessageError(`view digest of ${u.viewDigest.byteLength} bytes (max 32)`)
  if (u.zone.length > MAX_ZONE_LENGTH) throw new InvalidMessageError(`zone label of ${u.zone.length} characters (max ${MAX_ZONE_LENGTH})`)
  return {
    peerId: parsePeerId(u.peerId),
    state,
    incarnation: Number(u.incarnation),
    addrs,
    accuser: u.accuser === '' ? undefined : parsePeerId(u.accuser),
    capacity: u.capacity === 0 ? undefined : u.capacity,
    zone: u.zone === '' ? undefined : u.zone,
    keys: u.keys === 0n || u.keys > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(u.keys),
    viewDigest: u.viewDigest.byteLength === 0 ? undefined : u.viewDigest
  }
}

function parsePeerId (text: string): PeerId {
  if (text.length === 0 || text.length > 128) throw new InvalidMessageError(`peer id of ${text.length} characters`)
  try {
    return peerIdFromString(text)
  } catch {
    throw new InvalidMessageError(`"${text.slice(0, 60)}" is not a peer id`)
  }
}
