/**
 * What both engines share: the open/close life cycle, per-key serialization of writes, abort and
 * key checks, record encoding and validation, and the incarnation counter. An engine only says how
 * to open its store and how to read, write, delete and scan raw record bytes, so the LevelDB and
 * the memory engine cannot drift apart in semantics.
 *
 * @packageDocumentation
 */

import { InvalidParametersError, NotStartedError } from '@libp2p/interface'
import { toString as uint8ArrayToString } from 'uint8arrays'
import { MAX_KEY_BYTES } from '../constants.ts'
import { DataDirError, KeyTooLargeError } from '../errors.ts'
import { DEFAULT_KV_LIMITS } from '../protocol/index.ts'
import { KeyLock, throwIfAborted } from './key-lock.ts'
import { describeKey, keyRange } from './layout.ts'
import { decodeRecord, encodeRecord } from './record-codec.ts'
import type { ChangeListener, Engine, EngineOptions, EntriesOptions, StoredRecord, UpdateOptions } from './engine.ts'
import type { KeyRange } from './layout.ts'
import type { KvLimits } from '../protocol/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Largest incarnation number: it is a big-endian uint32 inside actor ids (clock/types.ts). */
export const MAX_INCARNATION = 0xffff_ffff

/**
 * Incarnation numbers reserved per durable write of the counter. Every key a peer starts to
 * coordinate takes a number; persisting each one cost a synced write (an fsync) on the path of
 * every put of a new key. The counter on disk is instead the highest number reserved, written
 * before any number of the block is handed out: after a restart numbering resumes above it, so a
 * number is still never handed out twice, at the price of skipping the rest of a block (2^32
 * numbers last 4 million restarts).
 */
export const INCARNATION_BLOCK = 1024

/** Lock name of the incarnation counter; user keys lock under their hex, which has no colon. */
const INCARNATION_LOCK = 'meta:incarnation'

/** What an engine's store holds when it opens. */
export interface OpenedStore {
  /** the storage epoch, 16 lowercase hex chars */
  epoch: string
  /** the highest incarnation number reserved (every number up to it may have been handed out), 0 when none */
  incarnation: number
  /**
   * incarnation numbers up to this one are retired (`Engine.retiredUpTo`): the store decides it
   * when it opens — after an unclean close every number reserved so far is — and persists it
   */
  retiredUpTo: number
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Base class of the engines; see `Engine` for the contract. */
export abstract class AbstractEngine implements Engine {
  /** limits every stored record satisfies */
  protected readonly limits: KvLimits
  private readonly locks = new KeyLock()
  private readonly listeners = new Set<ChangeListener>()
  /** operations running or queued, which close() waits for */
  private readonly pending = new Set<Promise<unknown>>()
  private opening?: Promise<void>
  private closing?: Promise<void>
  private isOpen = false
  private currentEpoch?: string
  private incarnation = 0
  /** the highest incarnation number durably reserved */
  private reserved = 0
  private retired = 0
  /** a prepared write failed: the store must not be marked as closed cleanly */
  private unclean = false

  constructor (options: EngineOptions = {}) {
    this.limits = {
      maxValueBytes: options.limits?.maxValueBytes ?? DEFAULT_KV_LIMITS.maxValueBytes,
      maxSiblings: options.limits?.maxSiblings ?? DEFAULT_KV_LIMITS.maxSiblings,
      maxContextEntries: options.limits?.maxContextEntries ?? DEFAULT_KV_LIMITS.maxContextEntries
    }
  }

