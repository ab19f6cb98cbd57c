/**
 * Causality tracking for p2pstore: dotted causal containers of Dynamo-style siblings. Each version
 * of a value carries one dot (actor, counter); each replica keeps its siblings with the causal
 * context of everything it has seen, and replicas merge by the DotKernel join of delta-state CRDTs
 * (Almeida, Shoker, Baquero, "Delta State Replicated Data Types", 2018, section 7). This is what
 * dotted version vectors give Riak (Preguiça et al., "Dotted Version Vectors: Logical Clocks for
 * Optimistic Replication", 2010): a write with the context of what it read replaces exactly those
 * versions, concurrent and blind writes stay siblings, and nothing is silently dropped.
 *
 * Pure functions, no I/O: every input is left unchanged and every result is a new object.
 *
 * @packageDocumentation
 */

export type { Actor, Dot, CausalContext, Sibling, SiblingSet } from './types.ts'
export { addDot, contextContains, contextIncludes, contextSize, emptyContext, joinContexts, meetContexts, normalizeContext } from './context.ts'
export { emptySiblingSet, liveSiblings, mergeSiblingSets, nextDot, siblingSetsEqual } from './sibling-set.ts'
export { applyWrite } from './write.ts'
export { unmetBy } from './condition.ts'
export type { WriteCondition } from './condition.ts'
export type { WriteInit, WriteLimits, WriteResult } from './write.ts'
export { pruneContext } from './prune.ts'
export { resolveLww } from './lww.ts'
