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
 * The member table and SWIM's update rules (SWIM section 4.2 with memberlist's precedence): a
 * higher incarnation overrides a lower one; at equal incarnation suspect overrides alive, and dead
 * or left override both; dead and left are final for their incarnation, so a member comes back only
 * with a higher incarnation (a restarted peer starts above any incarnation it used before). News
 * about ourselves that says suspect or dead is refuted by raising our own incarnation.
 * Pure state: no timers, no I/O.
 */
export class MemberTable {
  private readonly selfId: string
  private readonly records = new Map<string, MemberRecord>()
  private selfIncarnation: number

  constructor (self: PeerId, incarnation: number) {
    this.selfId = self.toString()
    this.selfIncarnation = incarnation
  }

  /** our own incarnation */
  get incarnation (): number {
    return this.selfIncarnation
  }

  /** raise our incarnation above `atLeast` (refutation, or leaving) and return it */
  bumpIncarnation (atLeast = this.selfIncarnation): number {
    this.selfIncarnation = Math.max(this.selfIncarnation, atLeast) + 1
    return this.selfIncarnation
  }

  get (peerId: PeerId | string): MemberRecord | undefined {
    return this.records.get(peerId.toString())
  }

  /** every other member we know of, whatever its state */
  all (): MemberRecord[] {
    return [...this.records.values()]
  }

  /** other members that are alive or suspect: the ones placement and probing use */
  live (): MemberRecord[] {
    return this.all().filter(r => r.state === 'alive' || r.state === 'suspect')
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
    current.state = update.state
    current.incarnation = update.incarnation
    if (update.addrs.length > 0) current.addrs = update.addrs
    current.stateSince = now
    // only a member's own alive announcement says its capacity and zone (a restart may change them)
    if (update.state === 'alive') {
      current.capacity = update.capacity
      current.zone = update.zone
      current.keys = update.keys
    }
    current.suspectedBy = update.state === 'suspect' ? new Set([accuser]) : new Set()
    return { kind: 'changed', record: current, previous, placementChanged }
  }

  /** Notes that we heard from the member directly (any message from it). */
  heard (peerId: PeerId, now: number): void {
    const record = this.records.get(peerId.toString())
    if (record != null) record.lastHeard = now
  }
}

const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 2 }

/** Whether `update` wins over what we hold (SWIM's precedence). */
function overrides (update: MemberUpdate, current: MemberRecord): boolean {
  if (update.incarnation > current.incarnation) return true
  if (update.incarnation < current.incarnation) return false
  return RANK[update.state] > RANK[current.state]
}
