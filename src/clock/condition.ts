/**
 * Conditions of conditional writes (issue #20): whether a replica's sibling set holds a version a
 * write's context has not seen. Checked by the coordinator before it makes the write and by every
 * replica under the key's lock before it merges the write in, so a replica never holds two
 * conditional writes that each claim the key's state was theirs alone.
 */

import { contextTester } from './context.ts'
import type { CausalContext, Sibling, SiblingSet } from './types.ts'

/**
 * - `if-none-match`: the key has no live value (`If-None-Match: *`); tombstones do not count.
 * - `if-match`: the key holds exactly what the write's context saw: no value and no delete the
 *   context has not seen (`If-Match: <context>`).
 */
export type WriteCondition = 'if-none-match' | 'if-match'

/**
 * The siblings of `set` that make `condition` fail for a write whose context is `context`: the
 * versions the context has not seen (for `if-none-match`, only live ones). Empty means it holds.
 */
export function unmetBy (set: SiblingSet, context: CausalContext, condition: WriteCondition): Sibling[] {
  const seen = contextTester(context)
  return set.siblings.filter(s => (condition === 'if-match' || !s.deleted) && !seen(s.dot))
}