  /** Where the data lives, for error messages. */
  protected abstract readonly location: string
  /** Opens the store, creating it when new. Must release everything it took if it fails. */
  protected abstract openStore (): Promise<OpenedStore>
  /** Releases the store; nothing is pending when it is called. */
  protected abstract closeStore (): Promise<void>
  /** The raw record of `key`, in memory the caller owns, or undefined. */
  protected abstract readRecord (key: Uint8Array): Promise<Uint8Array | undefined>
  /** Stores the raw record of `key` durably (as the engine's sync policy defines). */
  protected abstract writeRecord (key: Uint8Array, bytes: Uint8Array): Promise<void>
  /** Removes the record of `key` durably; absent is fine. */
  protected abstract deleteRecord (key: Uint8Array): Promise<void>
  /** Every key in bytewise key order, from a snapshot, with a reader of its raw record (decrypted, when encrypted, as it is read). */
  protected abstract scanRecords (range?: KeyRange): AsyncIterable<[Uint8Array, () => Uint8Array]>
  /** How many records there are. */
  protected abstract countRecords (options: AbortOptions): Promise<number>
  /** Persists the highest reserved incarnation number, always synchronously to disk. */
  protected abstract storeIncarnation (incarnation: number): Promise<void>
  /** Persists `retiredUpTo`, synchronously to disk. */
  protected abstract storeRetired (upTo: number): Promise<void>
  /**
   * Records, synchronously to disk, that the store is being closed cleanly; called by `close()`
   * once nothing is pending, unless a prepared write failed. The next open that finds no such
   * record retires every incarnation reserved before it.
   */
  protected abstract markClosedCleanly (): Promise<void>

  open (): Promise<void> {
    if (this.closing != null) {
      return Promise.reject(new NotStartedError(`the storage engine for ${this.location} was closed; create a new engine to open it again`))
    }
    this.opening ??= this.openOnce().catch((err: unknown) => {
      // a failed open may be retried (for example once the other process released the lock)
      this.opening = undefined
      throw err
    })
    return this.opening
  }

  private async openOnce (): Promise<void> {
    const { epoch, incarnation, retiredUpTo } = await this.openStore()
    this.currentEpoch = epoch
    this.retired = retiredUpTo
    // numbers up to the reservation on disk may have been handed out before: resume above it
    this.incarnation = incarnation
    this.reserved = incarnation
    // close() may have been called while we opened: it waits for us, then closes the store
    if (this.closing == null) this.isOpen = true
  }

