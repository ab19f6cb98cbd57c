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
import { DataDirError, DataDirLockedError, EncryptionKeyError } from '../errors.ts'
import { AbstractEngine } from './abstract-engine.ts'
import { Keyring } from './encryption.ts'
import { GroupCommit } from './group-commit.ts'
import { throwIfAborted } from './key-lock.ts'
import { META_KEYS, OBJECTS_RANGE, objectKey, userKey } from './layout.ts'
import { checkSchemaVersion, encodeSchemaVersion, ENCRYPTED_SCHEMA_VERSION, SCHEMA_VERSION } from './schema-version.ts'
import type { OpenedStore } from './abstract-engine.ts'
import type { EncryptionInit, KeyringStatus } from './encryption.ts'
import type { EngineOptions } from './engine.ts'
import type { KeyRange } from './layout.ts'
import type { AbortOptions, ComponentLogger, Logger } from '@libp2p/interface'

/** Bytes of the storage epoch. */
const EPOCH_BYTES = 8

/** Keys counted per round trip to LevelDB. */
const COUNT_BATCH = 1000

/** Records encrypted per synced batch when encryption is turned on for a store holding data. */
const MIGRATE_BATCH = 1000

/** Encryption at rest of an open store, as `p2pstore encryption status` shows it. */
export interface EncryptionStatus extends KeyringStatus {
  /** records per data key id (the id is in each record's header; nothing is decrypted to count) */
  recordsByDataKey: Record<number, number>
  /** records not encrypted yet (only while migrating) */
  plaintextRecords: number
}

/** What a `LevelEngine` needs from the peer. */
export interface LevelEngineComponents {
  logger: ComponentLogger
}

