import { createHash, hash } from 'node:crypto'
import { emptySiblingSet, mergeSiblingSets } from '../../clock/index.ts'
import { encodeSiblingSet } from '../../protocol/index.ts'
import { keyId } from '../../routing/index.ts'
import type { SiblingSet } from '../../clock/index.ts'
import type { StoredRecord } from '../../storage/index.ts'

/** Number of leaves of the summary tree: keys are bucketed by the first byte of their key id. */
export const BUCKETS = 256

/** Bytes of a key digest and of a leaf hash. */
const HASH_BYTES = 16

/** 32-bit words of a hash (leaves are folded word by word). */
const HASH_WORDS = HASH_BYTES / 4

/** Entries whose home replicas are ranked between two yields to the event loop. */
const RANK_BATCH = 500

/** One key's entry in a summary. */
export interface KeyDigest {
  key: Uint8Array
  /** sha256 of the key and its whole sibling set (canonical encoding), truncated to 16 bytes */
  hash: Uint8Array
}

/**
 * The digest of one key's state: sha256 over the key's length, the key and the canonical
 * encoding of its sibling set (merges sort siblings and normalize contexts), truncated to 16
 * bytes. It identifies (key, state), so it serves both as the key's entry in DIGESTS and as its
 * contribution to its leaf.
 */
export function keyDigest (key: Uint8Array, state: SiblingSet): Uint8Array {
  // merging with nothing yields the canonical form (sorted siblings, normalized context)
  const encoded = encodeSiblingSet(mergeSiblingSets(state, emptySiblingSet()))
  const input = Buffer.allocUnsafe(4 + key.byteLength + encoded.byteLength)
  input.writeUInt32BE(key.byteLength, 0)
  input.set(key, 4)
  input.set(encoded, 4 + key.byteLength)
  // one-shot: several times cheaper than createHash() for inputs this small, and it runs per write
  return hash('sha256', input, 'buffer').subarray(0, HASH_BYTES)
}

/** The 32-bit words of a 16-byte digest, for XOR folding (byte order is irrelevant to XOR). */
function words (digest: Uint8Array): Uint32Array {
  const copy = new Uint8Array(HASH_BYTES)
  copy.set(digest.subarray(0, HASH_BYTES))
  return new Uint32Array(copy.buffer)
}

/**
 * Leaf hashes of one key set: leaf i is the XOR of the digests of its keys (an empty leaf is an
 * empty array). XOR makes a leaf independent of insertion order and lets one key's change be
 * applied in O(1): out with its old digest, in with its new one. With 128-bit digests from sha256,
 * two different key sets give the same leaf with probability 2^-128 — replicas trust each other,
 * so nobody crafts collisions.
 */
class Leaves {
  private readonly acc = new Uint32Array(BUCKETS * HASH_WORDS)
  private readonly counts = new Uint32Array(BUCKETS)
  size = 0

  /** Adds (`sign` 1) or removes (`sign` -1) a digest in `bucket`. */
  toggle (bucket: number, digest: Uint32Array, sign: 1 | -1): void {
    const at = bucket * HASH_WORDS
    for (let i = 0; i < HASH_WORDS; i++) {
      // eslint-disable-next-line no-bitwise
      this.acc[at + i] = (this.acc[at + i] ?? 0) ^ (digest[i] ?? 0)
    }
    this.counts[bucket] = (this.counts[bucket] ?? 0) + sign
    this.size += sign
  }

  leaves (): Uint8Array[] {
    return Array.from({ length: BUCKETS }, (_, b) => (this.counts[b] ?? 0) === 0
      ? new Uint8Array(0)
      : new Uint8Array(this.acc.buffer.slice(b * HASH_BYTES, (b + 1) * HASH_BYTES)))
  }
}

/** The root hash over a leaf list. */
export function rootOf (leaves: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const leaf of leaves) h.update(Uint8Array.of(leaf.length)).update(leaf)
  return h.digest().subarray(0, HASH_BYTES)
}

