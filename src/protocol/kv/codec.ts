/**
 * Conversions between p2pstore's causality types (`clock/`) and their protobuf form, with every
 * limit checked on the way in: what comes from the network or from disk is validated before any
 * other part sees it, and anything malformed raises `InvalidMessageError`.
 */

import { InvalidMessageError } from '@libp2p/interface'
import { toString as uint8ArrayToString, fromString as uint8ArrayFromString } from 'uint8arrays'
import { MAX_ACTOR_BYTES, MAX_CONTEXT_ENTRIES, MAX_SIBLINGS, MAX_VALUE_BYTES } from '../../constants.ts'
import { decodeOrThrow } from '../decode.ts'
import * as pb from './kv.ts'
import type { CausalContext, Dot, Sibling, SiblingSet } from '../../clock/index.ts'

/** Limits applied when decoding; defaults are the constants of the same names. */
export interface KvLimits {
  /** @default MAX_VALUE_BYTES */
  maxValueBytes: number
  /**
   * @default 4 × MAX_SIBLINGS: a write may leave MAX_SIBLINGS, but concurrent coordinators each
   * stay under that limit and their merge can hold more; refusing it would wedge the key
   */
  maxSiblings: number
  /** @default MAX_CONTEXT_ENTRIES */
  maxContextEntries: number
}

export const DEFAULT_KV_LIMITS: KvLimits = {
  maxValueBytes: MAX_VALUE_BYTES,
  maxSiblings: 4 * MAX_SIBLINGS,
  maxContextEntries: MAX_CONTEXT_ENTRIES
}

/** Actor ids travel as bytes and are hex strings in memory. */
function actorToBytes (actor: string): Uint8Array<ArrayBuffer> {
  return uint8ArrayFromString(actor, 'base16') as Uint8Array<ArrayBuffer>
}

function actorFromBytes (bytes: Uint8Array): string {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_ACTOR_BYTES) {
    throw new InvalidMessageError(`actor id of ${bytes.byteLength} bytes (1–${MAX_ACTOR_BYTES} allowed)`)
  }
  return uint8ArrayToString(bytes, 'base16')
}

function counterFromWire (counter: bigint, what: string): number {
  if (counter < 1n || counter > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidMessageError(`${what} counter ${counter} out of range (1–2^53-1)`)
  }
  return Number(counter)
}

export function dotToWire (dot: Dot): pb.Dot {
  return { actor: actorToBytes(dot.actor), counter: BigInt(dot.counter) }
}

export function dotFromWire (dot: pb.Dot | undefined): Dot {
  if (dot == null) throw new InvalidMessageError('missing dot')
  return { actor: actorFromBytes(dot.actor), counter: counterFromWire(dot.counter, 'dot') }
}

export function contextToWire (context: CausalContext): pb.Context {
  return {
    vv: [...context.vv].map(([actor, counter]) => ({ actor: actorToBytes(actor), counter: BigInt(counter) })),
    cloud: context.cloud.map(dotToWire)
  }
}

export function contextFromWire (context: pb.Context | undefined, limits: KvLimits = DEFAULT_KV_LIMITS): CausalContext {
  if (context == null) return { vv: new Map(), cloud: [] }
  if (context.vv.length + context.cloud.length > limits.maxContextEntries) {
    throw new InvalidMessageError(`causal context of ${context.vv.length + context.cloud.length} entries (max ${limits.maxContextEntries})`)
  }
  const vv = new Map<string, number>()
  for (const entry of context.vv) {
    const actor = actorFromBytes(entry.actor)
    if (vv.has(actor)) throw new InvalidMessageError(`actor ${actor} appears twice in a version vector`)
    vv.set(actor, counterFromWire(entry.counter, 'version vector'))
  }
  return { vv, cloud: context.cloud.map(dotFromWire) }
}

export function siblingToWire (sibling: Sibling): pb.Sibling {
  return {
    dot: dotToWire(sibling.dot),
    value: sibling.value as Uint8Array<ArrayBuffer>,
    timestamp: BigInt(sibling.timestamp),
    deleted: sibling.deleted
  }
}

export function siblingFromWire (sibling: pb.Sibling, limits: KvLimits = DEFAULT_KV_LIMITS): Sibling {
  if (sibling.value.byteLength > limits.maxValueBytes) {
    throw new InvalidMessageError(`value of ${sibling.value.byteLength} bytes (max ${limits.maxValueBytes})`)
  }
  if (sibling.deleted && sibling.value.byteLength > 0) {
    throw new InvalidMessageError('a tombstone carries a value')
  }
  if (sibling.timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidMessageError(`timestamp ${sibling.timestamp} out of range`)
  }
  return { dot: dotFromWire(sibling.dot), value: sibling.value, timestamp: Number(sibling.timestamp), deleted: sibling.deleted }
}

export function siblingSetToWire (set: SiblingSet): pb.SiblingSet {
  return { siblings: set.siblings.map(siblingToWire), context: contextToWire(set.context) }
}

/**
 * Validates a decoded sibling set: limits, no dot twice, and every sibling's dot inside the
 * context (the container invariant merges rely on).
 */
export function siblingSetFromWire (set: pb.SiblingSet | undefined, limits: KvLimits = DEFAULT_KV_LIMITS): SiblingSet {
  if (set == null) throw new InvalidMessageError('missing sibling set')
  if (set.siblings.length > limits.maxSiblings) {
    throw new InvalidMessageError(`${set.siblings.length} siblings (max ${limits.maxSiblings})`)
  }
  const context = contextFromWire(set.context, limits)
  const seen = new Set<string>()
  const siblings = set.siblings.map(s => {
    const sibling = siblingFromWire(s, limits)
    const id = `${sibling.dot.actor}:${sibling.dot.counter}`
    if (seen.has(id)) throw new InvalidMessageError(`dot ${id} appears twice in a sibling set`)
    seen.add(id)
    const covered = (context.vv.get(sibling.dot.actor) ?? 0) >= sibling.dot.counter ||
      context.cloud.some(d => d.actor === sibling.dot.actor && d.counter === sibling.dot.counter)
    if (!covered) throw new InvalidMessageError(`sibling dot ${id} is not in the set's context`)
    return sibling
  })
  return { siblings, context }
}

/** A sibling set as bytes (what storage keeps on disk). */
export function encodeSiblingSet (set: SiblingSet): Uint8Array {
  return pb.SiblingSet.encode(siblingSetToWire(set))
}

/** Bytes back to a validated sibling set; `InvalidMessageError` when malformed. */
export function decodeSiblingSet (bytes: Uint8Array, limits: KvLimits = DEFAULT_KV_LIMITS): SiblingSet {
  return siblingSetFromWire(decodeOrThrow(() => pb.SiblingSet.decode(bytes, { limits: { siblings: limits.maxSiblings } }), 'sibling set'), limits)
}

/** A causal context as bytes (the payload of a client's context token). */
export function encodeContext (context: CausalContext): Uint8Array {
  return pb.Context.encode(contextToWire(context))
}

/** Bytes back to a validated causal context; `InvalidMessageError` when malformed. */
export function decodeContext (bytes: Uint8Array, limits: KvLimits = DEFAULT_KV_LIMITS): CausalContext {
  return contextFromWire(decodeOrThrow(() => pb.Context.decode(bytes, {
    limits: { vv: limits.maxContextEntries, cloud: limits.maxContextEntries }
  }), 'context'), limits)
}
