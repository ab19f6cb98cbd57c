/**
 * A coordinator's write: one new dot, a new sibling, and the delta that carries it to the other
 * replicas — the delta-mutator of the DotKernel (Almeida, Shoker, Baquero, "Delta State Replicated
 * Data Types", 2018, section 7.2), with the client's context as the set of versions it replaces,
 * as Riak's dotted version vectors do (Preguiça et al., "Dotted Version Vectors", 2010, section 5).
 */

import { InvalidParametersError } from '@libp2p/interface'
import { MAX_OBJECT_BYTES, MAX_SIBLINGS } from '../constants.ts'
import { TooManySiblingsError } from '../errors.ts'
import { addDot, contextContains, normalizeContext } from './context.ts'
import { mergeSiblingSets } from './sibling-set.ts'
import type { CausalContext, Dot, Sibling, SiblingSet } from './types.ts'

/** One write as the coordinator makes it. */
export interface WriteInit {
  /** the new version's dot, from `nextDot` on the coordinator's state for its own actor */
  dot: Dot
  /** the value bytes; must be empty for a tombstone */
  value: Uint8Array
  /** wall-clock ms at the coordinator; used only by the optional LWW read policy */
  timestamp: number
  /** true for a delete: the new version is a tombstone */
  deleted: boolean
  /**
   * What the client had seen (the context of its read, or of its previous write); the write
   * replaces exactly the versions this covers. Empty for a blind write.
   */
  context: CausalContext
}

/** Bounds on what a write may leave behind (Riak's `max_siblings` and `max_object_size`). */
export interface WriteLimits {
  /**
   * Most siblings (values and tombstones) a key may have after the write.
   *
   * @default MAX_SIBLINGS
   */
  maxSiblings: number
  /**
   * Most bytes all sibling values of a key may weigh together after the write.
   *
   * @default MAX_OBJECT_BYTES
   */
  maxObjectBytes: number
}

/** What `applyWrite` returns. */
export interface WriteResult {
  /** the coordinator's new state for the key, to store */
  state: SiblingSet
  /** the write alone (new sibling plus the context it covers), to send to the other replicas */
  delta: SiblingSet
  /** the context to hand back to the client: what it had seen plus exactly the new dot */
  clientContext: CausalContext
}

const HINT = 'read the key and write the merged value with its context'

/**
 * Applies a client write at its coordinator. The delta is the new sibling with the client's
 * context plus the new dot; the state is the local state joined with the delta, so the write
 * replaces exactly the local siblings the client had seen and keeps every other one (a concurrent
 * write, a blind write, a version that arrived after the client read).
 *
 * The context returned to the client is what it had seen plus exactly the new dot — a cloud dot,
 * not the coordinator's whole range — so two clients writing through the same peer never supersede
 * each other's unseen writes, and a client that keeps writing with its last context replaces only
 * its own previous write (riak_test's sibling-explosion case stays at 2 siblings).
 *
 * Pure: `local` is not changed, whatever happens.
 *
 * @throws InvalidParametersError when `write.dot` was already issued: it is in the local context,
 * or the local or the client's context has seen it or a later dot of the same actor (dots are
 * issued in order, so such a dot is not the actor's next one). A reused dot would silently
 * supersede or be superseded by another version (Riak KV679), so this is a bug upstream. Also when
 * the dot is malformed or a tombstone carries a value.
 * @throws TooManySiblingsError when the resulting state would have more than `maxSiblings`
 * siblings or more than `maxObjectBytes` of values.
 */
export function applyWrite (local: SiblingSet, write: WriteInit, limits: Partial<WriteLimits> = {}): WriteResult {
  const maxSiblings = limits.maxSiblings ?? MAX_SIBLINGS
  const maxObjectBytes = limits.maxObjectBytes ?? MAX_OBJECT_BYTES
  const { dot } = write
  const name = `${dot.actor}:${dot.counter}`

  if (!Number.isSafeInteger(dot.counter) || dot.counter < 1) {
    throw new InvalidParametersError(`dot ${name}: the counter must be an integer from 1 to 2^53-1`)
  }
  if (write.deleted && write.value.byteLength > 0) {
    throw new InvalidParametersError(`a tombstone carries no value, got ${write.value.byteLength} bytes`)
  }
  if (contextContains(local.context, dot)) {
    throw new InvalidParametersError(`dot ${name} was already issued (the local state has seen it); dots must never be reused`)
  }
  if (claimsDotFrom(local.context, dot)) {
    throw new InvalidParametersError(`dot ${name} is behind its actor: the local state has seen a later dot of ${dot.actor}; take the dot from nextDot`)
  }
  if (claimsDotFrom(write.context, dot)) {
    throw new InvalidParametersError(`the client context has seen dot ${name} or a later one of that actor, which this write would issue only now; dots must never be reused`)
  }

  const sibling: Sibling = {
    dot: { actor: dot.actor, counter: dot.counter },
    value: write.value,
    timestamp: write.timestamp,
    deleted: write.deleted
  }
  const delta: SiblingSet = { siblings: [sibling], context: addDot(write.context, dot) }
  const state = mergeSiblingSets(local, delta)

  if (state.siblings.length > maxSiblings) {
    throw new TooManySiblingsError(`this write would leave ${state.siblings.length} siblings (max ${maxSiblings}); ${HINT}`)
  }
  const bytes = state.siblings.reduce((sum, s) => sum + s.value.byteLength, 0)
  if (bytes > maxObjectBytes) {
    throw new TooManySiblingsError(`this write would leave ${state.siblings.length} siblings of ${bytes} bytes in all (max ${maxObjectBytes} bytes); ${HINT}`)
  }

  return { state, delta, clientContext: normalizeContext(delta.context) }
}

/**
 * Whether `context` holds `dot` or any later dot of its actor. Dots are issued in order, so a
 * client that saw a later dot of this actor saw one it has not issued yet: the context is forged,
 * corrupt, or the actor reused counters.
 */
function claimsDotFrom (context: CausalContext, dot: Dot): boolean {
  if ((context.vv.get(dot.actor) ?? 0) >= dot.counter) return true
  return context.cloud.some(d => d.actor === dot.actor && d.counter >= dot.counter)
}
