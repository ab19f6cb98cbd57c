import { TypedEventEmitter } from 'main-event'
import { STANDING_MAX_PEERS } from '../constants.ts'
import type { PenaltyReason } from '../channel/index.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { ComponentLogger, ConnectionGater, Logger, PeerId, Startable } from '@libp2p/interface'

/** Options of a Standing. */
export interface StandingInit {
  /** a peer's points halve every this many ms. @default DEFAULT_PENALTY_HALF_LIFE (10 min) */
  halfLife: number
  /** points at which a peer is banned. @default DEFAULT_BAN_THRESHOLD (100) */
  banThreshold: number
  /** how long a ban lasts, in ms. @default DEFAULT_BAN_DURATION (10 min) */
  banDuration: number
  /** most peers scored (the lowest scores are forgotten past it) and most banned at once. @default STANDING_MAX_PEERS (4096) */
  maxPeers?: number
  /** the clock, in ms (tests). @default Date.now */
  now?: () => number
}

/** What a Standing needs. */
export interface StandingComponents {
  logger: ComponentLogger
  /** hangs up every connection of a banned peer (a libp2p node fits). @default nothing is closed */
  network?: { hangUp(peer: PeerId): Promise<void> }
  /** where penalties and bans are counted. @default not counted */
  metrics?: Pick<PeerMetrics, 'peerPenalties' | 'peersBanned'>
}

/** One ban in force. */
export interface Ban {
  peerId: string
  reason: PenaltyReason
  /** the points that banned it */
  score: number
  /** when it ends (ms since the epoch) */
  until: number
}

/** Events of a Standing: one per ban and one per unban, each with the line a log watcher greps. */
export interface StandingEvents {
  'peer:banned': CustomEvent<Ban & { line: string }>
  'peer:unbanned': CustomEvent<{ peerId: string, line: string }>
}

interface Score {
  points: number
  /** when `points` was last brought up to date */
  at: number
}

interface BanEntry extends Ban {
  timer: ReturnType<typeof setTimeout>
}

/**
 * Every peer's standing (issue #19): penalty points scored by the protocol handlers for what an
 * honest peer never does (a malformed frame, one over the size limit, a stream it never reads),
 * decaying with a half-life so that good standing recovers. A peer whose points reach
 * `banThreshold` is banned: its connections are hung up and the connection gater (`gater()`)
 * refuses it, both ways, for `banDuration`. Memory is bounded: at most `maxPeers` scores (the
 * lowest forgotten first) and as many bans (the one ending soonest lifted first). Bans are by peer
 * id; identities are cheap, so the per-IP connection caps are what bound a crowd of them.
 */
export class Standing extends TypedEventEmitter<StandingEvents> implements Startable {
  private readonly init: Required<StandingInit>
  private readonly components: StandingComponents
  private readonly log: Logger
  private readonly scores = new Map<string, Score>()
  private readonly banned = new Map<string, BanEntry>()
  private running = false

  constructor (components: StandingComponents, init: StandingInit) {
    super()
    if (!(init.halfLife > 0) || !(init.banThreshold > 0) || !(init.banDuration > 0)) {
      throw new RangeError('halfLife, banThreshold and banDuration must be positive')
    }
    this.components = components
    this.init = { maxPeers: STANDING_MAX_PEERS, now: Date.now, ...init }
    this.log = components.logger.forComponent('p2pstore:standing')
  }

  start (): void {
    this.running = true
  }

  /** Lifts every ban without a word (the peer is stopping) and forgets every score. */
  stop (): void {
    this.running = false
    for (const entry of this.banned.values()) clearTimeout(entry.timer)
    this.banned.clear()
    this.scores.clear()
    this.components.metrics?.peersBanned.set(0)
  }

  /**
   * Scores `points` against `peer` for `reason`; bans it once its decayed points reach the
   * threshold. A banned peer scores nothing more (it is refused already).
   */
  penalise (peer: PeerId, reason: PenaltyReason, points: number): void {
    const id = peer.toString()
    this.components.metrics?.peerPenalties.inc({ reason }, points)
    if (this.isBanned(peer)) return
    const now = this.init.now()
    const score = this.current(id, now) + points
    this.log('penalised %p %d points for %s (score %d)', peer, points, reason, Math.round(score))
    if (score < this.init.banThreshold) {
      this.scores.delete(id)
      this.scores.set(id, { points: score, at: now })
      this.trimScores(now)
      return
    }
    this.scores.delete(id)
    this.ban(peer, reason, score, now)
  }

