/**
 * Where the key-encryption key of encryption at rest comes from: a key file (`--encryption-key-file
 * FILE`, config.json `encryptionKeyFile`) or the environment (`P2PSTORE_ENCRYPTION_KEY`), both
 * holding the key as base64 of 32 bytes. Also what the daemon warns about: a key file on the same
 * device as the data dir (whoever takes the disk takes the key), or readable by others.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { EncryptionKeyError } from '../errors.ts'
import { KEY_BYTES } from './encryption.ts'

/** The environment variable that may hold the key-encryption key (base64). */
export const ENCRYPTION_KEY_ENV = 'P2PSTORE_ENCRYPTION_KEY'

/** A key-encryption key and where it came from (for messages). */
export interface EncryptionKey {
  key: Uint8Array
  source: string
  /** the key file, when it came from one */
  file?: string
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/** Parses base64 text holding a 32-byte key; `source` names where it came from in the error. */
export function parseEncryptionKey (text: string, source: string): Uint8Array {
  const trimmed = text.trim()
  const bytes = BASE64.test(trimmed) ? Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64') : undefined
  if (bytes?.byteLength !== KEY_BYTES) {
    throw new EncryptionKeyError(`${source} is not an encryption key: expected base64 of ${KEY_BYTES} bytes (44 characters), got ${bytes == null ? 'text that is not base64' : `${bytes.byteLength} bytes`}; create one with \`npx p2pstore encryption keygen FILE\``)
  }
  return new Uint8Array(bytes)
}

/** Reads a key file (base64 of 32 bytes on one line). */
export async function readEncryptionKeyFile (file: string): Promise<EncryptionKey> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new EncryptionKeyError(`cannot read the encryption key file ${file}: ${(err as Error).message}`, { cause: err })
  }
  const source = `the encryption key file ${file}`
  return { key: parseEncryptionKey(text, source), source, file }
}

/**
 * The key-encryption key from `file` if given, else from the environment variable's value, else
 * undefined (encryption at rest stays off, or start-up fails if the data dir is encrypted).
 */
export async function resolveEncryptionKey (file: string | undefined, envValue: string | undefined): Promise<EncryptionKey | undefined> {
  if (file != null) return readEncryptionKeyFile(file)
  if (envValue != null && envValue !== '') {
    const source = `the environment variable ${ENCRYPTION_KEY_ENV}`
    return { key: parseEncryptionKey(envValue, source), source }
  }
  return undefined
}

/** Writes a new random key file, mode 0600; refuses to replace one unless `force`. */
export async function writeEncryptionKeyFile (file: string, force = false): Promise<void> {
  const text = `${randomBytes(KEY_BYTES).toString('base64')}\n`
  try {
    await fs.writeFile(file, text, { mode: 0o600, flag: force ? 'w' : 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EncryptionKeyError(`${file} exists: a key file is never overwritten (the data it protects would be lost); pass --force to replace it`, { cause: err })
    }
    throw new EncryptionKeyError(`cannot write the encryption key file ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Warnings about where a key file lives: on the same device (filesystem) as the data dir, so that
 * a stolen disk or backup of it carries the key with the data; or readable by group or others.
 */
export async function encryptionKeyWarnings (file: string, dataDir: string): Promise<string[]> {
  const warnings: string[] = []
  const [keyStat, dirStat] = await Promise.all([fs.stat(file), fs.stat(dataDir)])
  if (keyStat.dev === dirStat.dev) {
    warnings.push(`the encryption key file ${file} is on the same disk as the data dir ${dataDir}: whoever gets the disk (or a backup of it) gets the key too; keep the key on another device, or pass it in ${ENCRYPTION_KEY_ENV}`)
  }
  // eslint-disable-next-line no-bitwise
  const mode = keyStat.mode & 0o777
  if (mode % 0o100 !== 0) {
    warnings.push(`the encryption key file ${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`)
  }
  return warnings
}
