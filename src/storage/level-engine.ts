/**
 * The peer's storage engine: one LevelDB (classic-level) under its data dir, laid out as in
 * layout.ts. Writes are synchronous by default: LevelDB's write-ahead log is fsynced before a
 * write is acknowledged, so an acknowledged write survives `kill -9` and power loss (DESIGN.md
 * section 6).
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { NotStartedError } from '@libp2p/interface'
import { ClassicLevel } from 'classic-level'
import { toString as uint8ArrayToString } from 'uint8arrays'
import { DataDirError, DataDirLockedError } from '../errors.ts'
import { AbstractEngine } from './abstract-engine.ts'
import { throwIfAborted } from './key-lock.ts'
import { META_KEYS, OBJECTS_RANGE, objectKey, userKey } from './layout.ts'
import { checkSchemaVersion, encodeSchemaVersion, SCHEMA_VERSION } from './schema-version.ts'
import type { OpenedStore } from './abstract-engine.ts'
import type { EngineOptions } from './engine.ts'
import type { AbortOptions, ComponentLogger, Logger } from '@libp2p/interface'

/** Bytes of the storage epoch. */
const EPOCH_BYTES = 8

/** Keys counted per round trip to LevelDB. */
const COUNT_BATCH = 1000

/** What a `LevelEngine` needs from the peer. */
export interface LevelEngineComponents {
  logger: ComponentLogger
}

/** Options of a `LevelEngine`. */
export interface LevelEngineInit extends EngineOptions {
  /** directory of the LevelDB, created when missing (normally `<datadir>/storage`) */
  path: string
  /**
   * fsync LevelDB's log before acknowledging each write of a record. With `false` a write is
   * acknowledged once it is in the operating system's cache: it survives `kill -9` but not power
   * loss or a kernel crash. The incarnation counter and the storage epoch are always synced.
   *
   * @default true
   */
  sync?: boolean
  /**
   * Read records with LevelDB's synchronous get instead of a round trip through libuv's thread
   * pool: microseconds for a record in memory or the page cache, where the asynchronous get waits
   * for an event-loop turn (~0.3 ms under load). A cold read from disk then blocks the event loop;
   * turn it off on slow disks holding far more data than RAM. Scans stay asynchronous.
   *
   * @default true
   */
  syncReads?: boolean
}

/** A view of `bytes` as a plain Uint8Array (classic-level hands out Buffers). */
function plain (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** Turns a failure to open LevelDB into an error the operator can act on. */
function openError (err: unknown, location: string): Error {
  const cause = (err as { cause?: unknown } | null)?.cause
  const codes = [errorCode(err), errorCode(cause)]
  const reason = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)
  if (codes.includes('LEVEL_LOCKED')) {
    return new DataDirLockedError(`the storage database at ${location} is locked by another process (LevelDB LOCK is held): stop the other p2pstore daemon using this data dir, or use another --data DIR`, { cause: err })
  }
  if (codes.includes('LEVEL_CORRUPTION')) {
    return new DataDirError(`the storage database at ${location} is corrupt (${reason}); restore the data dir from a backup`, { cause: err })
  }
  return new DataDirError(`cannot open the storage database at ${location}: ${reason}`, { cause: err })
}

/** Closed-database errors of classic-level, seen when close() races an iteration. */
function isNotOpen (err: unknown): boolean {
  const code = errorCode(err)
  return code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN'
}

function encodeIncarnation (incarnation: number): Uint8Array {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, incarnation)
  return bytes
}

/** A big-endian uint32 of 4 bytes (checked by the caller); absent reads as 0. */
function decodeUint32 (bytes: Uint8Array | undefined): number {
  return bytes == null ? 0 : new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
}

/**
 * The LevelDB storage engine. Construct it, `open()` it (which takes LevelDB's lock on the
 * directory: a second engine on the same path, in this or another process, fails with
 * `DataDirLockedError`), and `close()` it on shutdown.
 */
export class LevelEngine extends AbstractEngine {
  protected readonly location: string
  private readonly sync: boolean
  private readonly syncReads: boolean
  private readonly log: Logger
  private db?: ClassicLevel<Uint8Array, Uint8Array>

  constructor (components: LevelEngineComponents, init: LevelEngineInit) {
    super(init)
    this.location = path.resolve(init.path)
    this.sync = init.sync ?? true
    this.syncReads = init.syncReads ?? true
    this.log = components.logger.forComponent('p2pstore:storage:level')
  }

  protected async openStore (): Promise<OpenedStore> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(this.location, { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      throw openError(err, this.location)
    }

    try {
      const opened = await this.initialize(db)
      this.db = db
      this.log('opened %s: epoch %s, incarnation %d, sync %s, sync reads %s', this.location, opened.epoch, opened.incarnation, this.sync, this.syncReads)
      return opened
    } catch (err) {
      // release the LevelDB lock, or the next attempt would find its own lock held
      await db.close().catch((closeErr: unknown) => { this.log.error('closing %s after a failed open failed - %e', this.location, closeErr) })
      throw err
    }
  }

