/**
 * API tokens: roles, optional key prefixes and expiries, kept in `<datadir>/api-tokens.json`
 * (mode 0600) as sha256 digests of the secrets, never the secrets themselves.
 *
 * A secret reads `p2ps_<id>_<43 characters of base64url>`: 256 random bits after the id. The id
 * finds the entry without scanning, then one constant-time comparison of two sha256 digests decides.
 * A 256-bit random secret cannot be guessed or brute-forced from its digest, so a slow password hash
 * (scrypt, argon2) would add nothing but cost on every request.
 *
 * `TokenStore.entries()` re-reads the file whenever its stamp (inode, mtime, size) changed: one
 * `stat` per call, so a daemon sees `p2pstore token revoke` on the very next request.
 *
 * This module knows nothing of HTTP: `api/auth.ts` maps routes to the permissions below.
 *
 * @packageDocumentation
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { InvalidParametersError, NotFoundError } from '@libp2p/interface'
import { DATADIR_FILES } from '../constants.ts'
import { DataDirError, InvalidConfigurationError, UnauthorizedError } from '../errors.ts'
import type { DataDir } from '../datadir/index.ts'

/** What a token may do. `metrics` is for Prometheus scrapers: `/metrics` and `/v1/health` only. */
export type Role = 'read' | 'write' | 'admin' | 'metrics'

/** Every role, in order of what it allows. */
export const ROLES: readonly Role[] = ['metrics', 'read', 'write', 'admin']

/** What a route needs; `api/auth.ts` gives each route one. */
export type Permission = 'health' | 'metrics' | 'read' | 'write' | 'admin'

/**
 * Role → the permissions it holds. `read` reads keys, status and peers; `write` adds PUT and
 * DELETE of keys; `admin` holds everything (fault injection too); `metrics` only scrapes.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  metrics: new Set(['health', 'metrics']),
  read: new Set(['health', 'read']),
  write: new Set(['health', 'read', 'write']),
  admin: new Set(['health', 'metrics', 'read', 'write', 'admin'])
}

/** One token as stored in `api-tokens.json`. Times are ISO 8601 strings. */
export interface TokenEntry {
  /** public name of the token, part of its secret (`p2ps_<id>_…`) */
  id: string
  role: Role
  /** only keys starting with this (UTF-8 text) may be read or written; absent = every key */
  prefix?: string
  createdAt: string
  /** refused from this time on; absent = never expires */
  expiresAt?: string
  /** sha256 of the secret, hex */
  hash: string
  /** refused from this time on; set by `revoke()` */
  revokedAt?: string
  /** set by `rotate()` */
  rotatedAt?: string
  /** the secret before the last rotation, still accepted until `until` */
  previous?: { hash: string, until: string }
}

/** A token as `list()` shows it: no digest, and its state now. */
export interface TokenView {
  id: string
  role: Role
  prefix?: string
  createdAt: string
  expiresAt?: string
  revokedAt?: string
  rotatedAt?: string
  /** until when the secret before the last rotation still works (only while it does) */
  graceUntil?: string
  state: 'active' | 'expired' | 'revoked'
}

/** A new secret, shown once. */
export interface IssuedToken {
  /** the token as stored, without its digest */
  token: TokenView
  /** the bearer secret: `p2ps_<id>_<base64url>` */
  secret: string
}

/** Options of `TokenStore.create()`. */
export interface CreateTokenOptions {
  role: Role
  /** restrict the token to keys starting with this; read and write roles only */
  prefix?: string
  /** ms from now until it expires. @default undefined (never) */
  expiresIn?: number
}

/** Options of `TokenStore`. */
export interface TokenStoreInit {
  /** the clock (ms since the epoch); tests move it. @default Date.now */
  now?(): number
}

/** The shape of `api-tokens.json`. */
interface TokenFile {
  version: 1
  tokens: TokenEntry[]
}

/** The id under which `importLegacy()` keeps a pre-roles `<datadir>/api-token`. */
export const LEGACY_TOKEN_ID = 'legacy'

const SECRET_PREFIX = 'p2ps_'
const SECRET_FORMAT = /^p2ps_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/
const ID_FORMAT = /^(?:[0-9a-f]{12}|legacy)$/
const HASH_FORMAT = /^[0-9a-f]{64}$/

