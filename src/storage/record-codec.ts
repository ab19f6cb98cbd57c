/**
 * `StoredRecord` to bytes and back, shared by every engine so that they store exactly the same
 * thing. The sibling set uses the wire encoding of the kv protocol; decoding validates it
 * (`decodeSiblingSet`), so nothing malformed ever leaves storage.
 *
 * @packageDocumentation
 */

import { InvalidMessageError } from '@libp2p/interface'
import { fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { MAX_ACTOR_BYTES } from '../constants.ts'
import { decodeSiblingSet, encodeSiblingSet, validHintOwners } from '../protocol/index.ts'
import * as pb from './record.ts'
import type { StoredRecord } from './engine.ts'
import type { KvLimits } from '../protocol/index.ts'

const HEX_ACTOR = /^(?:[0-9a-f]{2})+$/
/** Longest peer id string a record names (as for `hintFor`). */
const MAX_HINT_FROM_LENGTH = 128

/**
 * Encodes a record.
 *
 * @throws InvalidMessageError when the actor is not lowercase hex of 1 to MAX_ACTOR_BYTES bytes
 */
export function encodeRecord (record: StoredRecord): Uint8Array {
  const message: pb.Record = { set: encodeSiblingSet(record.set) as Uint8Array<ArrayBuffer>, hintFor: record.hintFor ?? [] }
  // who sent a hinted copy matters only while it is one
  if (record.hintFrom !== undefined && (record.hintFor?.length ?? 0) > 0) {
    if (record.hintFrom.length === 0 || record.hintFrom.length > MAX_HINT_FROM_LENGTH) throw new InvalidMessageError(`hint sender of ${record.hintFrom.length} characters (1–${MAX_HINT_FROM_LENGTH} allowed)`)
    message.hintFrom = record.hintFrom
  }
  if (record.actor !== undefined) {
    if (!HEX_ACTOR.test(record.actor) || record.actor.length > 2 * MAX_ACTOR_BYTES) {
      throw new InvalidMessageError(`actor ${JSON.stringify(record.actor.slice(0, 2 * MAX_ACTOR_BYTES + 2))} is not lowercase hex of 1–${MAX_ACTOR_BYTES} bytes`)
    }
    message.actor = uint8ArrayFromString(record.actor, 'base16') as Uint8Array<ArrayBuffer>
  }
  return pb.Record.encode(message)
}

/**
 * Decodes and validates a record. The result may share memory with `bytes`.
 *
 * @throws InvalidMessageError when the bytes are not a valid record
 */
export function decodeRecord (bytes: Uint8Array, limits: KvLimits): StoredRecord {
  let message: pb.Record
  try {
    message = pb.Record.decode(bytes)
  } catch (err) {
    throw new InvalidMessageError(`malformed record: ${err instanceof Error ? err.message : String(err)}`)
  }
  const record: StoredRecord = { set: decodeSiblingSet(message.set, limits) }
  if (message.actor != null) {
    if (message.actor.byteLength === 0 || message.actor.byteLength > MAX_ACTOR_BYTES) {
      throw new InvalidMessageError(`actor id of ${message.actor.byteLength} bytes (1–${MAX_ACTOR_BYTES} allowed)`)
    }
    record.actor = uint8ArrayToString(message.actor, 'base16')
  }
  if (message.hintFor.length > 0) {
    if (!validHintOwners(message.hintFor, 64)) {
      throw new InvalidMessageError('malformed hint owners')
    }
    record.hintFor = message.hintFor
    if (message.hintFrom != null) {
      if (message.hintFrom.length === 0 || message.hintFrom.length > MAX_HINT_FROM_LENGTH) throw new InvalidMessageError('malformed hint sender')
      record.hintFrom = message.hintFrom
    }
  }
  return record
}
