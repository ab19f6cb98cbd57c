import { InvalidMessageError } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeOrThrow } from '../decode.ts'
import * as pb from './roster.ts'
import type { PeerId } from '@libp2p/interface'

/** Most members one roster may name. */
export const MAX_ROSTER_MEMBERS = 10_000

/** Most bytes of one encoded signed roster (10 000 members with short labels fit). */
export const MAX_ROSTER_BYTES = 1024 * 1024

/** One member of a roster, decoded. */
export interface WireRosterMember {
  peerId: PeerId
  label?: string
}

/** The signed part of a roster, decoded (not yet verified: see `src/roster`). */
export interface WireRosterBody {
  /** the operator's public key, libp2p protobuf form */
  network: Uint8Array
  sequence: bigint
  members: WireRosterMember[]
  issuedAt: number
}

/** A signed roster as it travels: the exact signed bytes and the signature over them. */
export interface WireSignedRoster {
  body: Uint8Array
  signature: Uint8Array
}

/** Encodes the part of a roster the operator signs. */
export function encodeRosterBody (body: WireRosterBody): Uint8Array {
  return pb.RosterBody.encode({
    network: body.network as Uint8Array<ArrayBuffer>,
    sequence: body.sequence,
    members: body.members.map(m => ({ peerId: m.peerId.toString(), label: m.label ?? '' })),
    issuedAt: BigInt(body.issuedAt)
  })
}

/** Decodes a roster body; anything malformed raises `InvalidMessageError`. */
export function decodeRosterBody (bytes: Uint8Array): WireRosterBody {
  const raw = decodeOrThrow(() => pb.RosterBody.decode(bytes, { limits: { members: MAX_ROSTER_MEMBERS } }), 'roster body')
  if (raw.network.byteLength === 0) throw new InvalidMessageError('malformed roster body: no network key')
  if (raw.sequence < 1n) throw new InvalidMessageError('malformed roster body: sequence must be at least 1')
  const members = raw.members.map((m, i) => {
    let peerId: PeerId
    try {
      peerId = peerIdFromString(m.peerId)
    } catch (err) {
      throw new InvalidMessageError(`malformed roster body: member ${i} is not a peer id (${(err as Error).message})`)
    }
    return m.label === '' ? { peerId } : { peerId, label: m.label }
  })
  if (raw.issuedAt > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidMessageError(`malformed roster body: issuedAt ${raw.issuedAt} out of range (0–2^53-1 ms)`)
  return { network: raw.network, sequence: raw.sequence, members, issuedAt: Number(raw.issuedAt) }
}

/** Encodes a signed roster (the bytes of a roster file and of the exchange). */
export function encodeSignedRoster (signed: WireSignedRoster): Uint8Array {
  return pb.SignedRoster.encode({ body: signed.body as Uint8Array<ArrayBuffer>, signature: signed.signature as Uint8Array<ArrayBuffer> })
}

/** Decodes a signed roster's envelope; the body is decoded and verified by `src/roster`. */
export function decodeSignedRoster (bytes: Uint8Array): WireSignedRoster {
  if (bytes.byteLength > MAX_ROSTER_BYTES) throw new InvalidMessageError(`roster of ${bytes.byteLength} bytes is over the limit (${MAX_ROSTER_BYTES})`)
  const raw = decodeOrThrow(() => pb.SignedRoster.decode(bytes), 'signed roster')
  if (raw.body.byteLength === 0 || raw.signature.byteLength === 0) throw new InvalidMessageError('malformed signed roster: body or signature missing')
  return { body: raw.body, signature: raw.signature }
}

/** Encodes one side of a roster exchange: the sender's signed roster, or none. */
export function encodeRosterExchange (roster?: Uint8Array): Uint8Array {
  return pb.RosterExchange.encode({ roster: (roster ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer> })
}

/** Decodes one side of a roster exchange; `undefined` when the sender holds no roster. */
export function decodeRosterExchange (frame: Parameters<typeof pb.RosterExchange.decode>[0]): Uint8Array | undefined {
  const raw = decodeOrThrow(() => pb.RosterExchange.decode(frame), 'roster exchange')
  return raw.roster.byteLength === 0 ? undefined : raw.roster
}
