/* eslint-disable no-bitwise -- the push-pull digests are 32-bit hashes XORed per bucket of kad-id prefixes: bit operations are the algorithm */
import { peerKadId } from '../routing/index.ts'
import type { MemberUpdate, WireMemberState } from '../protocol/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A member's state as SWIM and Lifeguard define it, plus `left` for a graceful leave. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/** The wire carries exactly these states: a compile error here means the two drifted apart. */
const sameStates: [MemberState, WireMemberState] extends [WireMemberState, MemberState] ? true : never = true
void sameStates

/** What this peer believes about one member. */
export interface MemberRecord {
  peerId: PeerId
  /** position in the key space (sha256 of the peer id, as kad-dht computes it) */
  kadId: Uint8Array
  /** its capacity weight, as it last announced it alive (undefined = 1) */
  capacity?: number
  /** its zone label, as it last announced it alive (undefined = none) */
  zone?: string
  /** how many keys it said it held, in its latest alive announcement we saw (informational) */
  keys?: number
  /** the digest of its member view it last announced itself, and when we received it (issue #18) */
  viewDigest?: { digest: Uint8Array, at: number }
  state: MemberState
  incarnation: number
  addrs: Multiaddr[]
  /** when we last heard from the member itself (ms since the epoch; 0 = never) */
  lastHeard: number
  /** when `state` last changed */
  stateSince: number
  /** when a closed connection last made us probe it out of turn (see SwimCore.hint) */
  hintedAt?: number
  /** peers that reported it suspect at its current incarnation (Lifeguard's confirmations) */
  suspectedBy: Set<string>
}

/** What applying an update did. */
export type Change =
  | { kind: 'none' }
  | { kind: 'changed', record: MemberRecord, previous?: MemberState, placementChanged?: boolean }
  | { kind: 'confirmation', record: MemberRecord, from: string }
  | { kind: 'refute', incarnation: number }

/**
 * A list with O(1) add, remove and random pick (swap-remove), for the members in one state group:
 * probing, gossip and push-pull pick from it without scanning the table.
 */
class IndexedList {
  readonly items: MemberRecord[] = []
  private readonly index = new Map<string, number>()

  has (id: string): boolean {
    return this.index.has(id)
  }

  add (id: string, record: MemberRecord): void {
    if (this.index.has(id)) return
    this.index.set(id, this.items.length)
    this.items.push(record)
  }

  remove (id: string): void {
    const at = this.index.get(id)
    if (at == null) return
    const last = this.items.pop() as MemberRecord
    this.index.delete(id)
    if (at < this.items.length) {
      this.items[at] = last
      this.index.set(last.peerId.toString(), at)
    }
  }
}

/** Fine buckets of the digest (the top FINE_BITS bits of a member's kad id); MAX_SYNC_BUCKETS. */
const FINE_BITS = 12
const FINE = 1 << FINE_BITS

/** A member's fine bucket: the top 12 bits of its kad id. */
function fineBucket (kadId: Uint8Array): number {
  return ((kadId[0] ?? 0) << 4) | ((kadId[1] ?? 0) >> 4)
}

/** murmur3's 32-bit finaliser */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const STATE_CODE: Record<MemberState, number> = { alive: 1, suspect: 2, dead: 3, left: 4 }

/** A 32-bit hash of what the digest compares: the member (its kad id), its state and incarnation. */
function recordHash (kadId: Uint8Array, state: MemberState, incarnation: number): number {
  const id = (((kadId[4] ?? 0) << 24) | ((kadId[5] ?? 0) << 16) | ((kadId[6] ?? 0) << 8) | (kadId[7] ?? 0)) >>> 0
  const lo = incarnation >>> 0
  const hi = Math.floor(incarnation / 0x1_0000_0000) >>> 0
  return fmix32(id ^ fmix32(lo ^ Math.imul(STATE_CODE[state], 0x9e3779b9)) ^ fmix32(hi + 0x7f4a7c15))
}

/**
 * The member table and SWIM's update rules (SWIM section 4.2 with memberlist's precedence): a
 * higher incarnation overrides a lower one; at equal incarnation suspect overrides alive, and dead
 * or left override both; dead and left are final for their incarnation, so a member comes back only
 * with a higher incarnation (a restarted peer starts above any incarnation it used before). News
 * about ourselves that says suspect or dead is refuted by raising our own incarnation.
 * Pure state: no timers, no I/O.
 *
 * Everything a probe, a piggyback or a gossip round asks of it is O(1): the live and the dead
 * members are kept in lists updated on every change (`liveCount`, `randomLive()`), and the
 * digest push-pull's bucket digests (an XOR of a hash of every member's id, state and incarnation,
 * this peer included) are kept per fine bucket, so that a change costs two XORs.
 */