  close (): Promise<void> {
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce (): Promise<void> {
    this.isOpen = false
    const opening = this.opening
    if (opening == null) return
    try {
      await opening
    } catch {
      // the open failed and released the store itself: nothing to close
      return
    }
    await Promise.allSettled([...this.pending])
    try {
      if (!this.unclean) await this.markClosedCleanly()
    } finally {
      await this.closeStore()
    }
  }

  get retiredUpTo (): number {
    if (this.currentEpoch == null) throw new NotStartedError('the storage engine is not open: call open() first')
    return this.retired
  }

  get epoch (): string {
    if (this.currentEpoch == null) throw new NotStartedError('the storage engine is not open: call open() first')
    return this.currentEpoch
  }

  async get (key: Uint8Array, options: AbortOptions = {}): Promise<StoredRecord | undefined> {
    this.checkKey(key)
    return this.track(options, async () => {
      const bytes = await this.readRecord(key)
      return bytes == null ? undefined : this.decode(key, bytes)
    })
  }

  async update (key: Uint8Array, fn: (current: StoredRecord | undefined) => StoredRecord | null | undefined | Promise<StoredRecord | null | undefined>, options: UpdateOptions = {}): Promise<StoredRecord | undefined> {
    this.checkKey(key)
    return this.track(options, async () => this.locks.run(this.lockName(key), async () => {
      const bytes = await this.readRecord(key)
      // fn gets its own copy, so whatever it mutates cannot leak into what we return or store
      const current = bytes == null ? undefined : this.decode(key, bytes.slice())
      const next = await fn(current)
      if (next === undefined) return bytes == null ? undefined : this.decode(key, bytes)
      if (next === null) {
        // an atomic conditional delete: fn saw the record under the key's lock
        if (bytes != null) {
          await this.deleteRecord(key)
          this.changed(key, undefined)
        }
        return undefined
      }

      let encoded: Uint8Array
      let stored: StoredRecord
      try {
        encoded = encodeRecord(next)
        // validate before writing: a record we could not read back must never reach the disk
        stored = decodeRecord(encoded, this.limits)
      } catch (err) {
        throw new InvalidParametersError(`refusing to store an invalid record for key ${describeKey(key)}: ${messageOf(err)}`)
      }
      if (options.onPrepared == null) {
        await this.writeRecord(key, encoded)
      } else {
        try {
          options.onPrepared(stored)
          await this.writeRecord(key, encoded)
        } catch (err) {
          // what onPrepared handed out may be on its way without being stored here
          await this.retireAll()
          throw err
        }
      }
      this.changed(key, stored)
      return stored
    }, options))
  }

  async delete (key: Uint8Array, options: AbortOptions = {}): Promise<void> {
    this.checkKey(key)
    await this.track(options, async () => this.locks.run(this.lockName(key), async () => {
      await this.deleteRecord(key)
      this.changed(key, undefined)
    }, options))
  }

  onChange (listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Tells the listeners, still under the key's lock, so they see one key's changes in order. */
  private changed (key: Uint8Array, record: StoredRecord | undefined): void {
    for (const listener of this.listeners) listener(key, record)
  }

  async * entries (options: EntriesOptions = {}): AsyncGenerator<{ key: Uint8Array, record: StoredRecord }> {
    this.assertOpen()
    throwIfAborted(options.signal)
    for await (const [key, read] of this.scanRecords(keyRange(options))) {
      throwIfAborted(options.signal)
      let record: StoredRecord
      try {
        record = this.decode(key, read())
      } catch (err) {
        if (options.onDamaged == null) throw err
        options.onDamaged(key, err as Error)
        continue
      }
      yield { key, record }
    }
  }

  async count (options: AbortOptions = {}): Promise<number> {
    return this.track(options, async () => this.countRecords(options))
  }

  async nextIncarnation (options: AbortOptions = {}): Promise<number> {
    // serialized, and the memory copy moves only after the disk did: concurrent callers never
    // share a number, and a number is never handed out before it is durable
    return this.track(options, async () => this.locks.run(INCARNATION_LOCK, async () => {
      const next = this.incarnation + 1
      if (next > MAX_INCARNATION) {
        throw new DataDirError(`the storage database at ${this.location} has used up its ${MAX_INCARNATION} incarnation numbers; move the data dir aside so a new storage epoch starts`)
      }
      if (next > this.reserved) {
        const reserve = Math.min(MAX_INCARNATION, next + INCARNATION_BLOCK - 1)
        await this.storeIncarnation(reserve)
        this.reserved = reserve
      }
      this.incarnation = next
      return next
    }, options))
  }

  /**
   * Retires every incarnation handed out so far, here and (best effort, and through the missing
   * clean-close record in any case) after a restart.
   */
  private async retireAll (): Promise<void> {
    this.unclean = true
    this.retired = Math.max(this.retired, this.incarnation)
    // if this fails too, the next open retires them anyway: close() no longer records a clean close
    await this.storeRetired(this.retired).catch(() => {})
  }

  /** Runs an operation on the open engine and lets close() wait for it. */
  private async track<T> (options: AbortOptions, operation: () => Promise<T>): Promise<T> {
    this.assertOpen()
    throwIfAborted(options.signal)
    const running = operation()
    this.pending.add(running)
    try {
      return await running
    } finally {
      this.pending.delete(running)
    }
  }

  private assertOpen (): void {
    if (!this.isOpen) {
      throw new NotStartedError(this.closing != null ? `the storage engine for ${this.location} is closed` : 'the storage engine is not open: call open() first')
    }
  }

  private checkKey (key: Uint8Array): void {
    if (!(key instanceof Uint8Array)) throw new InvalidParametersError('a key must be a Uint8Array')
    if (key.byteLength === 0 || key.byteLength > MAX_KEY_BYTES) {
      throw new KeyTooLargeError(`key of ${key.byteLength} bytes (1–${MAX_KEY_BYTES} allowed)`)
    }
  }

  private lockName (key: Uint8Array): string {
    return uint8ArrayToString(key, 'base16')
  }

  /** Decodes a stored record; anything unreadable is a damaged data dir, reported with its key. */
  private decode (key: Uint8Array, bytes: Uint8Array): StoredRecord {
    try {
      return decodeRecord(bytes, this.limits)
    } catch (err) {
      throw new DataDirError(`corrupt record for key ${describeKey(key)} in the storage database at ${this.location}: ${messageOf(err)}; delete the key to drop it, or restore the data dir from a backup`, { cause: err })
    }
  }
}
