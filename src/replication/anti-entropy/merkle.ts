import { createHash } from 'node:crypto'
import { emptySiblingSet, mergeSiblingSets } from '../../clock/index.ts'
import { encodeSiblingSet } from '../../protocol/index.ts'
import { keyId } from '../../routing/index.ts'
import type { SiblingSet } from '../../clock/index.ts'

/** Number of leaves of the summary tree: keys are bucketed by the first byte of their key id. */
export const BUCKETS = 256

/** One key's entry in a summary. */
export interface KeyDigest {
  key: Uint8Array
  /** a hash of the key's whole sibling set (its canonical encoding) */
  hash: Uint8Array
}

/**
 * A two-level Merkle tree over a set of keys: 256 leaves (one per first byte of the key id), each
 * the hash of its keys' (key id, state hash) pairs in key-id order, and a root over the leaves.
 * Two replicas compare roots, then leaves, then only the keys of differing leaves — the
 * exchange Dynamo (section 4.7) and Riak's active anti-entropy use, flattened to two levels.
 */
export class Summary {
  /** digests per bucket, in key-id order */
  readonly buckets: KeyDigest[][] = Array.from({ length: BUCKETS }, () => [])
  private readonly ids = new Map<KeyDigest, Uint8Array>()
  private leafHashes?: Uint8Array[]

  /** Adds a key with its current state. */
  add (key: Uint8Array, state: SiblingSet): void {
    const id = keyId(key)
    const digest = { key, hash: stateHash(state) }
    this.ids.set(digest, id)
    this.buckets[id[0] ?? 0]?.push(digest)
    this.leafHashes = undefined
  }

  /** The 256 leaf hashes (an empty leaf hashes to an empty array). */
  leaves (): Uint8Array[] {
    this.leafHashes ??= this.buckets.map(bucket => {
      if (bucket.length === 0) return new Uint8Array(0)
      const sorted = [...bucket].sort((a, b) => Buffer.compare(this.ids.get(a) ?? a.key, this.ids.get(b) ?? b.key))
      const h = createHash('sha256')
      for (const d of sorted) h.update(this.ids.get(d) ?? d.key).update(d.hash)
      return h.digest().subarray(0, 16)
    })
    return this.leafHashes
  }

  /** The root hash over all leaves. */
  root (): Uint8Array {
    const h = createHash('sha256')
    for (const leaf of this.leaves()) h.update(Uint8Array.of(leaf.length)).update(leaf)
    return h.digest().subarray(0, 16)
  }

  /** how many keys */
  get size (): number {
    return this.ids.size
  }
}

/** Indexes of the leaves that differ between two leaf lists. */
export function differingBuckets (a: Uint8Array[], b: Uint8Array[]): number[] {
  const out: number[] = []
  for (let i = 0; i < BUCKETS; i++) {
    if (Buffer.compare(a[i] ?? new Uint8Array(0), b[i] ?? new Uint8Array(0)) !== 0) out.push(i)
  }
  return out
}

/** The hash that identifies a sibling set's content (canonical: merges sort siblings, contexts are normalized). */
export function stateHash (state: SiblingSet): Uint8Array {
  // merging with nothing yields the canonical form (sorted siblings, normalized context)
  return createHash('sha256').update(encodeSiblingSet(mergeSiblingSets(state, emptySiblingSet()))).digest().subarray(0, 16)
}
