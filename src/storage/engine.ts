/**
 * The storage contract every engine fulfils (LevelDB for peers, memory for unit tests), checked by
 * the shared compliance suite in test/storage/compliance.ts.
 *
 * @packageDocumentation
 */

import type { Actor, SiblingSet } from '../clock/index.ts'
import type { KvLimits } from '../protocol/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Options of `Engine.entries()`. */
export interface EntriesOptions extends AbortOptions {
  /**
   * Told of each record that cannot be read (`DataDirError`, or `IntegrityError` when encrypted),
   * which is then skipped: for scans that must not stop at one damaged key. @default the scan throws
   */
  onDamaged?(key: Uint8Array, err: Error): void
  /**
   * Only keys that start with these bytes (a range read, not a filter: the scan seeks to the
   * prefix and ends past it). @default every key
   */
  prefix?: Uint8Array
  /** Only keys strictly after this one, bytewise: where a paged listing resumes. @default from the first key */
  after?: Uint8Array
}

/** What a peer keeps for one key. */
export interface StoredRecord {
  /** the replica's sibling set for the key */
  set: SiblingSet
  /**
   * this peer's actor for the key (lowercase hex), once it has coordinated a write of it; local
   * only, never replicated
   */
  actor?: Actor
  /**
   * Set on a hinted copy: the peer ids of the home replicas this peer holds the key for (sloppy
   * quorum). Local only, never replicated.
   */
  hintFor?: string[]
  /**
   * On a hinted copy: the peer id of the peer that sent it, whose hinted-storage quota it counts
   * against. Absent when this peer's own client wrote it. Local only, never replicated.
   */
  hintFrom?: string
}

/**
 * Told of every change to a key's record, synchronously, once the change is durable: `record` is
 * the record as stored, or undefined when it was deleted. Changes of one key arrive in the order
 * they were made (the engine calls listeners under the key's lock), so an index kept from them
 * matches the store. `delete()` of an absent key may be reported too. A listener must be quick and must not throw;
 * it must not call the engine.
 */
export type ChangeListener = (key: Uint8Array, record: StoredRecord | undefined) => void

/** Options of `Engine.update()`. */
export interface UpdateOptions extends AbortOptions {
  /**
   * Called once, synchronously, with the new record after it was validated and before it is
   * written: what it derives from the record (a coordinator's delta) may leave the process before
   * the record is durable. The engine then answers for the gap: if the write fails, or the
   * process dies before the write is durable, every incarnation handed out so far is retired (see
   * `retiredUpTo`), so no actor can issue a dot that already left. Not called when fn returns
   * undefined or null. It must not throw.
   */
  onPrepared?(record: StoredRecord): void
}

/** Options every engine takes. */
export interface EngineOptions {
  /**
   * Limits a record must satisfy to be written, and that records read back are checked against.
   * Pass the limits the kv protocol runs with, so that storage accepts whatever replication does.
   *
   * @default DEFAULT_KV_LIMITS (protocol/kv/codec.ts)
   */
  limits?: Partial<KvLimits>
}

/**
 * A peer's durable key-value storage: one `StoredRecord` per user key, plus the peer's storage
 * epoch and incarnation counter, from which it builds actor ids that are never reused (DESIGN.md
 * section 3; Riak KV679).
 *
 * Every method except `open()` and `close()` throws `NotStartedError` unless the engine is open.
 * Keys are 1 byte to `MAX_KEY_BYTES`; others raise `KeyTooLargeError`.
 */
export interface Engine {
  /**
   * Opens the engine. Idempotent: calls while it opens or once it is open return the same promise.
   * LevelEngine opens or creates the database, checks the schema version, and creates the storage
   * epoch when the database is new.
   */
  open(): Promise<void>

  /**
   * Waits for pending updates, deletes and incarnations, then releases the storage. Idempotent: a
   * second call returns the same promise. A closed engine cannot be opened again; make a new one.
   */
  close(): Promise<void>

  /**
   * 16 lowercase hex chars (8 random bytes), created once when the database is created anew and
   * stable across reopen. Throws `NotStartedError` before `open()` has resolved.
   */
  readonly epoch: string

  /**
   * The record stored for `key`, or undefined. A corrupt record raises `DataDirError`; with
   * encryption at rest, one that fails authentication raises `IntegrityError`.
   */
  get(key: Uint8Array, options?: AbortOptions): Promise<StoredRecord | undefined>

  /**
   * Atomic read-modify-write of one key: `fn` gets the current record (or undefined) and returns
   * the new one, undefined to leave it unchanged, or null to delete it (a conditional delete: the
   * record is removed only as `fn` saw it, with no write in between). Updates of the same key run strictly one
   * after another (serialized per key, FIFO); different keys run concurrently. The promise
   * resolves with the record as stored, only after the write is durable (sync write unless the
   * engine was opened with sync: false). If fn throws (or returns a rejected promise), nothing is
   * written and the error propagates unchanged. An already-aborted signal, or one that aborts
   * while the update waits for its turn, rejects with `AbortError` before fn runs; once fn runs the
   * update completes. A record that is not a valid sibling set (for example a sibling whose dot is
   * outside the context) raises `InvalidParametersError` and is not written.
   * `fn` must not update or delete the same key itself: that call would wait for `fn` forever.
   */
  update(key: Uint8Array, fn: (current: StoredRecord | undefined) => StoredRecord | null | undefined | Promise<StoredRecord | null | undefined>, options?: UpdateOptions): Promise<StoredRecord | undefined>

  /** Removes the record (serialized with updates of that key); absent is fine. */
  delete(key: Uint8Array, options?: AbortOptions): Promise<void>

  /**
   * Every record in key order (bytewise), from a consistent snapshot taken when iteration starts.
   * Throws `AbortError` when `options.signal` aborts, and `DataDirError` (or, encrypted,
   * `IntegrityError`) at a corrupt record — unless `options.onDamaged` is given: then a record that
   * cannot be read is reported to it and skipped, and the scan goes on.
   */
  entries(options?: EntriesOptions): AsyncIterable<{ key: Uint8Array, record: StoredRecord }>

  /** How many keys hold a record. */
  count(options?: AbortOptions): Promise<number>

  /**
   * Calls `listener` after every durable write or delete of a record, from now on (see
   * `ChangeListener`). Lets in-memory indexes (anti-entropy's Merkle leaves, handoff's work list)
   * follow the store without scanning it. Resolves nothing; returns a function that unsubscribes.
   */
  onChange(listener: ChangeListener): () => void

  /**
   * The next per-peer incarnation number: durable before it is returned (reserved on disk in
   * blocks, see `INCARNATION_BLOCK`), strictly increasing across restarts, starting at 1 (after a
   * restart it resumes above the last reserved block, not right after the last number handed
   * out). Concurrent calls get distinct numbers.
   */
  nextIncarnation(options?: AbortOptions): Promise<number>

  /**
   * Incarnation numbers up to this one are retired: an actor built on one must not issue another
   * dot (its coordinator takes a fresh actor instead). Retired are the numbers handed out before
   * the store was last left without `close()` (a crash, SIGKILL, power loss; also a database from
   * a version that did not record clean closes), and those handed out before an update whose
   * `onPrepared` ran failed to write. 0 when none. Throws `NotStartedError` before `open()`.
   */
  readonly retiredUpTo: number
}
