/**
 * Keeping causal contexts bounded (DESIGN section 3: "entries of actors no longer in membership
 * may be pruned by a documented rule that never turns concurrent values into ordered ones").
 */

import { compareActors, normalizeContext } from './context.ts'
import { canonicalSiblingSet } from './sibling-set.ts'
import type { Actor, Dot, SiblingSet } from './types.ts'

/** One removable context entry: a version vector entry (counts as its counter) or a cloud dot. */
interface Entry {
  actor: Actor
  counter: number
  kind: 'vv' | 'cloud'
}

/**
 * Bounds a sibling set's context to `maxEntries` entries (version vector entries plus cloud dots).
 *
 * The rule: when the context is larger than `maxEntries`, entries of actors that have no sibling
 * in the set (and are not in `keep`) are removed, smallest counter first (a version vector entry
 * counts as its counter; ties by actor), until the context fits. Entries of actors with a sibling
 * in the set are never removed, so every sibling's dot stays in the context (the invariant merges
 * rely on); if those alone are over the limit, the result is as small as the rule allows and may
 * stay above it. The siblings themselves are never touched.
 *
 * Why this is safe: a merge drops a sibling only when the other side's context holds its dot, so a
 * smaller context can only make fewer versions look superseded, never more. Pruning therefore never
 * drops a live value and never turns concurrent values into ordered ones. What it can do is let a
 * stale copy of a pruned actor's superseded version, still held by a replica that has not caught
 * up, come back as a sibling: a false conflict that a read resolves like any other. (Riak's
 * vector-clock pruning could also make a concurrent version look descended, and so drop it; here
 * the context is consulted only to drop versions, so removing entries cannot.) Because a version a tombstone superseded is such a stale version,
 * prune only entries that no replica still holds as a sibling — the same condition under which
 * tombstones are collected — or a deleted value may reappear next to its tombstone.
 *
 * `keep` lists actors whose entries must stay whatever happens: at least the local actor of the
 * replica doing the pruning, because `nextDot` derives its counter from the context and would
 * otherwise hand out a dot again (Riak KV679).
 */
export function pruneContext (set: SiblingSet, maxEntries: number, keep: Iterable<Actor> = []): SiblingSet {
  const canonical = canonicalSiblingSet(set)
  const { context } = canonical
  const excess = context.vv.size + context.cloud.length - maxEntries
  if (excess <= 0) return canonical

  const protectedActors = new Set<Actor>(keep)
  for (const sibling of canonical.siblings) protectedActors.add(sibling.dot.actor)

  const removable: Entry[] = []
  for (const [actor, counter] of context.vv) {
    if (!protectedActors.has(actor)) removable.push({ actor, counter, kind: 'vv' })
  }
  for (const dot of context.cloud) {
    if (!protectedActors.has(dot.actor)) removable.push({ actor: dot.actor, counter: dot.counter, kind: 'cloud' })
  }
  // oldest knowledge first; removing a range or a dot never makes another cloud dot foldable
  removable.sort((a, b) => (a.counter - b.counter) || compareActors(a.actor, b.actor))
  const removed = removable.slice(0, excess)
  const removedRanges = new Set(removed.filter(e => e.kind === 'vv').map(e => e.actor))
  const removedDots = new Set(removed.filter(e => e.kind === 'cloud').map(e => `${e.actor}:${e.counter}`))

  const vv = new Map([...context.vv].filter(([actor]) => !removedRanges.has(actor)))
  const cloud: Dot[] = context.cloud.filter(dot => !removedDots.has(`${dot.actor}:${dot.counter}`))
  return { siblings: canonical.siblings, context: normalizeContext({ vv, cloud }) }
}