/**
 * A two-level Merkle tree over a set of keys built from scratch: 256 leaves (one per first byte of
 * the key id), each the XOR of its keys' digests, and a root over the leaves. The reference for
 * `MerkleIndex`, which keeps the same leaves up to date incrementally.
 */
export class Summary {
  /** digests per bucket */
  readonly buckets: KeyDigest[][] = Array.from({ length: BUCKETS }, () => [])
  private readonly acc = new Leaves()

  /** Adds a key with its current state (each key at most once). */
  add (key: Uint8Array, state: SiblingSet): void {
    const bucket = keyId(key)[0] ?? 0
    const digest = { key, hash: keyDigest(key, state) }
    this.buckets[bucket]?.push(digest)
    this.acc.toggle(bucket, words(digest.hash), 1)
  }

  /** The 256 leaf hashes (an empty leaf is an empty array). */
  leaves (): Uint8Array[] {
    return this.acc.leaves()
  }

  /** The root hash over all leaves. */
  root (): Uint8Array {
    return rootOf(this.leaves())
  }

  /** how many keys */
  get size (): number {
    return this.acc.size
  }
}

/** One key held here, as the index knows it. */
interface Entry {
  key: Uint8Array
  bucket: number
  hash: Uint8Array
  words: Uint32Array
  /** the key's home replicas (peer ids) as ranked for view `version` */
  homes: string[]
  version: number
}

/** What a `MerkleIndex` needs. */
export interface MerkleIndexInit {
  /** this peer's id: no leaves are kept for it */
  self: string
  /** the key's home replicas in the current view, as peer id strings */
  homesOf(key: Uint8Array): string[]
  /**
   * a string that changes whenever the current view's placement ranks change. Building it may cost
   * O(members): with `viewVersion` it is built only when that number moved.
   */
  viewFingerprint(): string
  /**
   * a number that changes whenever the view may have changed (membership's version): while it
   * stands still, `refresh()` knows the view is the same without building the fingerprint.
   * Undefined: the fingerprint is built on every refresh.
   * @default undefined (the fingerprint is built on every refresh)
   */
  viewVersion?(): number | undefined
}

/**
 * Anti-entropy's summaries kept up to date instead of rebuilt: for every other member, the Merkle
 * leaves of the keys held here for which that member is a home replica (see `Summary`), plus a
 * per-bucket index of the keys, all in memory.
 *
 * - Every durable change of a record reaches `apply()` (the engine's change listener), which
 *   moves the key's digest out of and into the leaves of its home replicas: O(N) per write.
 * - `load()` fills the index once at start from one scan of the store; changes made during the
 *   scan win over what the scan read.
 * - Placement depends on the member view: `refresh()` re-ranks every key when the view's
 *   fingerprint changed (in batches that yield to the event loop), then refolds the leaves in
 *   one synchronous pass, so leaves always match one view.
 *
 * - A rebuild also notes, key by key, which peers became a home replica of a key held here
 *   (`takeGained()`): after a membership change, those are the only peers a round can have
 *   anything to send to — O(N) of them per event whatever the network's size — and the peers
 *   that only lost keys have nothing to receive.
 *
 * A round then reads no records and ranks no keys, and DIGESTS reads only the asked buckets' keys.
 * The per-bucket index lives in memory rather than in a LevelDB key order by key id: that would
 * change the storage layout (a schema version and a migration) to serve a background task, and
 * the index costs about 200 bytes per key.
 */
export class MerkleIndex {
  private readonly init: MerkleIndexInit
  private readonly entries = new Map<string, Entry>()
  private readonly buckets: Array<Set<Entry>> = Array.from({ length: BUCKETS }, () => new Set())
  private peers = new Map<string, Leaves>()
  /** view version of `peers`; a new refresh takes the next one */
  private version = 0
  private fingerprint?: string
  /** `viewVersion()` as of the last time the fingerprint was compared */
  private checkedVersion?: number
  private refreshing?: Promise<void>
  /** `partners()`, until a peer's key count goes from or to 0 */
  private partnerList?: string[]
  /** peers that became a home replica of some key held here since the last `takeGained()` */
  private gained = new Set<string>()
  /** keys changed while `load()` scans: the scan's older copy must not overwrite them */
  private touched?: Set<string>
  /** changes noted by `apply()` and not folded in yet (the latest per key) */
  private pending = new Map<string, { key: Uint8Array, state: SiblingSet | undefined }>()
  private flushScheduled = false

