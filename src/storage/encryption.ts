/**
 * Encryption at rest (SECURITY.md, "Encryption at rest"): envelope encryption of stored records
 * with AES-256-GCM.
 *
 * - A **key-encryption key** (KEK, 32 bytes) lives outside the data dir (a file or an environment
 *   variable) and is never stored. It wraps the data keys and authenticates the keyring.
 * - **Data keys** (DEKs, 32 random bytes each, numbered from 1) encrypt records. They are kept
 *   wrapped (AES-256-GCM under the KEK, authenticated data naming the DEK's id) in the keyring, one
 *   JSON document under `META_KEYS.encryption`, itself authenticated with an HMAC-SHA256 under a
 *   key derived from the KEK (HKDF), so that nothing in it can be changed without the KEK.
 * - **A record** is `0xe1 | DEK id (uint32 BE) | nonce (12 random bytes) | ciphertext | tag (16)`.
 *   Its authenticated data is a format label, that 5-byte header, and the record's LevelDB key
 *   (namespace byte + user key): a ciphertext moved to another key, re-labelled with another DEK,
 *   or with any bit flipped fails authentication and raises `IntegrityError`.
 * - The current DEK is rotated after `rotateAfter` encryptions (far below the 2^32 random-nonce
 *   invocations NIST SP 800-38D section 8.3 allows per key) and once it is `rotateInterval` old.
 *   Old DEKs stay in the keyring, so records written under them stay readable. Rotating the KEK
 *   rewraps the DEKs and touches no record.
 *
 * Only this file knows the cryptography; level-engine.ts stores what it produces.
 *
 * @packageDocumentation
 */

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ENCRYPTION_ROTATE_AFTER, ENCRYPTION_ROTATE_INTERVAL } from '../constants.ts'
import { DataDirError, EncryptionKeyError, IntegrityError } from '../errors.ts'
import { describeKey } from './layout.ts'

/** Bytes of the KEK and of every DEK (AES-256). */
export const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
/**
 * First byte of an encrypted record. A plaintext `Record` (record.proto) never starts with it: it
 * would be the tag of field 28 with wire type 1, and a Record has fields 1 to 3 only.
 */
export const RECORD_MARKER = 0xe1
const HEADER_BYTES = 5
/** Bytes an encrypted record adds to the plaintext one: header, nonce and tag. */
export const RECORD_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES
const RECORD_AAD = new TextEncoder().encode('p2pstore/record/v1\0')
const DEK_AAD = 'p2pstore/dek/v1:'
const KEYRING_FORMAT = 1
/**
 * Encryptions reserved per durable write of the current DEK's counter (as incarnation numbers are
 * reserved in blocks): after a crash counting resumes above the reservation, so a DEK never serves
 * more than `rotateAfter` encryptions, at the price of one synced write per block.
 */
export const COUNT_BLOCK = 4096

/** How encryption at rest is run (LevelEngineInit.encryption). */
export interface EncryptionInit {
  /** the key-encryption key: 32 bytes, kept outside the data dir */
  key: Uint8Array
  /**
   * Where the key came from, named in error messages.
   *
   * @default 'the encryption key given'
   */
  keySource?: string
  /**
   * Encryptions under one data key before it is rotated (NIST SP 800-38D section 8.3: at most
   * 2^32 with random nonces).
   *
   * @default ENCRYPTION_ROTATE_AFTER (2^28)
   */
  rotateAfter?: number
  /**
   * A data key is rotated once it is this many milliseconds old (checked on every write).
   *
   * @default ENCRYPTION_ROTATE_INTERVAL (7 days)
   */
  rotateInterval?: number
  /**
   * Told of migration progress when encryption is turned on for a data dir that holds records.
   *
   * @default undefined
   */
  onProgress?(done: number, total: number): void
  /**
   * The clock of the rotation schedule (tests move it).
   *
   * @default Date.now
   */
  now?(): number
}

/** One data key as `encryption status` shows it. */
export interface DataKeyStatus {
  /** the DEK's number, stored in each record it encrypted */
  id: number
  /** when it was created (ms since the epoch) */
  createdAt: number
  /** encryptions under it: an upper bound, counted in blocks of `COUNT_BLOCK` across restarts */
  encryptions: number
  /** whether new records are encrypted with it */
  current: boolean
}

/** The keyring as `encryption status` shows it. */
export interface KeyringStatus {
  /** 'migrating' while a data dir's existing records are being encrypted, then 'on' */
  state: 'migrating' | 'on'
  /** the KEK's fingerprint: 16 hex chars of HMAC-SHA256(KEK, label), not the key */
  kekFingerprint: string
  /** the data keys, oldest first */
  dataKeys: DataKeyStatus[]
  /** encryptions before the current data key is rotated */
  rotateAfter: number
  /** age (ms) at which the current data key is rotated */
  rotateInterval: number
}