export class MemberTable {
  private readonly selfId: string
  private readonly selfKadId: Uint8Array
  private readonly records = new Map<string, MemberRecord>()
  private selfIncarnation: number
  private readonly liveList = new IndexedList()
  private readonly deadList = new IndexedList()
  private readonly fine = new Uint32Array(FINE)
  private readonly fineMembers: Array<Set<MemberRecord> | undefined> = new Array<Set<MemberRecord> | undefined>(FINE)

  constructor (self: PeerId, incarnation: number) {
    this.selfId = self.toString()
    this.selfKadId = peerKadId(self)
    this.selfIncarnation = incarnation
    this.toggle(this.selfKadId, 'alive', incarnation)
  }

  /** our own incarnation */
  get incarnation (): number {
    return this.selfIncarnation
  }

  /** raise our incarnation above `atLeast` (refutation, or leaving) and return it */
  bumpIncarnation (atLeast = this.selfIncarnation): number {
    this.toggle(this.selfKadId, 'alive', this.selfIncarnation)
    this.selfIncarnation = Math.max(this.selfIncarnation, atLeast) + 1
    this.toggle(this.selfKadId, 'alive', this.selfIncarnation)
    return this.selfIncarnation
  }

  get (peerId: PeerId | string): MemberRecord | undefined {
    return this.records.get(peerId.toString())
  }

  /** every other member we know of, whatever its state (a copy: O(n)) */
  all (): MemberRecord[] {
    return [...this.records.values()]
  }

  /** how many other members we know of, whatever their state */
  get count (): number {
    return this.records.size
  }

  /** other members that are alive or suspect: the ones placement and probing use (a copy: O(n)) */
  live (): MemberRecord[] {
    return [...this.liveList.items]
  }

  /** how many other members are alive or suspect (O(1)) */
  get liveCount (): number {
    return this.liveList.items.length
  }

  /** how many other members are dead or left (O(1)) */
  get deadCount (): number {
    return this.deadList.items.length
  }

  /** the live member at `index` (0 … liveCount − 1) of an arbitrary order: with `random` a uniform pick */
  liveAt (index: number): MemberRecord | undefined {
    return this.liveList.items[index]
  }

  /** the dead or left member at `index` (0 … deadCount − 1) of an arbitrary order */
  deadAt (index: number): MemberRecord | undefined {
    return this.deadList.items[index]
  }

  /**
   * One 32-bit digest per bucket for `buckets` buckets (a power of two up to 4 096): a member's
   * bucket is the top log2(buckets) bits of its kad id; this peer is in its own bucket. O(4 096).
   */
  digests (buckets: number): Uint32Array {
    const shift = FINE_BITS - Math.log2(buckets)
    const out = new Uint32Array(buckets)
    for (let f = 0; f < FINE; f++) out[f >>> shift] = ((out[f >>> shift] ?? 0) ^ (this.fine[f] ?? 0)) >>> 0
    return out
  }

  /** The buckets (ascending) whose digests differ from `theirs` (one per bucket). */
  differing (theirs: Uint32Array): number[] {
    const ours = this.digests(theirs.length)
    const out: number[] = []
    for (let b = 0; b < ours.length; b++) if (ours[b] !== theirs[b]) out.push(b)
    return out
  }

  /** The records in `buckets` of `total` buckets, and whether this peer's own bucket is among them. */
  inBuckets (total: number, buckets: number[]): { records: MemberRecord[], self: boolean } {
    const shift = FINE_BITS - Math.log2(total)
    const records: MemberRecord[] = []
    const selfBucket = fineBucket(this.selfKadId) >>> shift
    let self = false
    for (const b of buckets) {
      if (b === selfBucket) self = true
      for (let f = b << shift; f < (b + 1) << shift; f++) {
        const members = this.fineMembers[f]
        if (members != null) for (const r of members) records.push(r)
      }
    }
    return { records, self }
  }

