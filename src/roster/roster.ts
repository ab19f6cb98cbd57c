import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { InvalidRosterError, StaleRosterError } from '../errors.ts'
import { MAX_ROSTER_MEMBERS, decodeRosterBody, decodeSignedRoster, encodeRosterBody, encodeSignedRoster } from '../protocol/index.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** One member of a roster. */
export interface RosterMember {
  /** the member's peer id (text form) */
  peerId: string
  /** an operator's note; not used for admission */
  label?: string
}

/**
 * A verified roster: the members of one closed network, as its operator signed them. Only
 * `verifyRoster()` and `signRoster()` make one, so holding a `Roster` means the signature checked.
 */
export interface Roster {
  /** the network id: the operator's public key in peer id form (`12D3KooW…`) */
  network: string
  /** strictly increasing; the newest roster wins */
  sequence: bigint
  /** the members, in the operator's order */
  members: RosterMember[]
  /** when the operator signed it (ms since the epoch) */
  issuedAt: number
  /** the signed bytes exactly as issued: what peers store and pass on */
  bytes: Uint8Array
}

/** What `verifyRoster()` checks beyond the signature. */
export interface VerifyRosterOptions {
  /** the network the roster must belong to (its id); without it any operator's roster verifies */
  network?: string
  /** the sequence number the roster must be above (the one already held) */
  after?: bigint
}

/** Domain separation: a roster signature can never be mistaken for a signature of anything else. */
const SIGNING_PREFIX = new TextEncoder().encode('p2pstore-roster/1\n')

function signedPayload (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_PREFIX.byteLength + body.byteLength)
  out.set(SIGNING_PREFIX, 0)
  out.set(body, SIGNING_PREFIX.byteLength)
  return out
}

/** The network id of an operator key: its public key as a peer id string. */
export function networkIdOf (key: PublicKey | PrivateKey): string {
  return peerIdFromPublicKey('publicKey' in key ? key.publicKey : key).toString()
}

/**
 * Signs a roster with the operator's key. Member ids are checked and de-duplicated (first label
 * wins); the sequence must be at least 1.
 */
export async function signRoster (operator: PrivateKey, init: { sequence: bigint, members: RosterMember[], issuedAt?: number }): Promise<Roster> {
  if (init.sequence < 1n) throw new InvalidRosterError(`a roster's sequence number starts at 1, got ${init.sequence}`)
  const seen = new Set<string>()
  const members: RosterMember[] = []
  for (const m of init.members) {
    try {
      peerIdFromString(m.peerId)
    } catch (err) {
      throw new InvalidRosterError(`${JSON.stringify(m.peerId)} is not a peer id (a member's id looks like 12D3KooW…; \`npx p2pstore init\` prints it)`, { cause: err })
    }
    if (seen.has(m.peerId)) continue
    seen.add(m.peerId)
    members.push(m.label == null || m.label === '' ? { peerId: m.peerId } : { peerId: m.peerId, label: m.label })
  }
  if (members.length > MAX_ROSTER_MEMBERS) throw new InvalidRosterError(`a roster names at most ${MAX_ROSTER_MEMBERS} members, got ${members.length}`)
  const issuedAt = init.issuedAt ?? Date.now()
  const body = encodeRosterBody({
    network: publicKeyToProtobuf(operator.publicKey),
    sequence: init.sequence,
    members: members.map(m => ({ peerId: peerIdFromString(m.peerId), label: m.label })),
    issuedAt
  })
  const signature = await operator.sign(signedPayload(body))
  return { network: networkIdOf(operator), sequence: init.sequence, members, issuedAt, bytes: encodeSignedRoster({ body, signature }) }
}

/**
 * Decodes and verifies a signed roster. Raises `InvalidRosterError` when the bytes are malformed or
 * truncated, the signature does not verify, or the roster belongs to another network than
 * `options.network`; `StaleRosterError` when its sequence is not above `options.after`. Never
 * anything else, whatever the bytes.
 */
export async function verifyRoster (bytes: Uint8Array, options: VerifyRosterOptions = {}): Promise<Roster> {
  let body
  let key: PublicKey
  let signed
  try {
    signed = decodeSignedRoster(bytes)
    body = decodeRosterBody(signed.body)
    key = publicKeyFromProtobuf(body.network)
  } catch (err) {
    throw new InvalidRosterError(`not a valid roster: ${(err as Error).message}`, { cause: err })
  }
  if (key.type !== 'Ed25519') throw new InvalidRosterError(`roster signed with a ${key.type} key; operators sign with Ed25519`)
  const network = networkIdOf(key)
  if (options.network != null && network !== options.network) {
    throw new InvalidRosterError(`roster belongs to network ${network}, not to ${options.network}`)
  }
  let valid = false
  try {
    valid = await key.verify(signedPayload(signed.body), signed.signature)
  } catch {
    valid = false
  }
  if (!valid) throw new InvalidRosterError(`roster of network ${network} (sequence ${body.sequence}) has a bad signature`)
  if (options.after != null && body.sequence <= options.after) {
    throw new StaleRosterError(`roster sequence ${body.sequence} is not newer than the one held (${options.after})`)
  }
  return {
    network,
    sequence: body.sequence,
    members: body.members.map(m => m.label == null ? { peerId: m.peerId.toString() } : { peerId: m.peerId.toString(), label: m.label }),
    issuedAt: body.issuedAt,
    bytes
  }
}
