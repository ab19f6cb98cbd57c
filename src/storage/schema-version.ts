/**
 * The schema version of the storage database, kept under `META_KEYS.version`. It is checked on
 * every open so that an older p2pstore never misreads (or, worse, rewrites) data laid out by a
 * newer one, and so that a LevelDB that p2pstore did not create is not mistaken for an empty
 * store.
 *
 * Version history:
 * - 1: namespaces of layout.ts; objects are `Record` messages (record.proto).
 * - 2: encryption at rest is on: the meta namespace holds the keyring (`META_KEYS.encryption`)
 *   and objects are encrypted records (encryption.ts). A store turns 2 when encryption is turned
 *   on, so an older p2pstore refuses it (asking for an upgrade) instead of misreading it; stores
 *   without encryption stay 1.
 *
 * @packageDocumentation
 */

import { DataDirError } from '../errors.ts'

/** The schema version this p2pstore creates stores with (without encryption at rest). */
export const SCHEMA_VERSION = 1

/** The schema version of a store with encryption at rest on; the newest this p2pstore reads. */
export const ENCRYPTED_SCHEMA_VERSION = 2

/** The stored form of a schema version: ASCII decimal, readable in a LevelDB dump. */
export function encodeSchemaVersion (version: number = SCHEMA_VERSION): Uint8Array {
  return new TextEncoder().encode(String(version))
}

/**
 * Checks the schema version stored in the database at `location`.
 *
 * @param stored - the bytes under `META_KEYS.version`, or undefined when the key is missing
 * @param empty - whether the database holds no key at all
 * @returns `'new'` when the database is empty and must be initialized, `'current'` when it is of
 * a schema version this p2pstore reads (1 or 2)
 * @throws DataDirError when the version is newer than this p2pstore supports, unreadable, or
 * missing from a database that holds data
 */
export function checkSchemaVersion (stored: Uint8Array | undefined, empty: boolean, location: string): 'new' | 'current' {
  if (stored == null) {
    if (empty) return 'new'
    throw new DataDirError(`the storage database at ${location} holds data but no schema version: it was not created by p2pstore, or is damaged; restore it from a backup or choose another --data DIR`)
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(stored)
  const version = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : NaN
  if (Number.isNaN(version)) {
    throw new DataDirError(`the storage database at ${location} has an unreadable schema version (${JSON.stringify(text.slice(0, 16))}); it is damaged: restore it from a backup or choose another --data DIR`)
  }
  if (version > ENCRYPTED_SCHEMA_VERSION) {
    throw new DataDirError(`the storage database at ${location} has schema version ${version}, newer than this p2pstore supports (${ENCRYPTED_SCHEMA_VERSION}): upgrade p2pstore to open it`)
  }
  if (version < SCHEMA_VERSION) {
    // no older schema has ever been released, so there is nothing to migrate from
    throw new DataDirError(`the storage database at ${location} has schema version ${version}, which this p2pstore cannot migrate (it reads ${SCHEMA_VERSION}); restore it from a backup or choose another --data DIR`)
  }
  return 'current'
}