interface DekEntry {
  id: number
  createdAt: number
  /** nonce | wrapped key | tag, base64 */
  wrapped: string
  /** encryptions reserved durably */
  reserved: number
}

interface KeyringBody {
  format: number
  state: 'migrating' | 'on'
  kek: string
  current: number
  deks: DekEntry[]
}

/** The KEK's fingerprint: identifies a key in messages and status without revealing it. */
export function keyFingerprint (kek: Uint8Array): string {
  return createHmac('sha256', kek).update('p2pstore/kek-fingerprint/v1').digest('hex').slice(0, 16)
}

function macKey (kek: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, new Uint8Array(0), 'p2pstore/keyring-mac/v1', 32))
}

function checkKek (kek: Uint8Array, source: string): void {
  if (!(kek instanceof Uint8Array) || kek.byteLength !== KEY_BYTES) {
    throw new EncryptionKeyError(`${source} is not an encryption key: expected ${KEY_BYTES} bytes, got ${kek?.byteLength ?? 0}`)
  }
}

function wrap (kek: Uint8Array, id: number, dek: Uint8Array): string {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', kek, nonce)
  cipher.setAAD(Buffer.from(`${DEK_AAD}${id}`))
  return Buffer.concat([nonce, cipher.update(dek), cipher.final(), cipher.getAuthTag()]).toString('base64')
}

function unwrap (kek: Uint8Array, entry: DekEntry, location: string): Buffer {
  const bytes = Buffer.from(entry.wrapped, 'base64')
  try {
    if (bytes.byteLength !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) throw new Error(`${bytes.byteLength} bytes`)
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(0, NONCE_BYTES))
    decipher.setAAD(Buffer.from(`${DEK_AAD}${entry.id}`))
    decipher.setAuthTag(bytes.subarray(NONCE_BYTES + KEY_BYTES))
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)), decipher.final()])
  } catch (err) {
    throw new IntegrityError(`data key #${entry.id} of the storage database at ${location} failed authentication: the keyring was damaged or altered; restore the data dir from a backup`, { cause: err })
  }
}

function isEntry (value: unknown): value is DekEntry {
  const e = value as Partial<DekEntry> | null
  return e != null && Number.isSafeInteger(e.id) && (e.id ?? 0) > 0 && Number.isSafeInteger(e.createdAt) &&
    typeof e.wrapped === 'string' && Number.isSafeInteger(e.reserved) && (e.reserved ?? -1) >= 0
}

/**
 * The data keys of one encrypted store, unwrapped in memory, and the rules for using them. Every
 * change of the keyring (a rotation, a counter reservation, a rewrap) is persisted through
 * `persist` (a synced write of `encode()`) before it takes effect; changes are serialized.
 */
export class Keyring {
  private kek: Uint8Array
  private body: KeyringBody
  private readonly deks = new Map<number, Buffer>()
  private readonly persist: (bytes: Uint8Array) => Promise<void>
  private readonly rotateAfter: number
  private readonly rotateInterval: number
  private readonly now: () => number
  private readonly location: string
  /** encryptions under the current DEK (after a reopen: its reservation) */
  private count: number
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (init: EncryptionInit, body: KeyringBody, location: string, persist: (bytes: Uint8Array) => Promise<void>) {
    this.kek = init.key
    this.body = body
    this.persist = persist
    this.location = location
    this.rotateAfter = init.rotateAfter ?? ENCRYPTION_ROTATE_AFTER
    this.rotateInterval = init.rotateInterval ?? ENCRYPTION_ROTATE_INTERVAL
    this.now = init.now ?? Date.now
    if (!Number.isSafeInteger(this.rotateAfter) || this.rotateAfter < 1 || this.rotateAfter > 2 ** 32) {
      throw new RangeError(`rotateAfter must be 1 to 2^32 encryptions, got ${this.rotateAfter}`)
    }
    for (const entry of body.deks) this.deks.set(entry.id, unwrap(this.kek, entry, location))
    this.count = this.entry(body.current).reserved
  }

  /**
   * A new keyring with one data key, for a store that turns encryption on. Nothing is persisted:
   * the caller writes `encode()` (with the schema version) in one batch.
   */
  static create (init: EncryptionInit, location: string, state: 'migrating' | 'on', persist: (bytes: Uint8Array) => Promise<void>): Keyring {
    checkKek(init.key, init.keySource ?? 'the encryption key given')
    const now = (init.now ?? Date.now)()
    const dek = randomBytes(KEY_BYTES)
    const body: KeyringBody = {
      format: KEYRING_FORMAT,
      state,
      kek: keyFingerprint(init.key),
      current: 1,
      deks: [{ id: 1, createdAt: now, wrapped: wrap(init.key, 1, dek), reserved: 0 }]
    }
    return new Keyring(init, body, location, persist)
  }

