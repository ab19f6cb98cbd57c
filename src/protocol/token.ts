/**
 * Context tokens: the opaque string `get` hands a client and `put --context` takes back, carrying
 * the causal context the client has seen (as Riak's `X-Riak-Vclock` header does).
 *
 * Layout, base64url without padding:
 * `version (1 byte, 0x01) ‖ key tag (8 bytes) ‖ payload ‖ checksum (4 bytes)`, where the key tag is
 * the start of sha256(key), the payload is the protobuf `Context` of the normalized context, and
 * the checksum is the start of sha256 of everything before it. The checksum catches corruption
 * (a truncated copy and paste, a typo); it is no signature, and anyone can make a valid token.
 */

import { createHash } from 'node:crypto'
import { concat, equals, fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { normalizeContext } from '../clock/index.ts'
import { MAX_ACTOR_BYTES } from '../constants.ts'
import { InvalidContextTokenError } from '../errors.ts'
import { DEFAULT_KV_LIMITS, decodeContext, encodeContext } from './kv/codec.ts'
import type { KvLimits } from './kv/codec.ts'
import type { CausalContext } from '../clock/index.ts'

const TOKEN_VERSION = 0x01
const KEY_TAG_BYTES = 8
const CHECKSUM_BYTES = 4
const HEADER_BYTES = 1 + KEY_TAG_BYTES

/**
 * The largest protobuf encoding of one context entry: field tag and length (2), actor field
 * (tag, length, up to MAX_ACTOR_BYTES) and counter field (tag, varint of up to 2^53-1: 8 bytes).
 */
const MAX_ENTRY_BYTES = 2 + (2 + MAX_ACTOR_BYTES) + (1 + 8)

/** The longest token a context within `limits` can need; anything longer is refused unread. */
function maxTokenLength (limits: KvLimits): number {
  return Math.ceil((HEADER_BYTES + CHECKSUM_BYTES + limits.maxContextEntries * MAX_ENTRY_BYTES) * 4 / 3)
}

function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

function keyTag (key: Uint8Array): Uint8Array {
  return sha256(key).subarray(0, KEY_TAG_BYTES)
}

/**
 * Encodes the context a client has seen of `key` as an opaque token (layout above). The context is
 * normalized first, so equal contexts give equal tokens. The empty context (a client that has seen
 * nothing) has a token too.
 */
export function encodeContextToken (context: CausalContext, key: Uint8Array): string {
  const body = concat([Uint8Array.of(TOKEN_VERSION), keyTag(key), encodeContext(normalizeContext(context))])
  return uint8ArrayToString(concat([body, sha256(body).subarray(0, CHECKSUM_BYTES)]), 'base64url')
}

/**
 * Decodes a client's context token for `key`, checking it in order: length, alphabet, version,
 * checksum, key, then the payload against `limits` (as `decodeContext` does for the wire).
 * Returns the context normalized.
 *
 * @throws InvalidContextTokenError saying what is wrong: too long, not base64url, too short,
 * unknown version, corrupt or altered (checksum), belongs to another key, or a payload the codec
 * rejects (its `InvalidMessageError` is the cause).
 */
export function decodeContextToken (token: string, key: Uint8Array, limits: KvLimits = DEFAULT_KV_LIMITS): CausalContext {
  const maxLength = maxTokenLength(limits)
  if (token.length > maxLength) {
    throw new InvalidContextTokenError(`context token of ${token.length} characters is too long (max ${maxLength}); pass the token exactly as get printed it`)
  }
  if (!/^[A-Za-z0-9_-]*$/.test(token)) {
    throw new InvalidContextTokenError('context token is not base64url (A–Z, a–z, 0–9, - and _, no padding); pass the token exactly as get printed it')
  }
  let bytes: Uint8Array
  try {
    bytes = uint8ArrayFromString(token, 'base64url')
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new InvalidContextTokenError(`context token is not base64url (${reason}); was it cut short?`, { cause: err })
  }
  if (bytes.byteLength < HEADER_BYTES + CHECKSUM_BYTES) {
    throw new InvalidContextTokenError(`context token of ${bytes.byteLength} bytes is too short (at least ${HEADER_BYTES + CHECKSUM_BYTES}); was it cut short?`)
  }
  if (bytes[0] !== TOKEN_VERSION) {
    throw new InvalidContextTokenError(`context token of unknown version ${bytes[0]} (this peer reads version ${TOKEN_VERSION}); get the key again from this peer`)
  }
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES)
  if (!equals(bytes.subarray(body.byteLength), sha256(body).subarray(0, CHECKSUM_BYTES))) {
    throw new InvalidContextTokenError('context token is corrupt or altered (checksum mismatch); pass the token exactly as get printed it')
  }
  if (!equals(body.subarray(1, HEADER_BYTES), keyTag(key))) {
    throw new InvalidContextTokenError('context token belongs to another key; use the token get printed for this key')
  }
  try {
    return normalizeContext(decodeContext(body.subarray(HEADER_BYTES), limits))
  } catch (err) {
    if (err instanceof Error && err.name === 'InvalidMessageError') {
      throw new InvalidContextTokenError(`context token holds an invalid context: ${err.message}`, { cause: err })
    }
    throw err
  }
}
