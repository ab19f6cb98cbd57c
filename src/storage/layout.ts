/**
 * How storage lays its data out in the one LevelDB of a peer: every LevelDB key starts with a
 * one-byte namespace prefix, so each namespace is one contiguous range that can be scanned,
 * counted or dropped on its own, and user keys (arbitrary bytes) can never collide with
 * storage's own bookkeeping.
 *
 * | prefix | namespace | LevelDB key                  | value                                     |
 * |--------|-----------|------------------------------|-------------------------------------------|
 * | `0x00` | meta      | `0x00` + ASCII name          | see `META_KEYS`                           |
 * | `0x01` | objects   | `0x01` + user key (1 B–1 KiB) | a `Record` (record.proto)                |
 * | `0x02` | hints     | reserved for hinted handoff  | —                                         |
 *
 * A new namespace takes the next unused byte; a prefix is never reused for another meaning, since
 * old data dirs would read as the new one. Changing what is stored under an existing prefix bumps
 * `SCHEMA_VERSION` (schema-version.ts).
 *
 * @packageDocumentation
 */

import { compare, toString as uint8ArrayToString } from 'uint8arrays'

/** One-byte prefixes of the namespaces. */
export const NAMESPACE = {
  /** storage's own bookkeeping: schema version, epoch, incarnation counter */
  meta: 0x00,
  /** one `Record` per user key */
  objects: 0x01,
  /** reserved: hints held for unreachable replicas (hinted handoff, DESIGN.md section 4) */
  hints: 0x02
} as const

function metaKey (name: string): Uint8Array {
  const key = new Uint8Array(1 + name.length)
  key[0] = NAMESPACE.meta
  key.set(new TextEncoder().encode(name), 1)
  return key
}

/** LevelDB keys of the meta namespace. */
export const META_KEYS = {
  /** the schema version as ASCII decimal, e.g. `1` (schema-version.ts) */
  version: metaKey('version'),
  /** the storage epoch: 8 random bytes, written once when the database is created */
  epoch: metaKey('epoch'),
  /**
   * the highest incarnation number reserved, a big-endian uint32 (0 when none yet): every number
   * handed out is at most this (older versions stored the last number handed out, which reads
   * the same way)
   */
  incarnation: metaKey('incarnation'),
  /**
   * incarnation numbers up to this one are retired (`Engine.retiredUpTo`), a big-endian uint32;
   * absent in data dirs from before it existed, which reads as 0
   */
  retired: metaKey('retired'),
  /**
   * present (one byte, 1) only while the database is closed cleanly: written by `close()`, deleted
   * by the next open; an open that does not find it retires every incarnation reserved so far
   */
  closedCleanly: metaKey('closed-cleanly'),
  /**
   * the encryption keyring (encryption.ts): wrapped data keys and their counters, JSON with an
   * HMAC under the key-encryption key; present only when encryption at rest is on (schema 2)
   */
  encryption: metaKey('encryption')
} as const

/** Bounds of the objects namespace, for range scans: `gte <= k < lt`. */
export const OBJECTS_RANGE = {
  gte: Uint8Array.of(NAMESPACE.objects),
  lt: Uint8Array.of(NAMESPACE.objects + 1)
} as const

/** The LevelDB key under which a user key's record lives. */
export function objectKey (key: Uint8Array): Uint8Array {
  const dbKey = new Uint8Array(1 + key.byteLength)
  dbKey[0] = NAMESPACE.objects
  dbKey.set(key, 1)
  return dbKey
}

/** The user key of a LevelDB key from the objects namespace (a view, not a copy). */
export function userKey (dbKey: Uint8Array): Uint8Array {
  return new Uint8Array(dbKey.buffer, dbKey.byteOffset + 1, dbKey.byteLength - 1)
}

/** Longest part of a key shown in messages, in bytes. */
const SHOWN_KEY_BYTES = 32

/** A user key for error messages and logs: hex, truncated, with its length when truncated. */
export function describeKey (key: Uint8Array): string {
  if (key.byteLength <= SHOWN_KEY_BYTES) return uint8ArrayToString(key, 'base16')
  return `${uint8ArrayToString(key.subarray(0, SHOWN_KEY_BYTES), 'base16')}… (${key.byteLength} bytes)`
}

/**
 * A range of user keys for a scan, bytewise: keys `>= gte` (or `> gt`) and `< lt`; an absent
 * bound is open.
 */
export interface KeyRange {
  gte?: Uint8Array
  gt?: Uint8Array
  lt?: Uint8Array
}

/** The first key past every key that starts with `prefix`, or undefined when there is none (all 0xff). */
export function prefixEnd (prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.byteLength - 1; i >= 0; i--) {
    if ((prefix[i] ?? 0) < 0xff) {
      // a copy: `slice` of a Node Buffer (what a decoder may hand over) is a view, and would change the prefix
      const end = Uint8Array.from(prefix.subarray(0, i + 1))
      end[i] = (end[i] ?? 0) + 1
      return end
    }
  }
  return undefined
}

/** The range of keys under `prefix` (if any) and strictly after `after` (if any). */
export function keyRange (options: { prefix?: Uint8Array, after?: Uint8Array }): KeyRange {
  const prefix = options.prefix != null && options.prefix.byteLength > 0 ? options.prefix : undefined
  const lt = prefix == null ? undefined : prefixEnd(prefix)
  const after = options.after
  if (after != null && (prefix == null || compare(after, prefix) >= 0)) return { gt: after, lt }
  return { gte: prefix, lt }
}

/** Whether `key` lies in `range`. */
export function inRange (key: Uint8Array, range: KeyRange): boolean {
  if (range.gte != null && compare(key, range.gte) < 0) return false
  if (range.gt != null && compare(key, range.gt) <= 0) return false
  if (range.lt != null && compare(key, range.lt) >= 0) return false
  return true
}
