/**
 * Types of p2pstore's causality tracking: dots, causal contexts and sibling sets — the "dotted
 * causal container" of delta-state CRDTs (Almeida, Shoker, Baquero, "Delta State Replicated Data
 * Types", 2018, section 7) applied to Dynamo-style multi-value registers, as Riak's dotted version
 * vectors do (Preguiça et al., "Dotted Version Vectors: Logical Clocks for Optimistic
 * Replication", 2010).
 *
 * @packageDocumentation
 */

/**
 * Identifies who issued a dot. Encoded as lowercase hex of its bytes: the peer's 8-byte storage
 * epoch (random, new whenever its data dir is created) followed by a per-key incarnation number
 * (a big-endian uint32 the peer persists and bumps each time it starts holding a key from nothing).
 * So an actor issues dots for exactly one key, contiguously from 1, and a peer that lost its disk,
 * or dropped a key and got it back, never reuses a dot (Riak KV679).
 */
export type Actor = string

/** One event: the `counter`-th write issued by `actor`. */
export interface Dot {
  actor: Actor
  counter: number
}

/**
 * A set of dots, compactly: `vv` holds, per actor, the contiguous prefix 1..n; `cloud` holds dots
 * beyond it that are known without their predecessors. Normalized (`compact`): no cloud dot is
 * covered by `vv`, and no cloud dot is `vv[actor] + 1`.
 */
export interface CausalContext {
  vv: Map<Actor, number>
  cloud: Dot[]
}

/** One version of a value. A tombstone (`deleted`) is a version too, so deletes order like writes. */
export interface Sibling {
  dot: Dot
  /** the value bytes; empty for a tombstone */
  value: Uint8Array
  /** wall-clock ms when the coordinator made the write; used only by the optional LWW read policy */
  timestamp: number
  /** true for a tombstone */
  deleted: boolean
}

/**
 * Everything a replica holds for one key: the live versions (siblings) and the context of every
 * version it has seen, including superseded ones. Invariant: every sibling's dot is in `context`.
 */
export interface SiblingSet {
  siblings: Sibling[]
  context: CausalContext
}
