/**
 * The data dir: everything a peer keeps between runs, and the only place that touches those files.
 *
 * Layout (see `DATADIR_FILES`): `version` (schema), `identity.key` (Ed25519, protobuf, mode 0600),
 * `config.json` (operator settings), `api` (the running daemon's URL), `api-token`,
 * `api-tokens.json` and `daemon.lock`. The directory itself is created mode 0700.
 *
 * @packageDocumentation
 */

import { constants as fsConstants, readFileSync, statSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { DATADIR_FILES, DATADIR_VERSION } from '../constants.ts'
import { DataDirError, DataDirLockedError, InvalidConfigurationError } from '../errors.ts'
import { isAlive, writeFileAtomic } from '../util/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const VERSION_FILE = 'version'

/** What `DataDir.open()` found or created. */
export interface DataDirState {
  /** true when this call created the data dir (first run) */
  created: boolean
  /** the peer's persistent identity */
  privateKey: PrivateKey
}

/**
 * One peer's data dir. Construct with its path; nothing touches the disk until `open()`.
 */
export class DataDir {
  /** absolute path of the directory */
  readonly path: string
  private lockHeld = false

  constructor (dir: string) {
    this.path = path.resolve(dir)
  }

  /** Absolute path of a file inside the data dir. */
  file (name: string): string {
    return path.join(this.path, name)
  }

  /**
   * Opens the data dir, creating it (with a fresh identity) when it does not exist yet. Fails with
   * `DataDirError` when the path is not a usable directory, the schema version is unknown, or the
   * identity key is unreadable — it never overwrites an existing identity.
   */
  async open (): Promise<DataDirState> {
    let created = false
    const stat = await fs.stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw new DataDirError(`data dir ${this.path} is not usable: ${err.message}`, { cause: err })
    })

    if (stat == null) {
      await fs.mkdir(this.path, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        throw new DataDirError(`cannot create data dir ${this.path}: ${err.message}`, { cause: err })
      })
      created = true
    } else if (!stat.isDirectory()) {
      throw new DataDirError(`data dir ${this.path} exists but is not a directory`)
    }

    await this.assertAccessible()

    if (created || !(await this.exists(VERSION_FILE))) {
      await this.writeAtomic(VERSION_FILE, `${DATADIR_VERSION}\n`, 0o644)
    } else {
      await this.checkVersion()
    }

    const privateKey = await this.loadOrCreateIdentity()
    return { created, privateKey }
  }

  /**
   * Takes the exclusive daemon lock (a pid file created with O_EXCL). A lock left by a process that
   * no longer exists is taken over; one held by a live process raises `DataDirLockedError`.
   */
  async lock (): Promise<void> {
    const lockPath = this.file(DATADIR_FILES.lock)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o644 })
        this.lockHeld = true
        return
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new DataDirError(`cannot lock data dir ${this.path}: ${(err as Error).message}`, { cause: err })
        }
      }

      const holder = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10)
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(`data dir ${this.path} is in use by a running daemon (pid ${holder})`)
      }
      // stale lock: its owner is gone (crash, kill -9); remove it and try once more
      await fs.rm(lockPath, { force: true })
    }
    throw new DataDirLockedError(`data dir ${this.path} is being locked by another process right now`)
  }

  /** Releases the lock taken by `lock()`; safe to call when not held. */
  async unlock (): Promise<void> {
    if (!this.lockHeld) return
    this.lockHeld = false
    await fs.rm(this.file(DATADIR_FILES.lock), { force: true })
  }

  /** Reads `config.json`; an absent file is an empty config, a malformed one an error naming the file. */
  async readConfig (): Promise<Record<string, unknown>> {
    let text: string
    try {
      text = await fs.readFile(this.file(DATADIR_FILES.config), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw new DataDirError(`cannot read ${this.file(DATADIR_FILES.config)}: ${(err as Error).message}`, { cause: err })
    }
    return parseConfigText(text, this.file(DATADIR_FILES.config))
  }

  /** Writes `config.json` atomically (write to a temp file, then rename). */
  async writeConfig (config: Record<string, unknown>): Promise<void> {
    await this.writeAtomic(DATADIR_FILES.config, `${JSON.stringify(config, null, 2)}\n`, 0o644)
  }

  /** Reads a text file of the data dir, or `undefined` when it does not exist. */
  async readText (name: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.file(name), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new DataDirError(`cannot read ${this.file(name)}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Writes a text file of the data dir atomically with the given mode. */
  async writeText (name: string, text: string, mode = 0o644): Promise<void> {
    await this.writeAtomic(name, text, mode)
  }

  /**
   * A stamp of a file's current contents (inode, mtime in ns, size), or `undefined` when it does
   * not exist: one synchronous `stat`, a few microseconds, so callers can check on every request
   * whether a file changed. Atomic writes rename a new inode into place, so every write changes it.
   */
  fileStamp (name: string): string | undefined {
    try {
      const stat = statSync(this.file(name), { bigint: true })
      return `${stat.ino}:${stat.mtimeNs}:${stat.size}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new DataDirError(`cannot stat ${this.file(name)}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** `readText()`, synchronously: for small files read on a request path after `fileStamp()` changed. */
  readTextSync (name: string): string | undefined {
    try {
      return readFileSync(this.file(name), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new DataDirError(`cannot read ${this.file(name)}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Removes a file of the data dir; absent is fine. */
  async remove (name: string): Promise<void> {
    await fs.rm(this.file(name), { force: true })
  }

  private async exists (name: string): Promise<boolean> {
    return fs.access(this.file(name)).then(() => true, () => false)
  }

  private async assertAccessible (): Promise<void> {
    try {
      // eslint-disable-next-line no-bitwise
      await fs.access(this.path, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK)
    } catch (err) {
      throw new DataDirError(`data dir ${this.path} is not readable and writable: ${(err as Error).message}`, { cause: err })
    }
  }

  private async checkVersion (): Promise<void> {
    const text = (await this.readText(VERSION_FILE))?.trim()
    const version = Number(text)
    if (!Number.isInteger(version) || version < 1) {
      throw new DataDirError(`data dir ${this.path} has a corrupt version file (${JSON.stringify(text)})`)
    }
    if (version > DATADIR_VERSION) {
      throw new DataDirError(`data dir ${this.path} has schema version ${version}, newer than this p2pstore understands (${DATADIR_VERSION}); upgrade p2pstore`)
    }
  }

  private async loadOrCreateIdentity (): Promise<PrivateKey> {
    const keyPath = this.file(DATADIR_FILES.identity)
    let bytes: Uint8Array | undefined
    try {
      bytes = await fs.readFile(keyPath)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new DataDirError(`cannot read identity ${keyPath}: ${(err as Error).message}`, { cause: err })
      }
    }

    if (bytes != null) {
      try {
        return privateKeyFromProtobuf(bytes)
      } catch (err) {
        throw new DataDirError(`identity ${keyPath} is corrupt (${(err as Error).message}); restore it from a backup, or move it away to start as a new peer`, { cause: err })
      }
    }

    const key = await generateKeyPair('Ed25519')
    await this.writeAtomic(DATADIR_FILES.identity, privateKeyToProtobuf(key), 0o600)
    return key
  }

  private async writeAtomic (name: string, data: string | Uint8Array, mode: number): Promise<void> {
    const target = this.file(name)
    await writeFileAtomic(target, data, { mode }).catch((err: unknown) => {
      throw new DataDirError(`cannot write ${target}: ${(err as Error).message}`, { cause: err })
    })
  }
}

/**
 * The settings object of a `config.json`'s text (`file` is named in errors): not JSON, or JSON
 * but no object, raises `InvalidConfigurationError`.
 */
export function parseConfigText (text: string, file: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new InvalidConfigurationError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidConfigurationError(`${file} must hold a JSON object`)
  }
  return parsed as Record<string, unknown>
}
