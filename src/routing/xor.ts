/**
 * Placement by the Kademlia XOR metric (Maymounkov & Mazières, "Kademlia", 2002, section 2.1):
 * a key's id is sha256(key); a peer's position is the id kad-dht gives it, sha256 of its peer-id
 * multihash bytes; distance is XOR compared as an unsigned big-endian integer. The preference list
 * of a key is every known peer by increasing distance; its first N are the key's home replicas.
 * Pure functions: no I/O, so they can be tested exhaustively.
 */

import { hash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'

/** `sha256(key)`: where a key lives in the 256-bit key space (kad-dht hashes the same way). */
export function keyId (key: Uint8Array): Uint8Array {
  // the one-shot hash is ~4× cheaper than createHash() for short inputs: every request ranks keys
  return hash('sha256', key, 'buffer')
}

/** A peer's position in the key space, exactly as kad-dht computes it. */
export function peerKadId (peerId: PeerId): Uint8Array {
  return keyId(peerId.toMultihash().bytes)
}

/**
 * Compares the XOR distances of `a` and `b` to `target` without allocating: negative when `a` is
 * closer, positive when `b` is, 0 when they are the same id.
 */
export function compareDistance (target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  const len = Math.max(target.length, a.length, b.length)
  for (let i = 0; i < len; i++) {
    // eslint-disable-next-line no-bitwise
    const da = (a[i] ?? 0) ^ (target[i] ?? 0)
    // eslint-disable-next-line no-bitwise
    const db = (b[i] ?? 0) ^ (target[i] ?? 0)
    if (da !== db) return da - db
  }
  return 0
}

/** Something placed in the key space. */
export interface Placed {
  /** sha256 position, as from `peerKadId` */
  kadId: Uint8Array
}

/** Every candidate ordered by XOR distance to `target` (a new array; the input is not changed). */
export function preferenceList<T extends Placed> (target: Uint8Array, candidates: Iterable<T>): T[] {
  return [...candidates].sort((a, b) => compareDistance(target, a.kadId, b.kadId))
}

/** The first `n` of the preference list: the key's home replicas. */
export function homeReplicas<T extends Placed> (target: Uint8Array, candidates: Iterable<T>, n: number): T[] {
  return preferenceList(target, candidates).slice(0, n)
}
