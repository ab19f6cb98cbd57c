/**
 * Replication: the `/p2pstore/kv/1.0.0` RPC with its dispatch map of one handler per request type,
 * the Dynamo-style coordinator (quorum put/get, forwarding to a home replica, read repair), hinted
 * and ownership handoff, and anti-entropy.
 *
 * @packageDocumentation
 */

export { Coordinator } from './coordinator.ts'
export type { CoordinatorComponents, CoordinatorInit, DeleteOptions, ReadOptions, ReadResult, WriteOptions, WriteResult } from './coordinator.ts'
export { AntiEntropy } from './anti-entropy/sync.ts'
export type { AntiEntropyComponents, AntiEntropyInit, AntiEntropyRound, AntiEntropySweep } from './anti-entropy/sync.ts'
export { Handoff } from './handoff.ts'
export type { HandoffComponents, HandoffInit, HandoffStats } from './handoff.ts'
export { HintQuota, hintBytes } from './hint-quota.ts'
export type { HintQuotaComponents, HintQuotaInit } from './hint-quota.ts'
export { Locator } from './locate.ts'
export type { KeyLocation, LocateOptions, LocatedCopy, LocatedPeer, LocatorComponents, LocatorInit } from './locate.ts'
export { Scanner } from './scan.ts'
export type { PageOptions, ScanOptions, ScanPage, ScannedKey, ScannerComponents, ScannerInit } from './scan.ts'
export { KvRpc, replicaHandlers } from './rpc/index.ts'
export type { KvHandlers, KvMessageHandler, KvRpcComponents, KvRpcInit, ReplicaHandlersComponents } from './rpc/index.ts'