  /** The points held against `peer` now (decayed). */
  score (peer: PeerId): number {
    return this.current(peer.toString(), this.init.now())
  }

  /** Whether `peer` is banned now. */
  isBanned (peer: PeerId | string): boolean {
    const id = peer.toString()
    const entry = this.banned.get(id)
    if (entry == null) return false
    // its timer may run late: a ban that has ended is over whatever the timer says
    if (entry.until <= this.init.now()) {
      this.unban(id)
      return false
    }
    return true
  }

  /** The bans in force, soonest to end first. */
  bans (): Ban[] {
    const now = this.init.now()
    return [...this.banned.values()].filter(b => b.until > now)
      .map(({ peerId, reason, score, until }) => ({ peerId, reason, score, until }))
      .sort((a, b) => a.until - b.until)
  }

  /** how many peers have a score now (at most `maxPeers`) */
  get scored (): number {
    return this.scores.size
  }

  /**
   * A connection gater that refuses banned peers both ways: dials to them, and connections from
   * them once Noise has authenticated who they are.
   */
  gater (): ConnectionGater {
    return {
      denyDialPeer: peer => this.isBanned(peer),
      denyInboundEncryptedConnection: peer => this.isBanned(peer),
      denyOutboundEncryptedConnection: peer => this.isBanned(peer)
    }
  }

  private current (id: string, now: number): number {
    const score = this.scores.get(id)
    if (score == null) return 0
    return score.points * Math.pow(0.5, Math.max(0, now - score.at) / this.init.halfLife)
  }

  /** Forgets the lowest scores past `maxPeers` (a scan, only when the table is full). */
  private trimScores (now: number): void {
    while (this.scores.size > this.init.maxPeers) {
      let lowest: string | undefined
      let least = Infinity
      for (const id of this.scores.keys()) {
        const points = this.current(id, now)
        if (points < least) {
          least = points
          lowest = id
        }
      }
      if (lowest == null) return
      this.scores.delete(lowest)
    }
  }

  private ban (peer: PeerId, reason: PenaltyReason, score: number, now: number): void {
    const id = peer.toString()
    if (this.banned.size >= this.init.maxPeers) {
      const soonest = this.bans()[0]
      if (soonest != null) this.unban(soonest.peerId)
    }
    const until = now + this.init.banDuration
    const timer = setTimeout(() => { this.unban(id) }, this.init.banDuration)
    timer.unref()
    this.banned.set(id, { peerId: id, reason, score: Math.round(score), until, timer })
    this.components.metrics?.peersBanned.set(this.banned.size)
    const line = `p2pstore: banned peer ${id} for ${duration(this.init.banDuration)}: ${REASON_TEXT[reason]} (score ${Math.round(score)})`
    this.safeDispatchEvent('peer:banned', { detail: { peerId: id, reason, score: Math.round(score), until, line } })
    // after the event: a listener sees the ban before the connection goes
    void this.components.network?.hangUp(peer).catch((err: unknown) => { this.log('hanging up on banned %p - %e', peer, err) })
  }

  private unban (id: string): void {
    const entry = this.banned.get(id)
    if (entry == null) return
    clearTimeout(entry.timer)
    this.banned.delete(id)
    this.components.metrics?.peersBanned.set(this.banned.size)
    if (this.running) this.safeDispatchEvent('peer:unbanned', { detail: { peerId: id, line: `p2pstore: unbanned peer ${id}` } })
  }
}

/** What each reason means, in the ban's log line. */
const REASON_TEXT: Record<PenaltyReason, string> = {
  'malformed-frame': 'malformed frames',
  'oversized-frame': 'frames over the size limit',
  'slow-reader': 'streams it did not read',
  'over-quota': 'kv requests kept over its quota'
}

/** A duration in ms as the log line writes it: `10 min`, `30 s`, `1 h`, `250 ms`. */
export function duration (ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`
  }
  return `${ms} ms`
}