  constructor (init: MerkleIndexInit) {
    this.init = init
  }

  /** how many keys the index holds */
  get size (): number {
    this.flush()
    return this.entries.size
  }

  /**
   * The engine's change listener: notes one key's new state (undefined: deleted). The hashing and
   * folding wait for `setImmediate` (or the next read of the index), so that they run after the
   * write's acknowledgement went out rather than before it.
   */
  apply (key: Uint8Array, record: StoredRecord | undefined): void {
    const id = hexOf(key)
    this.touched?.add(id)
    this.pending.set(id, { key: key.slice(), state: record?.set })
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => { this.flush() })
    }
  }

  /** Applies the changes noted since the last flush. */
  private flush (): void {
    this.flushScheduled = false
    if (this.pending.size === 0) return
    const pending = this.pending
    this.pending = new Map()
    for (const [id, change] of pending) this.set(id, change.key, change.state)
  }

  /** Fills the index from a scan of the store (once, at start). */
  async load (scan: AsyncIterable<{ key: Uint8Array, record: StoredRecord }>): Promise<void> {
    this.touched = new Set()
    try {
      let seen = 0
      for await (const { key, record } of scan) {
        const id = hexOf(key)
        if (!this.touched.has(id)) this.set(id, key, record.set)
        // yield now and then: a big store must not block the event loop for foreground requests
        if (++seen % RANK_BATCH === 0) await yieldToEventLoop()
      }
    } finally {
      this.flush()
      this.touched = undefined
    }
    // a peer starting up (back from a stop or a crash) may have missed anything: every peer it
    // shares keys with counts as gained, once
    for (const peer of this.partners()) this.gained.add(peer)
  }

  /**
   * Brings the leaves to the current view. Cheap when it did not change since the last refresh.
   *
   * The view is read here, never passed in: a caller holding the fingerprint of an earlier moment
   * made the index rebuild for the current view under the old label, and the next caller rebuild
   * again. Rebuilds repeat only while the view really changes.
   */
  async refresh (): Promise<void> {
    for (;;) {
      // a rebuild in progress may be for another view than the current one: wait for it first
      if (this.refreshing != null) {
        await this.refreshing
        continue
      }
      const version = this.init.viewVersion?.()
      if (version != null && version === this.checkedVersion) return
      const wanted = this.init.viewFingerprint()
      if (this.fingerprint === wanted) {
        this.checkedVersion = version
        return
      }
      this.refreshing ??= this.rebuild(wanted).finally(() => { this.refreshing = undefined })
      await this.refreshing
    }
  }

  /**
   * How many times the leaves were refolded for a new view: it moves exactly when placement's
   * ranks changed, so it tells whether the view is still the one of an earlier moment.
   */
  get epoch (): number {
    return this.version
  }

  /**
   * The peers this peer shares keys with: those that are a home replica of at least one key held
   * here, sorted (kept until one starts or stops sharing; do not change it). Plain anti-entropy
   * rounds go round these, not round every member.
   */
  partners (): readonly string[] {
    this.flush()
    if (this.partnerList == null) {
      const out: string[] = []
      for (const [peer, leaves] of this.peers) if (leaves.size > 0) out.push(peer)
      this.partnerList = out.sort()
    }
    return this.partnerList
  }

  /**
   * The peers that became a home replica of a key held here (by a view change, or this peer's
   * start) since the last call, and are one still; the set starts empty again.
   */
  takeGained (): string[] {
    this.flush()
    const gained = [...this.gained].filter(peer => (this.peers.get(peer)?.size ?? 0) > 0).sort()
    this.gained = new Set()
    return gained
  }

  /**
   * Names `peers` again at the next `takeGained()` (a sweep's round with them failed), as long as
   * they are still home replicas of keys held here then.
   */
  regain (peers: string[]): void {
    for (const peer of peers) this.gained.add(peer)
  }

  /** The leaves of the keys held here for which `peer` is a home replica. */
  leavesFor (peer: string): Uint8Array[] {
    this.flush()
    return (this.peers.get(peer) ?? new Leaves()).leaves()
  }

  /** How many keys held here have `peer` as a home replica. */
  sizeFor (peer: string): number {
    this.flush()
    return this.peers.get(peer)?.size ?? 0
  }

  /** The digests of the keys in `buckets` for which `peer` is a home replica. */
  digestsFor (peer: string, buckets: Iterable<number>): KeyDigest[] {
    this.flush()
    const out: KeyDigest[] = []
    for (const b of new Set(buckets)) {
      for (const entry of this.buckets[b] ?? []) {
        if (entry.homes.includes(peer)) out.push({ key: entry.key, hash: entry.hash })
      }
    }
    return out
  }

  private set (id: string, key: Uint8Array, state: SiblingSet | undefined): void {
    const entry = this.entries.get(id)
    if (entry != null) this.fold(entry, -1)
    if (state == null) {
      if (entry == null) return
      this.buckets[entry.bucket]?.delete(entry)
      this.entries.delete(id)
      return
    }
    const hash = keyDigest(key, state)
    if (entry != null) {
      // changed in place: the entry keeps its ranking (and its place in a running rebuild)
      entry.hash = hash
      entry.words = words(hash)
      this.fold(entry, 1)
      return
    }
    const added: Entry = { key: key.slice(), bucket: keyId(key)[0] ?? 0, hash, words: words(hash), homes: this.init.homesOf(key), version: this.version }
    this.entries.set(id, added)
    this.buckets[added.bucket]?.add(added)
    this.fold(added, 1)
  }

  /** Adds or removes an entry's digest in the leaves of its home replicas. */
  private fold (entry: Entry, sign: 1 | -1): void {
    for (const home of entry.homes) {
      if (home === this.init.self) continue
      let leaves = this.peers.get(home)
      if (leaves == null) {
        leaves = new Leaves()
        this.peers.set(home, leaves)
      }
      leaves.toggle(entry.bucket, entry.words, sign)
      // a peer starts or stops sharing keys with this one
      if (leaves.size === (sign === 1 ? 1 : 0)) this.partnerList = undefined
    }
  }

  private async rebuild (fingerprint: string): Promise<void> {
    const version = this.version + 1
    // rank in batches: entries changed meanwhile keep their ranking, entries added meanwhile are
    // ranked in the synchronous pass below
    let ranked = 0
    for (const entry of this.entries.values()) {
      if (entry.version === version) continue
      this.rank(entry, version)
      if (++ranked % RANK_BATCH === 0) await yieldToEventLoop()
    }
    this.flush()
    const peers = new Map<string, Leaves>()
    this.peers = peers
    this.partnerList = undefined
    this.version = version
    for (const entry of this.entries.values()) {
      if (entry.version !== version) this.rank(entry, version)
      this.fold(entry, 1)
    }
    this.fingerprint = fingerprint
  }

  /** Ranks an entry's home replicas for view `version`, noting the peers that became one. */
  private rank (entry: Entry, version: number): void {
    const before = entry.homes
    entry.homes = this.init.homesOf(entry.key)
    entry.version = version
    for (const home of entry.homes) {
      if (home !== this.init.self && !before.includes(home)) this.gained.add(home)
    }
  }
}

function hexOf (key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

async function yieldToEventLoop (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

/** Indexes of the leaves that differ between two leaf lists. */
export function differingBuckets (a: Uint8Array[], b: Uint8Array[]): number[] {
  const out: number[] = []
  for (let i = 0; i < BUCKETS; i++) {
    if (Buffer.compare(a[i] ?? new Uint8Array(0), b[i] ?? new Uint8Array(0)) !== 0) out.push(i)
  }
  return out
}
