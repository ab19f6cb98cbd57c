import { emptySiblingSet, mergeSiblingSets, siblingSetsEqual, unmetBy } from '../clock/index.ts'
import { PreconditionFailedError } from '../errors.ts'
import type { SiblingSet, WriteCondition } from '../clock/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Merges a sibling set received from another peer into the local copy of `key`, atomically and
 * durably. A record's local fields (its actor) are kept. `hintFor` marks a copy this peer did not
 * hold yet as hinted for those owners, sent by `hintFrom`; on a copy it already holds, hints only
 * grow if it was hinted already (a real replica never becomes a hint), and the copy keeps its
 * first sender. Nothing new means no write at all, and an empty state never creates a record.
 */
export async function mergeIntoLocal (engine: Engine, key: Uint8Array, state: SiblingSet, options: AbortOptions = {}, hintFor?: string[], hintFrom?: string): Promise<void> {
  await engine.update(key, current => {
    const merged = mergeSiblingSets(current?.set ?? emptySiblingSet(), state)
    const hints = current == null ? hintFor : current.hintFor == null ? undefined : mergeHints(current.hintFor, hintFor)
    if (current == null ? siblingSetsEqual(merged, emptySiblingSet()) : siblingSetsEqual(merged, current.set) && sameHints(hints, current.hintFor)) return undefined
    const from = hints == null ? undefined : current == null ? hintFrom : current.hintFrom
    return { set: merged, actor: current?.actor, hintFor: hints, ...(from == null ? {} : { hintFrom: from }) }
  }, options)
}

/**
 * Merges a coordinator's conditional write (`delta`: its new sibling and the context it covers)
 * into the local copy only if the condition holds against what this replica holds, checked under
 * the key's lock: every version here the delta's context has not seen (live ones only for
 * `if-none-match`) refuses it with `PreconditionFailedError`, and nothing is stored. A replica that
 * took one conditional write thus refuses a concurrent one that did not see it.
 */
export async function mergeIfConditionHolds (engine: Engine, key: Uint8Array, delta: SiblingSet, condition: WriteCondition, options: AbortOptions = {}): Promise<void> {
  await engine.update(key, current => {
    const set = current?.set ?? emptySiblingSet()
    const unmet = unmetBy(set, delta.context, condition)
    if (unmet.length > 0) {
      throw new PreconditionFailedError(`precondition failed (${condition}): this replica holds ${unmet.length} version${unmet.length === 1 ? '' : 's'} the write has not seen`)
    }
    const merged = mergeSiblingSets(set, delta)
    if (current != null && siblingSetsEqual(merged, current.set)) return undefined
    return { set: merged, actor: current?.actor, hintFor: current?.hintFor, ...(current?.hintFrom == null ? {} : { hintFrom: current.hintFrom }) }
  }, options)
}

/**
 * Deletes the record of `key` only if it still holds exactly `state` (checked under the key's
 * lock), so a write that arrived since `state` was read is never lost. Resolves whether it deleted.
 */
export async function deleteIfUnchanged (engine: Engine, key: Uint8Array, state: SiblingSet, options: AbortOptions = {}): Promise<boolean> {
  let deleted = false
  await engine.update(key, current => {
    if (current == null || !siblingSetsEqual(current.set, state)) return undefined
    deleted = true
    return null
  }, options)
  return deleted
}

/** The union of two hint-owner lists (undefined when both are empty). */
export function mergeHints (a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  const all = [...new Set([...(a ?? []), ...(b ?? [])])].sort()
  return all.length === 0 ? undefined : all
}

function sameHints (a: string[] | undefined, b: string[] | undefined): boolean {
  return (a ?? []).join(',') === (b ?? []).join(',')
}