  /** Checks the schema version and reads the meta namespace; creates it when the database is new. */
  private async initialize (db: ClassicLevel<Uint8Array, Uint8Array>): Promise<OpenedStore> {
    const version = await db.get(META_KEYS.version)
    const empty = version == null && (await db.keys({ limit: 1 }).all()).length === 0

    if (checkSchemaVersion(version, empty, this.location) === 'new') {
      const epoch = randomBytes(EPOCH_BYTES)
      // one atomic, synced batch: a crash leaves either a complete meta namespace or an empty db
      await db.batch([
        { type: 'put', key: META_KEYS.version, value: encodeSchemaVersion(SCHEMA_VERSION) },
        { type: 'put', key: META_KEYS.epoch, value: epoch },
        { type: 'put', key: META_KEYS.incarnation, value: encodeIncarnation(0) },
        { type: 'put', key: META_KEYS.retired, value: encodeIncarnation(0) }
      ], { sync: true })
      const hex = uint8ArrayToString(epoch, 'base16')
      this.log('created the storage database at %s with epoch %s', this.location, hex)
      return { epoch: hex, incarnation: 0, retiredUpTo: 0 }
    }

    const epoch = await db.get(META_KEYS.epoch)
    if (epoch?.byteLength !== EPOCH_BYTES) {
      throw new DataDirError(`the storage database at ${this.location} has no valid storage epoch (${epoch == null ? 'missing' : `${epoch.byteLength} bytes`}); it is damaged: restore the data dir from a backup`)
    }
    const incarnation = await db.get(META_KEYS.incarnation)
    if (incarnation?.byteLength !== 4) {
      // never guess: restarting the counter would reuse actor ids (Riak KV679)
      throw new DataDirError(`the storage database at ${this.location} has no valid incarnation counter (${incarnation == null ? 'missing' : `${incarnation.byteLength} bytes`}); it is damaged: restore the data dir from a backup`)
    }
    const reserved = decodeUint32(incarnation)
    const retired = await db.get(META_KEYS.retired)
    if (retired != null && retired.byteLength !== 4) {
      throw new DataDirError(`the storage database at ${this.location} has an invalid retired-incarnations mark (${retired.byteLength} bytes); it is damaged: restore the data dir from a backup`)
    }
    const closedCleanly = await db.get(META_KEYS.closedCleanly) != null
    // after a crash, writes prepared before it may have sent dots this store never got to keep
    const retiredUpTo = closedCleanly ? decodeUint32(retired) : Math.max(decodeUint32(retired), reserved)
    if (!closedCleanly) this.log('%s was not closed cleanly: incarnations up to %d are retired', this.location, retiredUpTo)
    // one synced batch: from here until close() the store counts as open, so a crash is noticed
    await db.batch([
      { type: 'put', key: META_KEYS.retired, value: encodeIncarnation(retiredUpTo) },
      { type: 'del', key: META_KEYS.closedCleanly }
    ], { sync: true })
    return { epoch: uint8ArrayToString(epoch, 'base16'), incarnation: reserved, retiredUpTo }
  }

  protected async closeStore (): Promise<void> {
    const db = this.db
    this.db = undefined
    if (db == null) return
    await db.close()
    this.log('closed %s', this.location)
  }

  private store (): ClassicLevel<Uint8Array, Uint8Array> {
    if (this.db == null) throw new NotStartedError(`the storage database at ${this.location} is not open`)
    return this.db
  }

  protected async readRecord (key: Uint8Array): Promise<Uint8Array | undefined> {
    const dbKey = objectKey(key)
    const bytes = this.syncReads ? this.store().getSync(dbKey) : await this.store().get(dbKey)
    return bytes == null ? undefined : plain(bytes)
  }

  protected async writeRecord (key: Uint8Array, bytes: Uint8Array): Promise<void> {
    await this.store().put(objectKey(key), bytes, { sync: this.sync })
  }

  protected async deleteRecord (key: Uint8Array): Promise<void> {
    await this.store().del(objectKey(key), { sync: this.sync })
  }

  protected async * scanRecords (): AsyncGenerator<[Uint8Array, Uint8Array]> {
    // a LevelDB iterator reads from an implicit snapshot taken when it is created
    const iterator = this.store().iterator({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt })
    try {
      for await (const [dbKey, value] of iterator) {
        yield [userKey(dbKey), plain(value)]
      }
    } catch (err) {
      if (isNotOpen(err)) throw new NotStartedError(`the storage database at ${this.location} was closed during iteration`)
      throw err
    }
  }

  protected async countRecords (options: AbortOptions): Promise<number> {
    const iterator = this.store().keys({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt })
    let count = 0
    try {
      for (;;) {
        throwIfAborted(options.signal)
        const batch = await iterator.nextv(COUNT_BATCH)
        if (batch.length === 0) return count
        count += batch.length
      }
    } finally {
      await iterator.close()
    }
  }

  protected async storeRetired (upTo: number): Promise<void> {
    await this.store().put(META_KEYS.retired, encodeIncarnation(upTo), { sync: true })
  }

  protected async markClosedCleanly (): Promise<void> {
    await this.store().put(META_KEYS.closedCleanly, Uint8Array.of(1), { sync: true })
  }

  protected async storeIncarnation (incarnation: number): Promise<void> {
    // always synced, whatever `sync` says: a number handed out must never be handed out again
    await this.store().put(META_KEYS.incarnation, encodeIncarnation(incarnation), { sync: true })
  }
}
