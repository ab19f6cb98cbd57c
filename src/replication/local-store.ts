import { emptySiblingSet, mergeSiblingSets, siblingSetsEqual } from '../clock/index.ts'
import type { SiblingSet } from '../clock/index.ts'
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