  /**
   * The keyring stored as `bytes`. A KEK other than the one the store was encrypted with raises
   * `EncryptionKeyError` naming both fingerprints; a keyring that fails authentication raises
   * `IntegrityError`. Writes nothing.
   */
  static load (bytes: Uint8Array, init: EncryptionInit, location: string, persist: (bytes: Uint8Array) => Promise<void>): Keyring {
    const source = init.keySource ?? 'the encryption key given'
    checkKek(init.key, source)
    let stored: { body?: unknown, mac?: unknown }
    try {
      stored = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch (err) {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} is unreadable; restore the data dir from a backup`, { cause: err })
    }
    if (stored == null || typeof stored !== 'object' || typeof stored.body !== 'string' || typeof stored.mac !== 'string') {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} is malformed; restore the data dir from a backup`)
    }
    let body: Partial<KeyringBody>
    try {
      body = JSON.parse(stored.body)
    } catch (err) {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} is unreadable; restore the data dir from a backup`, { cause: err })
    }
    // JSON of null, a number or a list is no keyring body (and null has no fields to read)
    if (body == null || typeof body !== 'object' || Array.isArray(body)) {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} is malformed; restore the data dir from a backup`)
    }
    if (body.format !== KEYRING_FORMAT) {
      throw new DataDirError(`the encryption keyring of the storage database at ${location} has format ${String(body.format)}, which this p2pstore does not read (it reads ${KEYRING_FORMAT}): upgrade p2pstore`)
    }
    const fingerprint = keyFingerprint(init.key)
    if (body.kek !== fingerprint) {
      throw new EncryptionKeyError(`${source} (fingerprint ${fingerprint}) is not the key-encryption key of the storage database at ${location} (fingerprint ${String(body.kek)}): pass the key it was encrypted with; nothing was written`)
    }
    const mac = createHmac('sha256', macKey(init.key)).update(stored.body).digest()
    const given = Buffer.from(stored.mac, 'base64')
    if (given.byteLength !== mac.byteLength || !timingSafeEqual(given, mac)) {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} failed authentication: it was damaged or altered; restore the data dir from a backup`)
    }
    if ((body.state !== 'on' && body.state !== 'migrating') || !Array.isArray(body.deks) || !body.deks.every(isEntry) ||
      !body.deks.some(e => e.id === body.current)) {
      throw new IntegrityError(`the encryption keyring of the storage database at ${location} is malformed; restore the data dir from a backup`)
    }
    return new Keyring(init, body as KeyringBody, location, persist)
  }

  /** The keyring as stored: the body as JSON text and its HMAC. */
  encode (): Uint8Array {
    return encodeBody(this.body, this.kek)
  }

  /** Whether the store's existing records are still being encrypted. */
  get migrating (): boolean {
    return this.body.state === 'migrating'
  }

  /** Whether `bytes` (a stored record) is encrypted, by its first byte. */
  static isEncrypted (bytes: Uint8Array): boolean {
    return bytes.byteLength > 0 && bytes[0] === RECORD_MARKER
  }

  /** The DEK id an encrypted record names, or undefined for a plaintext one. */
  static dataKeyOf (bytes: Uint8Array): number | undefined {
    if (!Keyring.isEncrypted(bytes) || bytes.byteLength < HEADER_BYTES) return undefined
    return new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES).getUint32(1)
  }

  /**
   * Encrypts the record stored under LevelDB key `dbKey` with the current DEK and a fresh random
   * nonce, first rotating the DEK (or reserving more encryptions) when due.
   */
  async seal (dbKey: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    while (this.due() !== undefined) {
      await this.exclusive(async () => {
        const due = this.due()
        if (due === 'rotate') await this.rotateNow()
        else if (due === 'reserve') await this.commit({ ...this.body, deks: this.body.deks.map(e => e.id === this.body.current ? { ...e, reserved: Math.min(this.rotateAfter, this.count + COUNT_BLOCK) } : e) })
      })
    }
    const id = this.body.current
    const dek = this.deks.get(id)
    if (dek == null) throw new Error(`data key #${id} is not loaded`)
    this.count++
    const header = Buffer.allocUnsafe(HEADER_BYTES)
    header[0] = RECORD_MARKER
    header.writeUInt32BE(id, 1)
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', dek, nonce)
    cipher.setAAD(Buffer.concat([RECORD_AAD, header, dbKey]))
    return Buffer.concat([header, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  }

  /**
   * Decrypts the record stored under `dbKey` (user key `key`, for messages). Anything that fails
   * authentication raises `IntegrityError`; a plaintext record is accepted only while migrating.
   */
  open (dbKey: Uint8Array, key: Uint8Array, stored: Uint8Array): Uint8Array {
    if (!Keyring.isEncrypted(stored)) {
      if (this.migrating) return stored
      throw new IntegrityError(`the record for key ${describeKey(key)} in the encrypted storage database at ${this.location} is not encrypted: it was damaged or written by something else; delete the key so replicas restore it, or restore the data dir from a backup`)
    }
    const id = Keyring.dataKeyOf(stored)
    const dek = id == null ? undefined : this.deks.get(id)
    if (stored.byteLength < RECORD_OVERHEAD || dek == null) {
      throw new IntegrityError(`the record for key ${describeKey(key)} in the storage database at ${this.location} is damaged (${stored.byteLength < RECORD_OVERHEAD ? `${stored.byteLength} bytes, too short` : `names unknown data key #${id}`}); delete the key so replicas restore it, or restore the data dir from a backup`)
    }
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength)
    try {
      const decipher = createDecipheriv('aes-256-gcm', dek, bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES))
      decipher.setAAD(Buffer.concat([RECORD_AAD, bytes.subarray(0, HEADER_BYTES), dbKey]))
      decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES))
      const plain = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES + NONCE_BYTES, bytes.byteLength - TAG_BYTES)), decipher.final()])
      return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength)
    } catch (err) {
      throw new IntegrityError(`the record for key ${describeKey(key)} in the storage database at ${this.location} failed authentication (data key #${String(id)}): it was damaged on disk or altered; delete the key so replicas restore it, or restore the data dir from a backup`, { cause: err })
    }
  }

  /** Ends a migration: from now on every record must be encrypted. */
  async finishMigration (): Promise<void> {
    await this.exclusive(async () => { await this.commit({ ...this.body, state: 'on' }) })
  }

  /** Makes a new DEK the current one now (older DEKs stay, for the records they encrypted). */
  async rotate (): Promise<number> {
    return this.exclusive(async () => this.rotateNow())
  }

  /** Wraps every DEK under `kek` instead, in one write; no record changes. */
  async rewrap (kek: Uint8Array, source = 'the new encryption key'): Promise<void> {
    checkKek(kek, source)
    await this.exclusive(async () => {
      const body: KeyringBody = {
        ...this.body,
        kek: keyFingerprint(kek),
        deks: this.body.deks.map(e => {
          const dek = this.deks.get(e.id)
          if (dek == null) throw new Error(`data key #${e.id} is not loaded`)
          return { ...e, wrapped: wrap(kek, e.id, dek) }
        })
      }
      await this.persist(encodeBody(body, kek))
      this.body = body
      this.kek = kek
    })
  }

  /** What `encryption status` shows. */
  status (): KeyringStatus {
    return {
      state: this.body.state,
      kekFingerprint: this.body.kek,
      dataKeys: this.body.deks.map(e => ({
        id: e.id,
        createdAt: e.createdAt,
        encryptions: e.id === this.body.current ? this.count : e.reserved,
        current: e.id === this.body.current
      })),
      rotateAfter: this.rotateAfter,
      rotateInterval: this.rotateInterval
    }
  }

  private entry (id: number): DekEntry {
    const entry = this.body.deks.find(e => e.id === id)
    if (entry == null) throw new Error(`data key #${id} is not in the keyring`)
    return entry
  }

  /** What must happen before the next encryption: a rotation, a reservation, or nothing. */
  private due (): 'rotate' | 'reserve' | undefined {
    const current = this.entry(this.body.current)
    if (this.count >= this.rotateAfter || this.now() - current.createdAt >= this.rotateInterval) return 'rotate'
    if (this.count >= current.reserved) return 'reserve'
    return undefined
  }

  private async rotateNow (): Promise<number> {
    const id = Math.max(...this.body.deks.map(e => e.id)) + 1
    const dek = randomBytes(KEY_BYTES)
    await this.commit({
      ...this.body,
      current: id,
      deks: [...this.body.deks, { id, createdAt: this.now(), wrapped: wrap(this.kek, id, dek), reserved: Math.min(this.rotateAfter, COUNT_BLOCK) }]
    })
    this.deks.set(id, dek)
    this.count = 0
    return id
  }

  /** Persists `body`, then makes it the keyring's. */
  private async commit (body: KeyringBody): Promise<void> {
    await this.persist(encodeBody(body, this.kek))
    this.body = body
  }

  private async exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => {})
    return run
  }
}

function encodeBody (body: KeyringBody, kek: Uint8Array): Uint8Array {
  const text = JSON.stringify(body)
  const mac = createHmac('sha256', macKey(kek)).update(text).digest('base64')
  return new TextEncoder().encode(JSON.stringify({ body: text, mac }))
}
