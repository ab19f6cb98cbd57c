/**
 * Storage: a peer's durable records (one sibling set per key), its storage epoch and its
 * incarnation counter. `LevelEngine` keeps them in one LevelDB under the data dir; `MemoryEngine`
 * has the same semantics in memory, for unit tests. Only this folder touches LevelDB.
 *
 * @example
 * ```ts
 * const engine = new LevelEngine({ logger: defaultLogger() }, { path: '/var/lib/p2pstore/storage' })
 * await engine.open()
 * const stored = await engine.update(key, current => merge(current, incoming))
 * await engine.close()
 * ```
 *
 * @packageDocumentation
 */

export { LevelEngine } from './level-engine.ts'
export type { LevelEngineInit } from './level-engine.ts'
export { MemoryEngine } from './memory-engine.ts'
export type { ChangeListener, Engine, EngineOptions, EntriesOptions, StoredRecord, UpdateOptions } from './engine.ts'
export type { EncryptionStatus } from './level-engine.ts'
export { keyFingerprint } from './encryption.ts'
export type { DataKeyStatus, EncryptionInit, KeyringStatus } from './encryption.ts'
export { ENCRYPTION_KEY_ENV, encryptionKeyWarnings, readEncryptionKeyFile, resolveEncryptionKey, writeEncryptionKeyFile } from './encryption-key.ts'
export type { EncryptionKey } from './encryption-key.ts'
