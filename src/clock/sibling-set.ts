/**
 * Sibling sets: a key's concurrent versions with the causal context of everything seen, merged as
 * the DotKernel of delta-state CRDTs (Almeida, Shoker, Baquero, "Delta State Replicated Data
 * Types", 2018, section 7.2). This is what Riak's dotted version vectors achieve for Dynamo-style
 * siblings (Preguiça et al., "Dotted Version Vectors", 2010): one dot per version, so concurrent
 * writes stay siblings instead of being collapsed or multiplied.
 */

import { compare as compareBytes } from 'uint8arrays'
import { compareDots, contextTester, contextsEqual, dotKey, emptyContext, joinContexts, normalizeContext } from './context.ts'
import type { Actor, Dot, Sibling, SiblingSet } from './types.ts'

/** The state of a key nobody has written: no siblings, empty context. */
export function emptySiblingSet (): SiblingSet {
  return { siblings: [], context: emptyContext() }
}

/** A fresh copy of a sibling; the value bytes are shared and treated as immutable. */
function copySibling (sibling: Sibling): Sibling {
  return {
    dot: { actor: sibling.dot.actor, counter: sibling.dot.counter },
    value: sibling.value,
    timestamp: sibling.timestamp,
    deleted: sibling.deleted
  }
}

/**
 * A total order on what a sibling carries besides its dot. Two siblings with the same dot are the
 * same version and are equal; should a dot ever have been reused with other content (a bug
 * upstream), merges still pick the same one on every replica and in every order.
 */
function compareContent (a: Sibling, b: Sibling): number {
  return (a.timestamp - b.timestamp) ||
    (Number(a.deleted) - Number(b.deleted)) ||
    compareBytes(a.value, b.value)
}

/** Index by dot; a dot listed twice (never, for valid sets) keeps the greater content. */
function indexByDot (siblings: Sibling[]): Map<string, Sibling> {
  const index = new Map<string, Sibling>()
  for (const sibling of siblings) {
    const key = dotKey(sibling.dot)
    const other = index.get(key)
    if (other == null || compareContent(sibling, other) > 0) index.set(key, sibling)
  }
  return index
}

/** Siblings in canonical order: by actor, then counter. */
function canonicalSiblings (siblings: Iterable<Sibling>): Sibling[] {
  return [...siblings].map(copySibling).sort((a, b) => compareDots(a.dot, b.dot))
}

/**
 * Joins two replicas' (or a replica's and a write's delta) sibling sets, as the DotKernel join of
 * the delta-CRDT paper (section 7.2): a sibling survives when both sides have it, or when the other
 * side has not seen its dot; a sibling whose dot the other side has seen but no longer holds was
 * superseded there, and goes. The context is the union of both.
 *
 * So a write replaces exactly the versions its context covers, and a version nobody saw is never
 * dropped. Given the invariant that every sibling's dot is in its set's context, this is a lattice
 * join: commutative, associative and idempotent (results compare equal with `siblingSetsEqual`;
 * siblings come out in canonical order and the context normalized). Never mutates its inputs.
 */
export function mergeSiblingSets (a: SiblingSet, b: SiblingSet): SiblingSet {
  const inA = indexByDot(a.siblings)
  const inB = indexByDot(b.siblings)
  const seenByA = contextTester(a.context)
  const seenByB = contextTester(b.context)
  const kept: Sibling[] = []
  for (const [key, sibling] of inA) {
    const other = inB.get(key)
    if (other != null) {
      kept.push(compareContent(other, sibling) > 0 ? other : sibling)
    } else if (!seenByB(sibling.dot)) {
      kept.push(sibling)
    }
  }
  for (const [key, sibling] of inB) {
    if (!inA.has(key) && !seenByA(sibling.dot)) kept.push(sibling)
  }
  return { siblings: canonicalSiblings(kept), context: joinContexts(a.context, b.context) }
}

/**
 * The next dot `actor` issues for this key: one past the highest counter of `actor` the set has
 * seen, in its version vector or its cloud. Called on the state of the replica the actor lives on,
 * which has seen every dot the actor issued, so dots come out contiguous from 1 and are never
 * reused (reusing a dot is how Riak lost acknowledged writes, KV679).
 */
export function nextDot (set: SiblingSet, actor: Actor): Dot {
  let top = set.context.vv.get(actor) ?? 0
  for (const dot of set.context.cloud) {
    if (dot.actor === actor && dot.counter > top) top = dot.counter
  }
  return { actor, counter: top + 1 }
}

/**
 * The siblings that are values, not tombstones. A key whose siblings are all tombstones (or that
 * has none) reads as not found; the tombstones stay so that the delete orders like a write.
 */
export function liveSiblings (set: SiblingSet): Sibling[] {
  return set.siblings.filter(sibling => !sibling.deleted).map(copySibling)
}

/**
 * Structural equality of two sibling sets in canonical form: the same dots with the same content
 * (values compared byte-wise) and contexts holding the same dots, whatever the order of either.
 */
export function siblingSetsEqual (a: SiblingSet, b: SiblingSet): boolean {
  if (a.siblings.length !== b.siblings.length) return false
  const x = canonicalSiblings(a.siblings)
  const y = canonicalSiblings(b.siblings)
  const siblingsEqual = x.every((sibling, i) => {
    const other = y[i]
    return other != null && compareDots(sibling.dot, other.dot) === 0 && compareContent(sibling, other) === 0
  })
  return siblingsEqual && contextsEqual(a.context, b.context)
}

/** A copy of `set` in canonical form: siblings ordered by dot, context normalized. */
export function canonicalSiblingSet (set: SiblingSet): SiblingSet {
  return { siblings: canonicalSiblings(set.siblings), context: normalizeContext(set.context) }
}
