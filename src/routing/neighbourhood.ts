/**
 * The XOR neighbourhood of a member (issue #16): the members it shares replica sets with, ranked by
 * how much of the key space they share. For each of the member's positions, the key at that
 * position has a preference list; every other member on it (among the first `n`) shares that
 * stretch of key space with this one. Counting over all positions weighs each neighbour by how
 * many of the member's positions it shares a replica set at — a stand-in for the fraction of keys
 * both hold, exact enough to rank (128 positions per unit of capacity). Pure: no I/O.
 */

import { memberPositions, positionCount } from './positions.ts'
import type { PlacedMember, PlacementTable } from './positions.ts'

/** One neighbour and how many of the member's positions it shares a preference list at. */
export interface Neighbour<T> {
  member: T
  weight: number
}

/**
 * The members `self` shares replica sets with in `table`, heaviest first (ties by kad id, so every
 * caller ranks alike), at most `k`. `n` is how much of each position's preference list counts:
 * the home replicas (N) by default; a larger `n` takes fallbacks in too. `self` itself is never in
 * the answer; a `self` the table does not hold has no neighbourhood.
 */
export function neighbourhood<T extends PlacedMember> (table: PlacementTable<T>, self: PlacedMember, n: number, k = Infinity): Array<Neighbour<T>> {
  if (k <= 0 || n <= 1) return []
  const selfKey = hex(self.kadId)
  if (!table.members.some(m => hex(m.kadId) === selfKey)) return []
  const weights = new Map<string, Neighbour<T>>()
  const target = new Uint8Array(4)
  const view = new DataView(target.buffer)
  for (const position of memberPositions(self.kadId, positionCount(self.capacity))) {
    view.setUint32(0, position)
    for (const member of table.preferenceList(target, n, n)) {
      const id = hex(member.kadId)
      if (id === selfKey) continue
      const entry = weights.get(id)
      if (entry == null) weights.set(id, { member, weight: 1 })
      else entry.weight++
    }
  }
  return [...weights.entries()]
    .sort(([a, x], [b, y]) => y.weight - x.weight || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, k)
    .map(([, entry]) => entry)
}

function hex (id: Uint8Array): string {
  return Buffer.from(id).toString('hex')
}