/** True when `text` has the shape of a secret minted here (as opposed to a legacy `api-token`). */
export function isTokenSecret (text: string): boolean {
  return SECRET_FORMAT.test(text)
}

/** The API tokens of one data dir. */
export class TokenStore {
  private readonly dataDir: DataDir
  private readonly now: () => number
  private stamp?: string
  private cache: TokenEntry[] = []
  private byId = new Map<string, TokenEntry>()

  constructor (dataDir: DataDir, init: TokenStoreInit = {}) {
    this.dataDir = dataDir
    this.now = init.now ?? Date.now
  }

  /** Path of the token file. */
  get file (): string {
    return this.dataDir.file(DATADIR_FILES.apiTokens)
  }

  /**
   * Every entry (revoked and expired ones too), re-read when the file changed since the last call.
   * A corrupt file raises `DataDirError`: requests then fail rather than pass.
   */
  entries (): readonly TokenEntry[] {
    const stamp = this.dataDir.fileStamp(DATADIR_FILES.apiTokens)
    if (stamp !== this.stamp) {
      const text = this.dataDir.readTextSync(DATADIR_FILES.apiTokens)
      this.cache = text == null ? [] : parseTokenFile(text, this.file)
      this.byId = new Map(this.cache.map(entry => [entry.id, entry]))
      this.stamp = stamp
    }
    return this.cache
  }

  /** Entries neither revoked nor expired. */
  usable (): TokenEntry[] {
    return this.entries().filter(entry => this.state(entry) === 'active')
  }

  /** Every token's public fields and state, never a secret or a digest. */
  list (): TokenView[] {
    return this.entries().map(entry => this.view(entry))
  }

  /**
   * The entry whose secret `secret` is, or `UnauthorizedError`: unknown or wrong secret, revoked,
   * expired, or the secret before a rotation once its grace has ended.
   */
  verify (secret: string): TokenEntry {
    this.entries()
    const id = SECRET_FORMAT.exec(secret)?.[1] ?? LEGACY_TOKEN_ID
    const entry = this.byId.get(id)
    const digest = sha256(secret)
    // always one comparison against a 32-byte digest, found or not, so timing tells nothing
    const current = safeEqual(digest, entry?.hash)
    const previous = !current && safeEqual(digest, entry?.previous?.hash)
    if (entry == null || (!current && !previous)) throw new UnauthorizedError('unknown or wrong bearer token')
    const now = this.now()
    if (entry.revokedAt != null) throw new UnauthorizedError(`token ${entry.id} was revoked at ${entry.revokedAt}`)
    if (entry.expiresAt != null && Date.parse(entry.expiresAt) <= now) throw new UnauthorizedError(`token ${entry.id} expired at ${entry.expiresAt}`)
    if (previous && Date.parse(entry.previous?.until ?? '') <= now) {
      throw new UnauthorizedError(`token ${entry.id} was rotated at ${entry.rotatedAt ?? '?'}; its old secret stopped working at ${entry.previous?.until ?? '?'}`)
    }
    return entry
  }

  /** Mints a token and stores its digest. The secret is in the answer and nowhere else. */
  async create (options: CreateTokenOptions): Promise<IssuedToken> {
    if (!ROLES.includes(options.role)) throw new InvalidParametersError(`role "${String(options.role)}" is not one of ${ROLES.join(', ')}`)
    if (options.prefix != null) {
      if (options.prefix === '') throw new InvalidParametersError('--prefix must not be empty (omit it for every key)')
      if (options.role !== 'read' && options.role !== 'write') {
        throw new InvalidParametersError(`--prefix scopes keys, so it fits the read and write roles only, not ${options.role}`)
      }
    }
    if (options.expiresIn != null && (!Number.isFinite(options.expiresIn) || options.expiresIn <= 0)) {
      throw new InvalidParametersError(`the expiry must be a positive duration, got ${options.expiresIn} ms`)
    }
    const entries = [...this.entries()]
    let id: string
    do id = randomBytes(6).toString('hex'); while (this.byId.has(id))
    const secret = mintSecret(id)
    const now = this.now()
    const entry: TokenEntry = {
      id,
      role: options.role,
      ...(options.prefix == null ? {} : { prefix: options.prefix }),
      createdAt: iso(now),
      ...(options.expiresIn == null ? {} : { expiresAt: iso(now + options.expiresIn) }),
      hash: sha256(secret).toString('hex')
    }
    await this.save([...entries, entry])
    return { token: this.view(entry), secret }
  }