  /**
   * Applies one update as received from `from` (a peer id string, or 'self' for our own
   * decisions) at time `now`.
   */
  apply (update: MemberUpdate, from: string, now: number): Change {
    const id = update.peerId.toString()
    if (id === this.selfId) {
      if ((update.state === 'suspect' || update.state === 'dead') && update.incarnation >= this.selfIncarnation) {
        return { kind: 'refute', incarnation: this.bumpIncarnation(update.incarnation) }
      }
      return { kind: 'none' }
    }

    // Lifeguard counts independent accusers, not the peers that relayed one accusation
    const accuser = update.accuser?.toString() ?? (from === 'self' ? this.selfId : from)
    const current = this.records.get(id)
    if (current == null) {
      const record: MemberRecord = {
        peerId: update.peerId,
        kadId: peerKadId(update.peerId),
        capacity: update.capacity,
        zone: update.zone,
        keys: update.keys,
        state: update.state,
        incarnation: update.incarnation,
        addrs: update.addrs,
        lastHeard: from === id ? now : 0,
        viewDigest: from === id && update.viewDigest != null ? { digest: update.viewDigest, at: now } : undefined,
        stateSince: now,
        suspectedBy: update.state === 'suspect' ? new Set([accuser]) : new Set()
      }
      this.records.set(id, record)
      const f = fineBucket(record.kadId)
      let members = this.fineMembers[f]
      if (members == null) {
        members = new Set()
        this.fineMembers[f] = members
      }
      members.add(record)
      this.toggle(record.kadId, record.state, record.incarnation)
      this.group(id, record)
      return { kind: 'changed', record }
    }

    // only the member itself says what its view is: relayed news would be older than its own
    if (from === id && update.viewDigest != null) current.viewDigest = { digest: update.viewDigest, at: now }
    if (!overrides(update, current)) {
      if (update.state === 'suspect' && current.state === 'suspect' && update.incarnation === current.incarnation && !current.suspectedBy.has(accuser)) {
        current.suspectedBy.add(accuser)
        return { kind: 'confirmation', record: current, from: accuser }
      }
      if (update.state === 'alive' && update.addrs.length > 0 && update.incarnation === current.incarnation) current.addrs = update.addrs
      if (update.state === 'alive' && update.keys != null && update.incarnation === current.incarnation) current.keys = update.keys
      return { kind: 'none' }
    }

    const previous = current.state
    const placementChanged = update.state === 'alive' && (current.capacity !== update.capacity || current.zone !== update.zone)
    this.toggle(current.kadId, current.state, current.incarnation)
    current.state = update.state
    current.incarnation = update.incarnation
    this.toggle(current.kadId, current.state, current.incarnation)
    if (update.addrs.length > 0) current.addrs = update.addrs
    current.stateSince = now
    // only a member's own alive announcement says its capacity and zone (a restart may change them)
    if (update.state === 'alive') {
      current.capacity = update.capacity
      current.zone = update.zone
      current.keys = update.keys
    }
    current.suspectedBy = update.state === 'suspect' ? new Set([accuser]) : new Set()
    this.group(id, current)
    return { kind: 'changed', record: current, previous, placementChanged }
  }

  /** Forgets a member entirely (the table is full and a dead or left one makes room). */
  remove (peerId: PeerId | string): void {
    const id = peerId.toString()
    const record = this.records.get(id)
    if (record == null) return
    this.records.delete(id)
    this.fineMembers[fineBucket(record.kadId)]?.delete(record)
    this.toggle(record.kadId, record.state, record.incarnation)
    this.liveList.remove(id)
    this.deadList.remove(id)
  }

  /** Notes that we heard from the member directly (any message from it). */
  heard (peerId: PeerId, now: number): void {
    const record = this.records.get(peerId.toString())
    if (record != null) record.lastHeard = now
  }

  /** XORs a record's hash into (or out of) its fine bucket's digest. */
  private toggle (kadId: Uint8Array, state: MemberState, incarnation: number): void {
    const f = fineBucket(kadId)
    this.fine[f] = ((this.fine[f] ?? 0) ^ recordHash(kadId, state, incarnation)) >>> 0
  }

  /** Keeps the live and dead lists in step with a record's state. */
  private group (id: string, record: MemberRecord): void {
    if (record.state === 'alive' || record.state === 'suspect') {
      this.deadList.remove(id)
      this.liveList.add(id, record)
    } else {
      this.liveList.remove(id)
      this.deadList.add(id, record)
    }
  }
}

const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 2 }

/** Whether `update` wins over what we hold (SWIM's precedence). */
function overrides (update: MemberUpdate, current: MemberRecord): boolean {
  if (update.incarnation > current.incarnation) return true
  if (update.incarnation < current.incarnation) return false
  return RANK[update.state] > RANK[current.state]
}
