/**
 * The optional last-writer-wins read policy (`--resolve lww`). Storage never applies it: every
 * concurrent sibling is kept, and a reader who prefers one value by wall clock asks for it.
 */

import { compare as compareBytes } from 'uint8arrays'
import { compareActors } from './context.ts'
import type { Sibling } from './types.ts'

/**
 * Orders siblings for LWW: timestamp, then actor, then counter; the rest (never reached for
 * siblings of one set, whose dots differ) only keeps the order total.
 */
function compareLww (a: Sibling, b: Sibling): number {
  return (a.timestamp - b.timestamp) ||
    compareActors(a.dot.actor, b.dot.actor) ||
    (a.dot.counter - b.dot.counter) ||
    (Number(a.deleted) - Number(b.deleted)) ||
    compareBytes(a.value, b.value)
}

/**
 * Picks one sibling by wall clock: the highest timestamp wins, ties go to the larger actor, then
 * the larger counter. Deterministic, so every reader picks the same sibling whatever order they
 * got them in. Wall clocks drift, which is why this is only a read policy (the Dynamo paper,
 * section 4.4, and Riak's `last_write_wins` warn of the writes it loses).
 *
 * Pass every sibling, tombstones included, so that a newer delete wins over an older value; a
 * tombstone result reads as not found. Returns `undefined` for no siblings.
 */
export function resolveLww (siblings: Sibling[]): Sibling | undefined {
  let best: Sibling | undefined
  for (const sibling of siblings) {
    if (best == null || compareLww(sibling, best) > 0) best = sibling
  }
  return best
}