  /** Refuses the token from now on (the daemon sees it on its next request). Idempotent. */
  async revoke (id: string): Promise<TokenView> {
    const entry = this.find(id)
    if (entry.revokedAt != null) return this.view(entry)
    const revoked: TokenEntry = { ...entry, revokedAt: iso(this.now()) }
    delete revoked.previous
    await this.replace(revoked)
    return this.view(revoked)
  }

  /**
   * A new secret for the same token (same id, role, prefix and expiry). The old secret keeps
   * working for `grace` ms (0: refused at once); only the one before is kept.
   */
  async rotate (id: string, grace = 0): Promise<IssuedToken> {
    if (!Number.isFinite(grace) || grace < 0) throw new InvalidParametersError(`the grace must be 0 or a positive duration, got ${grace} ms`)
    const entry = this.find(id)
    const state = this.state(entry)
    if (state !== 'active') throw new InvalidParametersError(`token ${id} is ${state}: create a new one with \`npx p2pstore token create\``)
    const secret = mintSecret(entry.id)
    const now = this.now()
    const rotated: TokenEntry = { ...entry, hash: sha256(secret).toString('hex'), rotatedAt: iso(now) }
    delete rotated.previous
    if (grace > 0) rotated.previous = { hash: entry.hash, until: iso(now + grace) }
    await this.replace(rotated)
    return { token: this.view(rotated), secret }
  }

  /**
   * Keeps a token from before roles existed (a bare secret in `<datadir>/api-token`) working: it
   * becomes the admin token `legacy`. Does nothing when that entry exists already, so a revoked
   * legacy token stays revoked. Resolves true when it imported.
   */
  async importLegacy (secret: string): Promise<boolean> {
    if (this.entries().some(entry => entry.id === LEGACY_TOKEN_ID)) return false
    const entry: TokenEntry = { id: LEGACY_TOKEN_ID, role: 'admin', createdAt: iso(this.now()), hash: sha256(secret).toString('hex') }
    await this.save([...this.entries(), entry])
    return true
  }

  private state (entry: TokenEntry): TokenView['state'] {
    if (entry.revokedAt != null) return 'revoked'
    if (entry.expiresAt != null && Date.parse(entry.expiresAt) <= this.now()) return 'expired'
    return 'active'
  }

  private view (entry: TokenEntry): TokenView {
    const { hash: _hash, previous, ...rest } = entry
    const inGrace = previous != null && Date.parse(previous.until) > this.now()
    return { ...rest, ...(inGrace ? { graceUntil: previous.until } : {}), state: this.state(entry) }
  }

  private find (id: string): TokenEntry {
    this.entries()
    const entry = this.byId.get(id)
    if (entry == null) throw new NotFoundError(`no token ${id} in ${this.file} (see \`npx p2pstore token list\`)`)
    return entry
  }

  private async replace (entry: TokenEntry): Promise<void> {
    await this.save(this.entries().map(e => e.id === entry.id ? entry : e))
  }

  private async save (tokens: TokenEntry[]): Promise<void> {
    const file: TokenFile = { version: 1, tokens }
    await this.dataDir.writeText(DATADIR_FILES.apiTokens, `${JSON.stringify(file, null, 2)}\n`, 0o600)
    // read back on the next call, which also picks up the new stamp
    this.stamp = undefined
  }
}

/** Options of `openDaemonTokens()`. */
export interface DaemonTokensInit {
  /** the API host, for the messages */
  apiHost: string
  /** the API is reachable from other machines */
  beyondLoopback: boolean
  /** start beyond loopback without any token (the API is then open). @default false */
  insecure?: boolean
  /**
   * When the store holds no token, create an admin token and save its secret in
   * `<datadir>/api-token` for the CLI on this machine (test nets in network namespaces).
   *
   * @default false
   */
  initToken?: boolean
  now?(): number
}

/** What a daemon's API guard gets. */
export interface DaemonTokens {
  store: TokenStore
  /** demand a token even while the store is empty (beyond loopback without --insecure) */
  required: boolean
  /** what was done at start, for the log */
  notes: string[]
}