/** Options of a `LevelEngine`. */
export interface LevelEngineInit extends EngineOptions {
  /** directory of the LevelDB, created when missing (normally `<datadir>/storage`) */
  path: string
  /**
   * fsync LevelDB's log before acknowledging each write of a record (writes that arrive while a
   * sync runs share the next one: group commit). With `false` a write is
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
  /**
   * Encryption at rest (AES-256-GCM, encryption.ts) under this key-encryption key. Given for a new
   * store, it is created encrypted; given for a store holding plaintext records, `open()` encrypts
   * every record (reporting progress), then compacts the database so that no plaintext copy stays
   * in its files. A store once encrypted cannot be opened without it (`EncryptionKeyError`).
   *
   * @default undefined (records are stored in plaintext)
   */
  encryption?: EncryptionInit
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

/** The KEK fingerprint a stored keyring names, read without the key (for the missing-key message). */
function storedFingerprint (stored: Uint8Array): string {
  try {
    const { body } = JSON.parse(new TextDecoder().decode(stored)) as { body: string }
    const { kek } = JSON.parse(body) as { kek: unknown }
    return typeof kek === 'string' ? kek : 'unknown'
  } catch {
    return 'unreadable'
  }
}

/** How many records the objects namespace holds. */
async function countObjects (db: ClassicLevel<Uint8Array, Uint8Array>, options: AbortOptions): Promise<number> {
  const iterator = db.keys({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt })
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

/** Compacts every namespace: the first byte of every LevelDB key is below 0xff (layout.ts). */
async function compactAll (db: ClassicLevel<Uint8Array, Uint8Array>): Promise<void> {
  await db.compactRange(Uint8Array.of(0x00), Uint8Array.of(0xff))
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
  private readonly encryption?: EncryptionInit
  private keyring?: Keyring
  private db?: ClassicLevel<Uint8Array, Uint8Array>
  /**
   * Record writes and deletes, committed in groups: those arriving while a synced batch runs go
   * out together in the next one, with one fsync (group-commit.ts). Each is acknowledged only once
   * its batch is durable.
   */
  private readonly group = new GroupCommit(async operations => { await this.store().batch(operations, { sync: this.sync }) })

  constructor (components: LevelEngineComponents, init: LevelEngineInit) {
    super(init)
    this.location = path.resolve(init.path)
    this.sync = init.sync ?? true
    this.syncReads = init.syncReads ?? true
    this.encryption = init.encryption
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

    const persistKeyring = async (bytes: Uint8Array): Promise<void> => { await db.put(META_KEYS.encryption, bytes, { sync: true }) }

    if (checkSchemaVersion(version, empty, this.location) === 'new') {
      const epoch = randomBytes(EPOCH_BYTES)
      const keyring = this.encryption == null ? undefined : Keyring.create(this.encryption, this.location, 'on', persistKeyring)
      // one atomic, synced batch: a crash leaves either a complete meta namespace or an empty db
      await db.batch([
        { type: 'put', key: META_KEYS.version, value: encodeSchemaVersion(keyring == null ? SCHEMA_VERSION : ENCRYPTED_SCHEMA_VERSION) },
        { type: 'put', key: META_KEYS.epoch, value: epoch },
        { type: 'put', key: META_KEYS.incarnation, value: encodeIncarnation(0) },
        { type: 'put', key: META_KEYS.retired, value: encodeIncarnation(0) },
        ...(keyring == null ? [] : [{ type: 'put' as const, key: META_KEYS.encryption, value: keyring.encode() }])
      ], { sync: true })
      this.keyring = keyring
      const hex = uint8ArrayToString(epoch, 'base16')
      this.log('created the storage database at %s with epoch %s, encryption at rest %s', this.location, hex, keyring == null ? 'off' : 'on')
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
    // every check of the key happens before the first write: a wrong or missing key changes nothing
    const { keyring, enable } = this.loadKeyring(await db.get(META_KEYS.encryption), version, persistKeyring)
    // after a crash, writes prepared before it may have sent dots this store never got to keep
    const retiredUpTo = closedCleanly ? decodeUint32(retired) : Math.max(decodeUint32(retired), reserved)
    if (!closedCleanly) this.log('%s was not closed cleanly: incarnations up to %d are retired', this.location, retiredUpTo)
    // one synced batch: from here until close() the store counts as open, so a crash is noticed
    await db.batch([
      { type: 'put', key: META_KEYS.retired, value: encodeIncarnation(retiredUpTo) },
      { type: 'del', key: META_KEYS.closedCleanly },
      ...(enable && keyring != null
        ? [{ type: 'put' as const, key: META_KEYS.encryption, value: keyring.encode() }, { type: 'put' as const, key: META_KEYS.version, value: encodeSchemaVersion(ENCRYPTED_SCHEMA_VERSION) }]
        : [])
    ], { sync: true })
    this.keyring = keyring
    if (keyring?.migrating === true) await this.migrate(db, keyring)
    return { epoch: uint8ArrayToString(epoch, 'base16'), incarnation: reserved, retiredUpTo }
  }

  /**
   * The keyring of an existing store, checked against the key given; writes nothing. `enable` when
   * the store has none and a key was given: encryption is being turned on.
   */
  private loadKeyring (stored: Uint8Array | undefined, version: Uint8Array | undefined, persist: (bytes: Uint8Array) => Promise<void>): { keyring?: Keyring, enable: boolean } {
    const encryptedSchema = version != null && new TextDecoder().decode(version) === String(ENCRYPTED_SCHEMA_VERSION)
    if (stored == null) {
      if (encryptedSchema) {
        throw new DataDirError(`the storage database at ${this.location} has schema version ${ENCRYPTED_SCHEMA_VERSION} (encrypted) but no encryption keyring; it is damaged: restore the data dir from a backup`)
      }
      if (this.encryption == null) return { enable: false }
      this.log('turning encryption at rest on for %s: every record is encrypted now', this.location)
      return { keyring: Keyring.create(this.encryption, this.location, 'migrating', persist), enable: true }
    }
    if (!encryptedSchema) {
      throw new DataDirError(`the storage database at ${this.location} holds an encryption keyring but is not of schema version ${ENCRYPTED_SCHEMA_VERSION}; it is damaged: restore the data dir from a backup`)
    }
    if (this.encryption == null) {
      throw new EncryptionKeyError(`the storage database at ${this.location} is encrypted (key-encryption key fingerprint ${storedFingerprint(stored)}) and no key was given: pass it with --encryption-key-file FILE, config.json "encryptionKeyFile" or the environment variable P2PSTORE_ENCRYPTION_KEY; nothing was written`)
    }
    return { keyring: Keyring.load(stored, this.encryption, this.location, persist), enable: false }
  }

  /**
   * Encrypts every plaintext record in synced batches (resumable: a crash leaves the keyring
   * migrating, and the next open carries on), ends the migration, then compacts the whole database
   * so that the plaintext copies in LevelDB's log and table files are dropped.
   */
  private async migrate (db: ClassicLevel<Uint8Array, Uint8Array>, keyring: Keyring): Promise<void> {
    const total = await countObjects(db, {})
    let done = 0
    let encrypted = 0
    let batch: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }> = []
    const flush = async (): Promise<void> => {
      if (batch.length > 0) await db.batch(batch, { sync: true })
      batch = []
      this.encryption?.onProgress?.(done, total)
      this.log('encrypting %s: %d of %d records', this.location, done, total)
    }
    for await (const [dbKey, value] of db.iterator({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt })) {
      if (!Keyring.isEncrypted(value)) {
        batch.push({ type: 'put', key: dbKey, value: await keyring.seal(dbKey, plain(value)) })
        encrypted++
      }
      done++
      if (batch.length >= MIGRATE_BATCH) await flush()
    }
    await flush()
    await keyring.finishMigration()
    await compactAll(db)
    this.log('encryption at rest is on for %s: %d records encrypted, database compacted', this.location, encrypted)
  }

  /** Encryption at rest of the open store, or undefined when it is off. Scans every record's header. */
  async encryptionStatus (options: AbortOptions = {}): Promise<EncryptionStatus | undefined> {
    const db = this.store()
    if (this.keyring == null) return undefined
    const recordsByDataKey: Record<number, number> = {}
    let plaintextRecords = 0
    for await (const value of db.values({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt })) {
      throwIfAborted(options.signal)
      const id = Keyring.dataKeyOf(value)
      if (id == null) plaintextRecords++
      else recordsByDataKey[id] = (recordsByDataKey[id] ?? 0) + 1
    }
    return { ...this.keyring.status(), recordsByDataKey, plaintextRecords }
  }

  /** Rotates the data key now: new records are encrypted under a new one. Resolves its id. */
  async rotateDataKey (): Promise<number> {
    this.store()
    if (this.keyring == null) throw new EncryptionKeyError(`encryption at rest is off for ${this.location}: there is no data key to rotate`)
    return this.keyring.rotate()
  }

  /**
   * Wraps every data key under a new key-encryption key, in one synced write; no record is
   * rewritten. From then on the store opens with `kek` only.
   */
  async rewrapDataKeys (kek: Uint8Array, source?: string): Promise<void> {
    this.store()
    if (this.keyring == null) throw new EncryptionKeyError(`encryption at rest is off for ${this.location}: there is no data key to rewrap`)
    await this.keyring.rewrap(kek, source)
  }

  /** Compacts the whole database (LevelDB drops overwritten and deleted values from its files). */
  async compact (): Promise<void> {
    await compactAll(this.store())
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
    if (bytes == null) return undefined
    return this.keyring == null ? plain(bytes) : this.keyring.open(dbKey, key, plain(bytes))
  }

  protected async writeRecord (key: Uint8Array, bytes: Uint8Array): Promise<void> {
    const dbKey = objectKey(key)
    const value = this.keyring == null ? bytes : await this.keyring.seal(dbKey, bytes)
    await this.group.write({ type: 'put', key: dbKey, value })
  }

  protected async deleteRecord (key: Uint8Array): Promise<void> {
    await this.group.write({ type: 'del', key: objectKey(key) })
  }

  protected async * scanRecords (range: KeyRange = {}): AsyncGenerator<[Uint8Array, () => Uint8Array]> {
    // a LevelDB iterator reads from an implicit snapshot taken when it is created; it seeks to the
    // range's start, so a page of a listing costs its own size, not the keys before it
    const lower = range.gt != null ? { gt: objectKey(range.gt) } : { gte: range.gte != null ? objectKey(range.gte) : OBJECTS_RANGE.gte }
    const iterator = this.store().iterator({ ...lower, lt: range.lt != null ? objectKey(range.lt) : OBJECTS_RANGE.lt })
    try {
      for await (const [dbKey, value] of iterator) {
        const key = userKey(dbKey)
        // opened by the caller, so that a record failing authentication can be skipped (entries' onDamaged)
        const keyring = this.keyring
        yield [key, () => keyring == null ? plain(value) : keyring.open(dbKey, key, plain(value))]
      }
    } catch (err) {
      if (isNotOpen(err)) throw new NotStartedError(`the storage database at ${this.location} was closed during iteration`)
      throw err
    }
  }

  protected async countRecords (options: AbortOptions): Promise<number> {
    return countObjects(this.store(), options)
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
