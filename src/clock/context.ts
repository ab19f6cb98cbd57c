/**
 * Causal contexts: sets of dots kept as a version vector (the contiguous prefix 1..n of each actor)
 * plus a dot cloud (dots known without all their predecessors). This is the `CausalContext` of
 * delta-state CRDTs (Almeida, Shoker, Baquero, "Delta State Replicated Data Types", 2018, section
 * 7.1: "compact" causal contexts); every function here is pure and returns new objects.
 */

import type { Actor, CausalContext, Dot } from './types.ts'

/** Orders actors by their hex id, byte-wise (lowercase hex sorts like its bytes). */
export function compareActors (a: Actor, b: Actor): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The canonical order of dots: by actor, then by counter. */
export function compareDots (a: Dot, b: Dot): number {
  return compareActors(a.actor, b.actor) || a.counter - b.counter
}

/** A string naming a dot, for use as a Map or Set key (actors are hex, so `:` cannot collide). */
export function dotKey (dot: Dot): string {
  return `${dot.actor}:${dot.counter}`
}

/** The context of someone who has seen nothing: what a blind write carries. */
export function emptyContext (): CausalContext {
  return { vv: new Map(), cloud: [] }
}

/**
 * Whether `context` has seen `dot`: it is inside the actor's version vector range, or in the cloud.
 * A dot with a counter below 1 is never in a context (counters start at 1).
 */
export function contextContains (context: CausalContext, dot: Dot): boolean {
  if (dot.counter < 1) return false
  if (dot.counter <= (context.vv.get(dot.actor) ?? 0)) return true
  return context.cloud.some(d => d.actor === dot.actor && d.counter === dot.counter)
}

/**
 * A membership test for many dots against one context, with the cloud indexed once; used by
 * merges, which test every sibling of one set against the other's context.
 */
export function contextTester (context: CausalContext): (dot: Dot) => boolean {
  const cloud = new Set(context.cloud.map(dotKey))
  return dot => dot.counter >= 1 && (dot.counter <= (context.vv.get(dot.actor) ?? 0) || cloud.has(dotKey(dot)))
}

/**
 * The canonical form of a context, representing the same set of dots (the `compact` operation of
 * the delta-CRDT paper, section 7.1): cloud dots covered by the version vector are dropped, cloud
 * dots that extend an actor's range contiguously (`vv[a] + 1`, `+ 2`, …) are folded into it, the
 * cloud is deduplicated and sorted by (actor, counter), version vector entries of 0 are dropped and
 * its keys are in actor order. Two contexts holding the same dots normalize to structurally equal
 * objects, which is what makes merges comparable (and their properties testable).
 *
 * Folding is sound because contexts only ever hold dots that were issued and seen: an actor issues
 * its dots for a key contiguously from 1, so a range `1..n` never stands for a dot nobody has seen.
 *
 * Never mutates `context`.
 */
export function normalizeContext (context: CausalContext): CausalContext {
  const vv = new Map<Actor, number>()
  for (const [actor, counter] of context.vv) {
    if (counter > 0) vv.set(actor, counter)
  }
  const cloud: Dot[] = []
  // ascending per actor, so a run vv+1, vv+2, … folds in one pass
  for (const dot of [...context.cloud].sort(compareDots)) {
    const top = vv.get(dot.actor) ?? 0
    if (dot.counter <= top) continue
    if (dot.counter === top + 1) {
      vv.set(dot.actor, dot.counter)
      continue
    }
    const last = cloud.at(-1)
    if (last?.actor === dot.actor && last.counter === dot.counter) continue
    cloud.push({ actor: dot.actor, counter: dot.counter })
  }
  return {
    vv: new Map([...vv].sort(([a], [b]) => compareActors(a, b))),
    cloud
  }
}

/**
 * The union of two contexts, normalized: everything either side has seen. The join of the
 * causal-context lattice, so it is commutative, associative and idempotent.
 */
export function joinContexts (a: CausalContext, b: CausalContext): CausalContext {
  const vv = new Map(a.vv)
  for (const [actor, counter] of b.vv) {
    vv.set(actor, Math.max(counter, vv.get(actor) ?? 0))
  }
  return normalizeContext({ vv, cloud: [...a.cloud, ...b.cloud] })
}

/**
 * The intersection of two contexts, normalized: only the dots both have seen. The meet of the
 * causal-context lattice (commutative, associative, idempotent).
 *
 * A coordinator meets a client's context with its own before applying a write, so a write only
 * ever supersedes versions that really exist: a forged or corrupted token claiming dots nobody
 * issued cannot make replicas drop future writes. What the meet removes only makes fewer versions
 * look superseded, so the worst outcome is a sibling the client must resolve again, never a loss.
 */
export function meetContexts (a: CausalContext, b: CausalContext): CausalContext {
  const vv = new Map<Actor, number>()
  for (const [actor, counter] of a.vv) {
    const min = Math.min(counter, b.vv.get(actor) ?? 0)
    if (min > 0) vv.set(actor, min)
  }
  const inA = contextTester(a)
  const inB = contextTester(b)
  // a dot beyond the smaller version vector is in the cloud of at least one side
  const cloud = [...a.cloud, ...b.cloud].filter(dot => inA(dot) && inB(dot))
  return normalizeContext({ vv, cloud })
}

/** Whether `outer` has seen every dot `inner` has. */
export function contextIncludes (outer: CausalContext, inner: CausalContext): boolean {
  return contextsEqual(meetContexts(outer, inner), inner)
}

/** `context` plus one dot, normalized (the dot may fold into the version vector). */
export function addDot (context: CausalContext, dot: Dot): CausalContext {
  return normalizeContext({ vv: context.vv, cloud: [...context.cloud, dot] })
}

/**
 * How many entries `context` has as it stands: version vector entries plus cloud dots. This is
 * what `MAX_CONTEXT_ENTRIES` bounds on the wire and what `pruneContext` keeps under its limit.
 */
export function contextSize (context: CausalContext): number {
  return context.vv.size + context.cloud.length
}

/** Whether two contexts hold the same dots (compares their normal forms). */
export function contextsEqual (a: CausalContext, b: CausalContext): boolean {
  const x = normalizeContext(a)
  const y = normalizeContext(b)
  if (x.vv.size !== y.vv.size || x.cloud.length !== y.cloud.length) return false
  const yvv = [...y.vv]
  let i = 0
  for (const [actor, counter] of x.vv) {
    const other = yvv[i++]
    if (other?.[0] !== actor || other[1] !== counter) return false
  }
  return x.cloud.every((dot, j) => {
    const other = y.cloud[j]
    return other != null && compareDots(dot, other) === 0
  })
}