/**
 * The daemon's tokens at start. Beyond loopback, a bare secret in `<datadir>/api-token` from before
 * roles is imported as the admin token `legacy`; `initToken` creates an admin token when there is
 * none. Then a daemon beyond loopback without `insecure` and without a usable token is refused with
 * `InvalidConfigurationError`, naming both ways out.
 */
export async function openDaemonTokens (dataDir: DataDir, init: DaemonTokensInit): Promise<DaemonTokens> {
  const store = new TokenStore(dataDir, { now: init.now })
  const notes: string[] = []
  if (init.beyondLoopback) {
    const legacy = (await dataDir.readText(DATADIR_FILES.apiToken))?.trim() ?? ''
    if (legacy !== '' && !isTokenSecret(legacy) && await store.importLegacy(legacy)) {
      notes.push(`imported ${dataDir.file(DATADIR_FILES.apiToken)} as the admin token "${LEGACY_TOKEN_ID}"`)
    }
  }
  if (init.initToken === true && store.usable().length === 0) {
    const { token, secret } = await store.create({ role: 'admin' })
    await dataDir.writeText(DATADIR_FILES.apiToken, `${secret}\n`, 0o600)
    notes.push(`created the admin token ${token.id}; its secret is in ${dataDir.file(DATADIR_FILES.apiToken)}`)
  }
  const required = init.beyondLoopback && init.insecure !== true
  if (required && store.usable().length === 0) {
    throw new InvalidConfigurationError(`the API is bound to ${init.apiHost}, beyond loopback, and ${store.file} holds no usable token: ` +
      `create one first with \`p2pstore --data ${dataDir.path} token create --role admin --save\`, ` +
      `or start with --insecure to serve the API to anyone who can reach ${init.apiHost}`)
  }
  return { store, required, notes }
}

function mintSecret (id: string): string {
  return `${SECRET_PREFIX}${id}_${randomBytes(32).toString('base64url')}`
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

const ZERO_DIGEST = Buffer.alloc(32)

function safeEqual (digest: Buffer, hex: string | undefined): boolean {
  const expected = hex == null ? ZERO_DIGEST : Buffer.from(hex, 'hex')
  return timingSafeEqual(digest, expected.length === 32 ? expected : ZERO_DIGEST) && hex != null
}

function iso (ms: number): string {
  return new Date(ms).toISOString()
}

/** Parses and checks `api-tokens.json` (`file` is named in errors); anything unexpected is a `DataDirError` naming the file. */
export function parseTokenFile (text: string, file: string): TokenEntry[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new DataDirError(`${file} is not valid JSON (${(err as Error).message}); restore it, or remove it and create tokens again`, { cause: err })
  }
  const tokens = (parsed as Partial<TokenFile> | null)?.tokens
  if ((parsed as Partial<TokenFile> | null)?.version !== 1 || !Array.isArray(tokens)) {
    throw new DataDirError(`${file} is not a token file of version 1 ({ "version": 1, "tokens": [...] })`)
  }
  const bad = (i: number, what: string): DataDirError => new DataDirError(`${file}: token ${i} ${what}`)
  const isTime = (value: unknown): boolean => typeof value === 'string' && !Number.isNaN(Date.parse(value))
  tokens.forEach((raw: unknown, i) => {
    const t = (raw ?? {}) as Partial<TokenEntry>
    if (typeof t.id !== 'string' || !ID_FORMAT.test(t.id)) throw bad(i, 'has no valid id')
    if (!ROLES.includes(t.role as Role)) throw bad(i, `has role ${JSON.stringify(t.role)}, not one of ${ROLES.join(', ')}`)
    if (typeof t.hash !== 'string' || !HASH_FORMAT.test(t.hash)) throw bad(i, 'has no sha256 digest')
    if (t.prefix != null && (typeof t.prefix !== 'string' || t.prefix === '')) throw bad(i, 'has an invalid prefix')
    if (!isTime(t.createdAt)) throw bad(i, 'has no valid createdAt')
    for (const field of ['expiresAt', 'revokedAt', 'rotatedAt'] as const) {
      if (t[field] != null && !isTime(t[field])) throw bad(i, `has an invalid ${field}`)
    }
    if (t.previous != null && (typeof t.previous.hash !== 'string' || !HASH_FORMAT.test(t.previous.hash) || !isTime(t.previous.until))) {
      throw bad(i, 'has an invalid previous secret')
    }
  })
  return tokens as TokenEntry[]
}
