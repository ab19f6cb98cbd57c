import { InvalidMessageError } from '@libp2p/interface'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { CANDIDATE_INTERVAL, CANDIDATE_PINGS_PER_ROUND, CANDIDATE_SENDER_FAILURES, CLAIM_CHECK_INTERVAL, DISCONNECT_HINT_INTERVAL, GOSSIP_DEFAULT, MAX_CANDIDATE_PINGS, MAX_CLAIM_CHECKS, MAX_CLOCK_SKEW, MAX_MEMBER_CANDIDATES, MAX_MEMBERS, MEMBER_CANDIDATE_TTL, LEAVE_TIMEOUT, MAX_LOCAL_HEALTH, MAX_PIGGYBACK, MAX_PIGGYBACK_BYTES, MAX_SYNC_BUCKETS, PUSH_PULL_SCALE_THRESHOLD, SYNC_BUCKET_MEMBERS } from '../constants.ts'
import { memberUpdateSize } from '../protocol/index.ts'
import { peerKadId } from '../routing/index.ts'
import { isProgrammerError } from '../tasks/index.ts'
import { Dissemination } from './dissemination.ts'
import { MemberTable } from './members.ts'
import { suspicionTimeout } from './suspicion.ts'
import type { MemberRecord } from './members.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { MemberUpdate, MembershipMessage } from '../protocol/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A timer of a `SwimClock`; `cancel()` after it fired (or twice) does nothing. */
export interface SwimTimer {
  cancel(): void
}

/**
 * Time as the core sees it. The core never reads `Date.now()` nor calls `setTimeout`: in
 * production the driver passes the wall clock (`systemClock`), a simulator passes its own.
 */
export interface SwimClock {
  /** the current time in ms (the core uses it for incarnations, suspicion ages and traffic) */
  now(): number
  /** calls `fn` once, `ms` from now (a simulator runs it when its time reaches that point) */
  setTimeout(fn: () => void, ms: number): SwimTimer
}

/** Options of one outbound request. */
export interface SwimRequestOptions {
  /** the deadline in ms: past it the transport rejects with a `TimeoutError` */
  timeout: number
  /** aborts the request (the core's shutdown): the transport rejects with an `AbortError` */
  signal: AbortSignal
  /** told the size of the request's frame once it is encoded (for `traffic()`) */
  onSent?(bytes: number): void
}

/** A reply and the size of its frame. */
export interface SwimReply {
  reply: MembershipMessage
  /** the reply's size on the wire (counted as received) */
  bytes: number
}

/**
 * How the core sends requests. Production: the libp2p driver (`Membership`), one long-lived
 * channel per member. A simulator: deliver `message` to the target core's `handle()` after a
 * simulated latency, and resolve with its reply after another; reject (any error) for a lost
 * message or a dead peer once `timeout` has passed in simulated time.
 */
export interface SwimTransport {
  request(peer: PeerId, message: MembershipMessage, options: SwimRequestOptions): Promise<SwimReply>
}

/** SWIM, Lifeguard and gossip parameters; see GOSSIP_DEFAULT and GOSSIP_TESTNET in constants.ts. */
export interface SwimCoreInit {
  /** the protocol period: one probe per period. @default 1_000 */
  probeInterval?: number
  /** how long a probed member has to answer. @default 500 */
  probeTimeout?: number
  /** members asked to probe indirectly when a direct probe fails (SWIM's k). @default 3 */
  indirectChecks?: number
  /** suspicion floor = suspicionMult × log10(n) × probeInterval. @default 4 */
  suspicionMult?: number
  /** a lone suspicion lasts suspicionMaxMult × the floor (Lifeguard). @default 6 */
  suspicionMaxMult?: number
  /** each update is sent retransmitMult × log10(n + 1) times. @default 4 */
  retransmitMult?: number
  /**
   * digest push-pull with a random member this often, stretched × (ceil(log2(n / 32)) + 1) above
   * 32 members (memberlist's pushPullScale). @default 30_000
   */
  pushPullInterval?: number
  /**
   * while there is news, it is sent to `gossipNodes` members this often, independent of probes
   * (memberlist's GossipInterval). @default 200
   */
  gossipInterval?: number
  /** members each gossip round sends news to, connected ones only while any is connected (memberlist's GossipNodes). @default 3 */
  gossipNodes?: number
  /** most updates on one message. @default MAX_PIGGYBACK (16) */
  maxPiggyback?: number
  /** most bytes of updates on one message. @default MAX_PIGGYBACK_BYTES (1 200) */
  maxPiggybackBytes?: number
  /** this peer's capacity weight, announced with its alive updates (issue #15). @default 1 */
  capacity?: number
  /** this peer's zone label, announced with its alive updates (issue #15). @default undefined (none) */
  zone?: string
  /** how many keys this peer holds, announced with its alive updates (for `p2pstore ring`). @default not announced */
  keyCount?: () => number
  /** a digest of this peer's member view, announced with its alive updates (issue #18). @default not announced */
  viewDigest?: () => Uint8Array | undefined
}

/** What the core needs: no libp2p, no timers of its own, no randomness of its own. */
export interface SwimCoreComponents {
  logger: ComponentLogger
  peerId: PeerId
  /** time and timers; see SwimClock */
  clock: SwimClock
  /** a uniform random number in [0, 1) (seed it for reproducible simulations) */
  random: () => number
  /** outbound requests; see SwimTransport */
  transport: SwimTransport
  /** this peer's own addresses, announced with its alive updates. @default none */
  addresses?: () => Multiaddr[]
  /** told a member's addresses when an alive update brings them (the driver stores them). @default ignored */
  learnedAddresses?: (peer: PeerId, addrs: Multiaddr[]) => void
  /**
   * told a candidate's addresses just before it is pinged (the driver stores them for the dial).
   * @default learnedAddresses
   */
  candidateAddresses?: (peer: PeerId, addrs: Multiaddr[]) => void
  /**
   * told when a pinged candidate answered (`true`, it is a member now) or did not (`false`): the
   * driver may forget the addresses it stored for it (issue #19: each forged id pinged left an
   * entry in libp2p's peer store for good). @default ignored
   */
  candidateSettled?: (peer: PeerId, answered: boolean) => void
  /**
   * whether this peer holds a connection to `peer`: gossip prefers those, so that it does not
   * churn a bounded connection budget. @default every member counts as unconnected (random picks)
   */
  isConnected?: (peer: PeerId) => boolean
  /**
   * the peers this peer holds connections to (bounded by a connection budget): gossip sends to
   * those of them that are alive members first, and picks at random only when they are fewer than
   * `gossipNodes`. O(connections) per gossip round. @default none (`isConnected` or random picks)
   */
  connectedPeers?: () => Iterable<PeerId>
  /**
   * Who may be a member (a closed network's roster). Requests from others are refused, and news
   * naming others is dropped, so a non-member never enters the view. @default everyone
   */
  admission?: { admits(peer: PeerId): boolean }
  /** where probes and refutations are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'probes' | 'probeDuration' | 'refutations'>
  /**
   * News of a member not in the table that carries no address is dropped rather than pinged: over
   * libp2p such a ping is a DHT lookup, and a flood of forged ids without addresses loaded every
   * peer it asked (issue #19). @default false (a simulator's transport needs no addresses)
   */
  candidatesNeedAddresses?: boolean
  /**
   * Whether a dead or left claim about a live member from anyone but the member is checked by
   * probing the member before it is believed (issue #19). On an open network anyone may send one;
   * on a closed network only members can, and they are trusted with the membership (SECURITY.md,
   * "Threat model"), so their claims are believed as SWIM believes them. @default true
   */
  checkClaims?: boolean
}

/** Events of the membership view. */
export interface MembershipEvents {
  /** a member changed state (or appeared) */
  'member:update': CustomEvent<{ record: MemberRecord, previous?: MemberRecord['state'] }>
}

/** Membership traffic counters; see `traffic()`. */
export interface MembershipTraffic {
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
}

/** A member placed in the key space, for placement. */
export interface LiveMember {
  peerId: PeerId
  kadId: Uint8Array
  /** capacity weight (undefined = 1) */
  capacity?: number
  /** zone label (undefined = none) */
  zone?: string
  state: MemberRecord['state']
}

/** The message types a member may send as requests; the others are responses. */
export const SWIM_REQUESTS: ReadonlySet<MembershipMessage['type']> = new Set<MembershipMessage['type']>(['ping', 'ping-req', 'sync', 'leave', 'gossip', 'sync-digest', 'sync-push'])

/** The wall clock and `setTimeout` (unref'd: membership timers never keep a process alive). */
export const systemClock: SwimClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return { cancel: () => { clearTimeout(timer) } }
  }
}

/** Where an update came from: push-pull records of members we did not know are not news to gossip. */
type Origin = 'message' | 'sync'

type Resolved = Required<Omit<SwimCoreInit, 'capacity' | 'zone' | 'keyCount' | 'viewDigest'>>

/**
 * SWIM membership with Lifeguard, all of its logic and none of its I/O (see the references in
 * suspicion.ts and members.ts): every protocol period this peer probes one member, in round-robin
 * order over a list shuffled each round; a member that does not answer is probed indirectly
 * through k others, then suspected; a suspicion that is not refuted in time makes it dead. News
 * rides on probes and acks, and every gossip interval, while there is news, on a gossip message to
 * `gossipNodes` members. A periodic push-pull with a random member compares bucket digests of the
 * two member tables and exchanges only the records of buckets that differ — with a dead member now
 * and then too, so that the two sides of a healed partition find each other again. A join is a
 * full-state exchange.
 *
 * Lifeguard's local health multiplier (0…8) grows when this peer misses acks or is suspected
 * itself, and stretches its probe period and timeouts by (multiplier + 1).
 *
 * **Driving it.** Construct it with a clock, a random source and a transport; `start()` arms its
 * timers (the first probe at once, the first push-pull one interval later, gossip every
 * `gossipInterval`). Time advances only through the clock: a simulator fires the timers whose time
 * has come, then lets the microtask queue drain (`await new Promise(resolve => setImmediate(resolve))`
 * or a loop of `await Promise.resolve()`) before it advances the clock again, since the core
 * continues after a reply in promise callbacks. Outbound requests go to `transport.request()`,
 * whose promise resolves with the reply (or rejects: lost, dead, timed out). Inbound requests
 * are given to `handle(from, message, bytes)`, whose promise resolves with the reply to send back;
 * the responder tells `count('sent', bytes)` what the reply cost if it wants it counted (the
 * driver does). Every call is cheap at 10 000 members: no scan of the table per probe, piggyback,
 * gossip round or message (only `start()`, a join, the round-robin reshuffle once per n probes,
 * and one push-pull per stretched interval walk the table).
 */
export class SwimCore extends TypedEventEmitter<MembershipEvents> {
  private readonly components: SwimCoreComponents
  private readonly init: Resolved
  private readonly keyCount?: () => number
  private readonly viewDigest?: () => Uint8Array | undefined
  private readonly capacity?: number
  private readonly zone?: string
  private readonly clock: SwimClock
  private readonly random: () => number
  private readonly log: Logger
  private readonly selfKadId: Uint8Array
  private changes = 0
  private table: MemberTable
  private readonly gossip: Dissemination
  private readonly suspicions = new Map<string, { incarnation: number, started: number, timer: SwimTimer }>()
  private readonly probing = new Set<string>()
  /**
   * Members heard of from others, not yet reached (issue #19): each is pinged before it enters the
   * table, so that ids with no peer behind them never count for placement. Oldest first.
   */
  private readonly candidates = new Map<string, { update: MemberUpdate, since: number, from: string }>()
  /** senders whose candidates answered no ping, since when (bounded: pruned past MEMBER_CANDIDATE_TTL, at most MAX_MEMBER_CANDIDATES) */
  private readonly blamed = new Map<string, { since: number, failures: number }>()
  private candidatePings = 0
  private candidateTimer?: SwimTimer
  /** members named dead or left by another, being probed before the claim is believed */
  private readonly checking = new Set<string>()
  /** when each member was last probed for a claim (entries older than CLAIM_CHECK_INTERVAL are pruned) */
  private readonly checkedAt = new Map<string, number>()
  /**
   * per member, the highest claim that came while it was being checked or had just been: checked
   * once the interval is over, so a claim above the accused's last refutation still reaches it
   * (else its sender would keep a stale dead or left record for good). One per member of the table.
   */
  private readonly laterClaims = new Map<string, { claim: MemberUpdate, timer?: SwimTimer }>()
  /** updates dropped as implausible (incarnation past the clock skew, a repeat in one message, an accusation of a stranger) */
  private dropped = 0
  private roundRobin: MemberRecord[] = []
  private health = 0
  private shutdown = new AbortController()
  private probeTimer?: SwimTimer
  private syncTimer?: SwimTimer
  private gossipTimer?: SwimTimer
  private running = false
  private syncRounds = 0
  /** the peers `join()` was given: the push-pull falls back to them while no member is known */
  private seeds: PeerId[] = []
  private readonly counters: MembershipTraffic = { messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 }
  private readonly sentByType: Partial<Record<MembershipMessage['type'], number>> = {}

  constructor (components: SwimCoreComponents, init: SwimCoreInit = {}) {
    super()
    this.components = components
    this.clock = components.clock
    this.random = components.random
    const { capacity, zone, keyCount, viewDigest, ...gossip } = init
    this.keyCount = keyCount
    this.viewDigest = viewDigest
    this.init = { ...GOSSIP_DEFAULT, maxPiggyback: MAX_PIGGYBACK, maxPiggybackBytes: MAX_PIGGYBACK_BYTES, ...stripUndefined(gossip) }
    // capacity 1 and no zone travel as the wire's defaults
    this.capacity = capacity === 1 ? undefined : capacity
    this.zone = zone === '' ? undefined : zone
    this.log = components.logger.forComponent('p2pstore:membership:swim')
    this.table = new MemberTable(components.peerId, this.clock.now())
    this.gossip = new Dissemination(this.init.retransmitMult)
    this.selfKadId = peerKadId(components.peerId)
  }

  /** whether `start()` ran and `stop()` did not since */
  get isRunning (): boolean {
    return this.running
  }

  /** Arms the probe, push-pull and gossip timers (idempotent). */
  start (): void {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    // every request of the core listens on it (candidate pings and claim checks come by the dozen)
    setMaxListeners(Infinity, this.shutdown.signal)
    // a fresh incarnation above any this peer used before a restart (refutation covers clock skew)
    this.table = new MemberTable(this.components.peerId, Math.max(this.clock.now(), this.table.incarnation + 1))
    this.roundRobin = []
    this.changes++
    this.scheduleProbe(0)
    this.scheduleSync()
    this.scheduleGossip()
  }

  /**
   * Stops (idempotent). With `leave` (the default) it first tells a few members that it is
   * leaving, so the others see `left` at once instead of suspecting it. Requests in flight are
   * aborted; `handle()` refuses requests from now on.
   */
  async stop (options: { leave?: boolean } = {}): Promise<void> {
    if (!this.running) return
    if (options.leave ?? true) {
      await this.leave().catch(err => {
        if (isProgrammerError(err)) throw err
        this.log('leave failed - %e', err)
      })
    }
    this.running = false
    this.shutdown.abort()
    this.probeTimer?.cancel()
    this.syncTimer?.cancel()
    this.gossipTimer?.cancel()
    for (const s of this.suspicions.values()) s.timer.cancel()
    this.suspicions.clear()
    this.candidates.clear()
    this.candidateTimer?.cancel()
    this.candidateTimer = undefined
    for (const later of this.laterClaims.values()) later.timer?.cancel()
    this.laterClaims.clear()
  }

  /**
   * Joins by full-state sync with each of `peers` (bootstrap peers); resolves with how many
   * answered. The peers are remembered: while this peer knows no live member (every join sync
   * failed, or every member it knew died) each push-pull round syncs with one of them instead, so
   * a failed join is retried rather than leaving the peer outside the group for good.
   */
  async join (peers: PeerId[], options: AbortOptions = {}): Promise<number> {
    options.signal?.throwIfAborted()
    const seeds = peers.filter(p => !p.equals(this.components.peerId))
    for (const p of seeds) if (!this.seeds.some(s => s.equals(p))) this.seeds.push(p)
    const results = await Promise.allSettled(seeds.map(async p => { await this.sync(p, options) }))
    // a caller that gave up hears so, not a count of the syncs its abort cut short
    options.signal?.throwIfAborted()
    return results.filter(r => r.status === 'fulfilled').length
  }

  /**
   * One digest push-pull with `peer` now (what each push-pull round does with a random member):
   * for a simulator, or an operator's "sync now".
   */
  async pushPull (peer: PeerId, options: AbortOptions = {}): Promise<void> {
    await this.digestSync(peer, options.signal ?? this.shutdown.signal)
  }

  /**
   * Marks `peers` as `left` for good (removed from the roster): placement stops naming them at once,
   * and since news about non-members is dropped, nothing brings them back.
   */
  evict (peers: PeerId[]): void {
    const now = this.clock.now()
    for (const peer of peers) {
      const record = this.table.get(peer)
      if (record == null || record.state === 'left') continue
      // one incarnation up: `left` then wins over whatever state the record is in, dead included
      const update: MemberUpdate = { peerId: record.peerId, state: 'left', incarnation: record.incarnation + 1, addrs: [] }
      const change = this.table.apply(update, 'self', now)
      if (change.kind === 'changed') this.onChanged(change.record, update, true, change.previous)
    }
  }

  /**
   * A hint that `peer` may have failed (its connection closed: a crashed peer resets its sockets):
   * probes it now if it is alive — at most once per DISCONNECT_HINT_INTERVAL per member. Under a
   * connection budget connections close for the budget's sake too, on either side; a probe for
   * each such close re-dialled the member, whose budget closed the connection again, and so on.
   */
  hint (peer: PeerId): void {
    const record = this.table.get(peer)
    const now = this.clock.now()
    if (record != null && record.state === 'alive' && this.running && now - (record.hintedAt ?? -Infinity) >= DISCONNECT_HINT_INTERVAL) {
      record.hintedAt = now
      void this.probe(record, this.shutdown.signal).catch(err => {
        if (isProgrammerError(err)) throw err
        this.log.error('probe after disconnect failed - %e', err)
      })
    }
  }

  /** This peer plus every member that is alive or suspect: the view placement uses. O(n). */
  list (): LiveMember[] {
    return [this.self(), ...this.table.live()]
  }

  /**
   * A number that changes whenever a member's state, capacity or zone may have changed: placement
   * rebuilds its table only then.
   */
  get version (): number {
    return this.changes
  }

  /**
   * This peer plus every member that has not left — dead ones included. Tombstone GC ranks these:
   * a dead member may come back with an old value, so it must have confirmed the delete too.
   */
  notLeft (): LiveMember[] {
    return [this.self(), ...this.table.all().filter(r => r.state !== 'left')]
  }

  /** how many members are alive or suspect, this peer included (O(1)) */
  get size (): number {
    return this.table.liveCount + 1
  }

  /** Every other member this peer knows of, in any state. O(n). */
  members (): MemberRecord[] {
    return this.table.all()
  }

  /** What this peer holds about `peer`, if anything. O(1). */
  member (peer: PeerId | string): MemberRecord | undefined {
    return this.table.get(peer)
  }

  /** our own incarnation number */
  get incarnation (): number {
    return this.table.incarnation
  }

  /** Lifeguard's local health multiplier (0 = healthy) */
  get localHealth (): number {
    return this.health
  }

  /** members heard of but not yet reached (see MAX_MEMBER_CANDIDATES) */
  get candidateCount (): number {
    return this.candidates.size
  }

  /** dead or left claims about live members being checked now (see MAX_CLAIM_CHECKS) */
  get claimChecks (): number {
    return this.checking.size
  }

  /** updates dropped as implausible since start (past the clock skew, repeats, accusations of strangers, no room) */
  get droppedUpdates (): number {
    return this.dropped
  }

  /**
   * Whether news of members not in the table from `from` is dropped now: its newcomers answered
   * no ping CANDIDATE_SENDER_FAILURES times within MEMBER_CANDIDATE_TTL. Such updates need not
   * even be parsed (see `knows`).
   */
  ignoresNewcomersFrom (from: string): boolean {
    return this.isBlamed(from, this.clock.now())
  }

  /** whether `id` (a peer id string) is in the member table, in any state */
  knows (id: string): boolean {
    return this.table.get(id) != null
  }

  /** how many updates wait to be disseminated */
  get pendingUpdates (): number {
    return this.gossip.size
  }

  /** the push-pull interval at the current size: `pushPullInterval` stretched above 32 members */
  get currentPushPullInterval (): number {
    return pushPullInterval(this.init.pushPullInterval, this.size)
  }

  /**
   * Membership messages (probes, acks, indirect probes, gossip, push-pull, leave) this peer sent
   * and received since it was created, and their payload bytes (protobuf, without the length
   * prefix, Noise and Yamux framing). Bytes per second = the difference of two calls over the time
   * between them.
   */
  traffic (): MembershipTraffic {
    return { ...this.counters }
  }

  /**
   * Bytes sent by message type (requests and the replies `count()` was told of): which part of
   * the protocol costs what, for the benchmark and the simulator.
   */
  trafficByType (): Partial<Record<MembershipMessage['type'], number>> {
    return { ...this.sentByType }
  }

  /**
   * Counts one message (the transport's `onSent` and reply sizes are counted by the core itself;
   * the responder side calls this for the replies `handle()` returned, `type` being the reply's).
   */
  count (direction: 'sent' | 'received', bytes: number, type?: MembershipMessage['type']): void {
    if (direction === 'sent') {
      this.counters.messagesSent++
      this.counters.bytesSent += bytes
      if (type != null) this.sentByType[type] = (this.sentByType[type] ?? 0) + bytes
    } else {
      this.counters.messagesReceived++
      this.counters.bytesReceived += bytes
    }
  }

  /**
   * Handles one inbound request from `from` (`bytes`: its size on the wire, counted as received)
   * and resolves with the reply to send back. Rejects with `InvalidMessageError` a request from a
   * non-member or a message that is not a request (the driver then resets the stream), and with
   * `NotStartedError`-like `InvalidMessageError` nothing else: an indirect probe that finds its
   * target silent answers `nack`.
   */
  async handle (from: PeerId, message: MembershipMessage, bytes?: number): Promise<MembershipMessage> {
    if (bytes != null) this.count('received', bytes)
    if (this.components.admission?.admits(from) === false) throw new InvalidMessageError('not a member of this network')
    if (!SWIM_REQUESTS.has(message.type)) throw new InvalidMessageError(`unexpected ${message.type} as a request`)
    // checked before anything is applied: bad input changes nothing
    if (message.type === 'sync-digest' && message.digests?.length !== message.buckets) throw new InvalidMessageError('sync-digest without one digest per bucket')
    this.table.heard(from, this.clock.now())
    const origin: Origin = message.type === 'sync' || message.type === 'sync-push' ? 'sync' : 'message'
    this.applyUpdates(message.updates, from.toString(), origin)
    switch (message.type) {
      case 'ping-req': {
        // the decoder guarantees a target on a ping-req
        const acked = message.target != null && await this.ping(message.target, this.init.probeTimeout * (this.health + 1), this.shutdown.signal)
        return { type: acked ? 'ack' : 'nack', updates: this.piggyback(from) }
      }
      case 'sync':
        return { type: 'sync-reply', updates: this.fullState() }
      case 'sync-digest': {
        const buckets = message.buckets ?? 0
        const differing = this.table.differing(message.digests ?? new Uint32Array(buckets))
        const updates = this.bucketState(buckets, differing)
        // our own record always answers too (see digestSync)
        if (!updates.some(u => u.peerId.equals(this.components.peerId))) updates.unshift(this.selfUpdate())
        return { type: 'sync-digest-reply', buckets, differing, updates }
      }
      case 'gossip':
        // one-way news: the ack carries nothing (the sender gossips again next round if need be)
        return { type: 'ack', updates: [] }
      default:
        // ping, leave and sync-push
        return { type: 'ack', updates: this.piggyback(from) }
    }
  }

  private self (): LiveMember {
    return { peerId: this.components.peerId, kadId: this.selfKadId, capacity: this.capacity, zone: this.zone, state: 'alive' }
  }

  private get period (): number {
    return this.init.probeInterval * (this.health + 1)
  }

  private get timeout (): number {
    return this.init.probeTimeout * (this.health + 1)
  }

  private adjustHealth (delta: number): void {
    this.health = Math.min(MAX_LOCAL_HEALTH, Math.max(0, this.health + delta))
  }

  private scheduleProbe (delay: number): void {
    this.probeTimer = this.clock.setTimeout(() => { void this.probeRound() }, delay)
  }

  /** One protocol period's probe, then the next after the rest of the period. */
  private async probeRound (): Promise<void> {
    if (!this.running) return
    const started = this.clock.now()
    try {
      const target = this.nextTarget()
      if (target != null) await this.probe(target, this.shutdown.signal)
    } catch (err) {
      if (isProgrammerError(err)) throw err
      this.log.error('probe round failed - %e', err)
    } finally {
      // SWIM's protocol period runs from the start of one probe to the next (Lifeguard stretches it)
      if (this.running) this.scheduleProbe(Math.max(0, this.period - (this.clock.now() - started)))
    }
  }

  /** Round robin over the live members, reshuffled each round (SWIM section 4.3). */
  private nextTarget (): MemberRecord | undefined {
    for (;;) {
      if (this.roundRobin.length === 0) {
        this.roundRobin = this.shuffle(this.table.live())
        if (this.roundRobin.length === 0) return undefined
      }
      const next = this.roundRobin.pop()
      // check again: it may have died or left since the round started
      if (next != null && (next.state === 'alive' || next.state === 'suspect')) return next
    }
  }

  /** One SWIM probe: direct ping, then k indirect pings, then suspicion. */
  private async probe (target: MemberRecord, signal: AbortSignal): Promise<void> {
    const id = target.peerId.toString()
    if (this.probing.has(id)) return
    this.probing.add(id)
    try {
      const sent = this.clock.now()
      if (await this.ping(target.peerId, this.timeout, signal)) {
        this.components.metrics?.probes.inc({ result: 'ack' })
        this.components.metrics?.probeDuration.observe((this.clock.now() - sent) / 1000)
        this.adjustHealth(-1)
        return
      }
      if (signal.aborted) return
      const helpers = this.pickLive(this.init.indirectChecks, r => r.state === 'alive' && r !== target && !r.peerId.equals(target.peerId))
      const answers = await Promise.all(helpers.map(async h => this.pingReq(h.peerId, target.peerId, signal)))
      if (answers.includes('ack')) {
        this.components.metrics?.probes.inc({ result: 'indirect_ack' })
        return
      }
      if (signal.aborted) return
      this.components.metrics?.probes.inc({ result: 'suspect' })
      // Lifeguard: without any nack either, the fault may well be ours
      if (!answers.includes('nack')) this.adjustHealth(1)
      // check again after async work: it may have refuted or been declared dead meanwhile; a
      // member already suspect at this incarnation gets our own accusation as a confirmation
      const now = this.table.get(target.peerId)
      if (now != null && (now.state === 'alive' || now.state === 'suspect') && now.incarnation === target.incarnation) {
        this.log('%p did not answer a direct and %d indirect probes: suspect', target.peerId, helpers.length)
        this.applyUpdates([{ peerId: target.peerId, state: 'suspect', incarnation: target.incarnation, addrs: [], accuser: this.components.peerId }], 'self', 'message')
      }
    } finally {
      this.probing.delete(id)
    }
  }

  private async ping (peer: PeerId, timeout: number, signal: AbortSignal, claim?: MemberUpdate): Promise<boolean> {
    try {
      const piggyback = this.piggyback(peer)
      const updates = claim == null ? piggyback : [claim, ...piggyback.filter(u => !u.peerId.equals(claim.peerId))]
      const reply = await this.request(peer, { type: 'ping', updates }, timeout, signal)
      return reply.type === 'ack'
    } catch (err) {
      if (isProgrammerError(err)) throw err
      return false
    }
  }

  private async pingReq (helper: PeerId, target: PeerId, signal: AbortSignal): Promise<'ack' | 'nack' | 'fail'> {
    try {
      // the helper needs its own probe timeout plus the round trip to it
      const reply = await this.request(helper, { type: 'ping-req', target, updates: this.piggyback(helper) }, 2 * this.timeout + this.init.probeTimeout, signal)
      return reply.type === 'ack' ? 'ack' : reply.type === 'nack' ? 'nack' : 'fail'
    } catch (err) {
      if (isProgrammerError(err)) throw err
      return 'fail'
    }
  }

  private scheduleSync (): void {
    this.syncTimer = this.clock.setTimeout(() => {
      void this.syncRound().finally(() => { if (this.running) this.scheduleSync() })
    }, this.currentPushPullInterval)
  }

  /** One push-pull round with one member (a dead one every third round, a join peer while alone). */
  private async syncRound (): Promise<void> {
    if (!this.running) return
    this.syncRounds++
    const signal = this.shutdown.signal
    // SWIM joins a new member through a known one (the paper leaves it to a well-known server);
    // a peer whose join sync failed holds no member and no member holds it, so no probe or
    // piggyback can ever reach either side. Until it knows a live member, it keeps joining
    // through the join peers, as memberlist's users do with retry-join.
    if (this.table.liveCount === 0 && (this.syncRounds % 3 !== 0 || this.table.deadCount === 0)) {
      const seed = this.seeds[Math.floor(this.random() * this.seeds.length)]
      if (seed != null) await this.sync(seed, { signal }).catch(this.expected(`push-pull with join peer ${seed}`))
      return
    }
    // every third round, try a dead member: after a partition heals, both sides find each other
    const dead = this.syncRounds % 3 === 0 && this.table.deadCount > 0
    const peer = dead
      ? this.table.deadAt(Math.floor(this.random() * this.table.deadCount))
      : this.table.liveAt(Math.floor(this.random() * this.table.liveCount))
    if (peer != null) await this.digestSync(peer.peerId, signal).catch(this.expected(`push-pull with ${peer.peerId}`))
  }

  /**
   * The periodic push-pull: send the digests of our table's buckets; the member answers with the
   * buckets that differ and its records of them, which we merge, and we send ours of them back.
   * Two tables that agree exchange only digests.
   */
  private async digestSync (peer: PeerId, signal: AbortSignal): Promise<void> {
    const buckets = syncBuckets(this.size)
    const timeout = this.syncTimeout
    // our own record always rides along (one update): what it announces beside the incarnation —
    // the view digest health compares, the key count — changes no bucket digest
    const reply = await this.request(peer, { type: 'sync-digest', buckets, digests: this.table.digests(buckets), updates: [this.selfUpdate()] }, timeout, signal)
    if (reply.type !== 'sync-digest-reply' || reply.buckets !== buckets) throw new InvalidMessageError(`expected a sync-digest-reply of ${buckets} buckets, got ${reply.type}`)
    const differing = reply.differing ?? []
    if (differing.length === 0) return
    await this.request(peer, { type: 'sync-push', buckets, updates: this.bucketState(buckets, differing) }, timeout, signal)
  }

  private get syncTimeout (): number {
    return 10 * this.init.probeTimeout + 2000
  }

  /** Push-pull: send our full state, merge the member's full state (a join). */
  private async sync (peer: PeerId, options: AbortOptions): Promise<void> {
    const reply = await this.request(peer, { type: 'sync', updates: this.fullState() }, this.syncTimeout, options.signal ?? this.shutdown.signal)
    if (reply.type !== 'sync-reply') throw new InvalidMessageError(`expected sync-reply, got ${reply.type}`)
  }

  private scheduleGossip (): void {
    this.gossipTimer = this.clock.setTimeout(() => {
      this.gossipRound()
      if (this.running) this.scheduleGossip()
    }, this.init.gossipInterval)
  }

  /**
   * One gossip round (memberlist's gossip()): while there is news, send it to `gossipNodes` live
   * members, connected ones only while any is. Each message takes its own share of the queue, so an update
   * reaches up to gossipNodes members per round until its transmissions are used up.
   */
  private gossipRound (): void {
    if (!this.running || this.gossip.size === 0 || this.table.liveCount === 0) return
    const targets = this.gossipTargets()
    for (const target of targets) {
      if (this.gossip.size === 0) break
      const { updates } = this.gossip.take(this.init.maxPiggyback, this.init.maxPiggybackBytes, this.size)
      if (updates.length === 0) break
      void this.request(target.peerId, { type: 'gossip', updates }, this.init.probeTimeout, this.shutdown.signal)
        .catch(this.expected(`gossip to ${target.peerId}`))
    }
  }

  /** up to gossipNodes live members, connected ones only while any is (else one at random) (O(gossipNodes), or O(connections)) */
  private gossipTargets (): MemberRecord[] {
    const want = this.init.gossipNodes
    const connectedPeers = this.components.connectedPeers
    if (connectedPeers != null) {
      const connected: MemberRecord[] = []
      for (const peer of connectedPeers()) {
        const r = this.table.get(peer)
        if (r?.state === 'alive' && !connected.includes(r)) connected.push(r)
      }
      // only members already connected while there are any: under a small connection budget,
      // dialling others for gossip kept more peers in flight than the budget holds (probes and
      // push-pull still reach every member, and carry the news on to them)
      if (connected.length > 0) return this.shuffle(connected).slice(0, want)
      return this.pickLive(1, r => r.state === 'alive')
    }
    const isConnected = this.components.isConnected
    if (isConnected == null) return this.pickLive(want, r => r.state === 'alive')
    // a sample a few times larger than needed, connected ones first: a bounded connection budget
    // is not churned by gossip, and unconnected members still get news now and then
    const sample = this.pickLive(4 * want, r => r.state === 'alive')
    const connected = sample.filter(r => isConnected(r.peerId))
    const others = sample.filter(r => !isConnected(r.peerId))
    return [...connected, ...others].slice(0, want)
  }

  /**
   * Up to `count` distinct live members that pass `accept`, picked uniformly at random:
   * O(count) tries, not a scan of the table.
   */
  private pickLive (count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    const n = this.table.liveCount
    if (n === 0 || count <= 0) return []
    // a small table: shuffle it (exact); a large one: random tries (distinct picks)
    if (n <= 4 * count) return this.shuffle(this.table.live()).filter(accept).slice(0, count)
    const picked = new Set<MemberRecord>()
    for (let tries = 0; tries < 4 * count && picked.size < count; tries++) {
      const r = this.table.liveAt(Math.floor(this.random() * n))
      if (r != null && accept(r)) picked.add(r)
    }
    return [...picked]
  }

  private async leave (): Promise<void> {
    const incarnation = this.table.bumpIncarnation()
    const update: MemberUpdate = { peerId: this.components.peerId, state: 'left', incarnation, addrs: [] }
    const targets = this.pickLive(Math.max(3, this.init.indirectChecks), r => r.state === 'alive')
    await Promise.allSettled(targets.map(async t => this.request(t.peerId, { type: 'leave', updates: [update] }, LEAVE_TIMEOUT, this.shutdown.signal)))
  }

  /** One request and its reply through the transport; the reply's updates are applied. */
  private async request (peer: PeerId, message: MembershipMessage, timeout: number, signal: AbortSignal): Promise<MembershipMessage> {
    const { reply, bytes } = await this.components.transport.request(peer, message, {
      timeout,
      signal,
      onSent: n => { this.count('sent', n, message.type) }
    })
    this.count('received', bytes)
    this.table.heard(peer, this.clock.now())
    const origin: Origin = reply.type === 'sync-reply' || reply.type === 'sync-digest-reply' ? 'sync' : 'message'
    this.applyUpdates(reply.updates, peer.toString(), origin)
    return reply
  }

  /**
   * Applies updates received from `from` ('self' for our own decisions) and acts on each change.
   * News from others is weighed first (issue #19): at most one update per member per message; an
   * incarnation past `now + MAX_CLOCK_SKEW` is dropped; a member not in the table enters it only
   * when it speaks for itself or answers a ping (until then it is a candidate); an accusation of a
   * member not in the table is dropped, a suspicion's incarnation is capped at the one we hold (the
   * member can always refute it), and a dead or left claim about a live member is believed only
   * from the member itself or once this peer failed to reach it too.
   */
  private applyUpdates (updates: MemberUpdate[], from: string, origin: Origin): void {
    const now = this.clock.now()
    const admission = this.components.admission
    const seen = new Set<string>()
    // a sender not in the table before this message is a stranger: it speaks only for itself
    const senderKnown = from !== 'self' && this.table.get(from) != null
    for (const received of updates) {
      let update = received
      const id = update.peerId.toString()
      // news of a non-member is dropped: it never enters the view, so placement never names it
      if (admission != null && !update.peerId.equals(this.components.peerId) && !admission.admits(update.peerId)) continue
      if (from !== 'self') {
        if (seen.has(id) || update.incarnation > now + MAX_CLOCK_SKEW) {
          this.dropped++
          continue
        }
        seen.add(id)
      }
      const vouched = from === 'self' || from === id
      if (!vouched && !update.peerId.equals(this.components.peerId)) {
        const current = this.table.get(update.peerId)
        if (current == null) {
          // a dead or left member we never knew matters only to tombstone GC: believed from a
          // member's push-pull state, never from a stranger's (it never enters placement)
          const dead = update.state === 'dead' || update.state === 'left'
          if (!dead) {
            this.addCandidate(update, now, from)
            continue
          }
          if (!(origin === 'sync' && senderKnown) || !this.makeRoom()) {
            this.dropped++
            continue
          }
        }
        const live = current != null && (current.state === 'alive' || current.state === 'suspect')
        if (current != null && live && (update.state === 'dead' || update.state === 'left') && this.components.checkClaims !== false) {
          if (update.incarnation >= current.incarnation) this.checkClaim(current, update)
          continue
        }
        if (current != null && update.state === 'suspect' && update.incarnation > current.incarnation) update = { ...update, incarnation: current.incarnation }
      } else if (!update.peerId.equals(this.components.peerId)) {
        this.candidates.delete(id)
        if (this.table.get(update.peerId) == null && !this.makeRoom()) {
          this.dropped++
          continue
        }
      }
      const change = this.table.apply(update, from, now)
      switch (change.kind) {
        case 'none':
          break
        case 'refute':
          // Lifeguard: being suspected is a sign that we may be the slow one
          this.adjustHealth(1)
          this.components.metrics?.refutations.inc()
          this.log('refuting %s about us with incarnation %d', update.state, change.incarnation)
          this.enqueue(this.selfUpdate())
          break
        case 'confirmation':
          // pass the new accuser on: the others count it too
          if (from === 'self') this.enqueue(update)
          this.reschedule(change.record)
          break
        case 'changed':
          // a member first heard of in a push-pull is no news to the group (it announced itself
          // when it joined; re-gossiping a whole table after a join would flood every message for
          // minutes), unless it is the member itself announcing itself: the join peer spreads that
          this.onChanged(change.record, update, origin === 'message' || change.previous != null || from === id, change.previous, change.placementChanged)
          break
      }
    }
  }

  /** whether the table has room for one more member (a dead or left one is forgotten to make it) */
  private makeRoom (): boolean {
    if (this.table.count < MAX_MEMBERS) return true
    const victim = this.table.deadAt(0)
    if (victim == null) return false
    this.table.remove(victim.peerId)
    this.changes++
    return true
  }

  /** Remembers news of a member not in the table, to be pinged before it counts (bounded, newest incarnation kept). */
  private addCandidate (update: MemberUpdate, now: number, from: string): void {
    const id = update.peerId.toString()
    // a member whose news of others answered no ping CANDIDATE_SENDER_FAILURES times is not
    // believed about newcomers for MEMBER_CANDIDATE_TTL: one forged flood costs that many pings
    if (this.isBlamed(from, now)) {
      this.dropped++
      return
    }
    const known = this.candidates.get(id)
    if (known != null) {
      if (update.incarnation > known.update.incarnation) known.update = update
      return
    }
    // no address, no ping without a lookup through the DHT (a forged id's lookup loads every peer
    // it asks): a real member's own news always carries its addresses
    if (this.candidates.size >= MAX_MEMBER_CANDIDATES || (update.addrs.length === 0 && this.components.candidatesNeedAddresses === true)) {
      this.dropped++
      return
    }
    this.candidates.set(id, { update, since: now, from })
    this.scheduleCandidates()
  }

  /** whether `from`'s news of newcomers failed CANDIDATE_SENDER_FAILURES pings in the current window */
  private isBlamed (from: string, now: number): boolean {
    const blame = this.blamed.get(from)
    return blame != null && now - blame.since < MEMBER_CANDIDATE_TTL && blame.failures >= CANDIDATE_SENDER_FAILURES
  }

  /** counts a candidate of `from` that answered no ping */
  private blame (from: string): void {
    const now = this.clock.now()
    let blame = this.blamed.get(from)
    if (blame == null || now - blame.since >= MEMBER_CANDIDATE_TTL) {
      if (this.blamed.size >= MAX_MEMBER_CANDIDATES) {
        for (const [k, b] of this.blamed) if (now - b.since >= MEMBER_CANDIDATE_TTL) this.blamed.delete(k)
        const oldest = this.blamed.keys().next()
        if (this.blamed.size >= MAX_MEMBER_CANDIDATES && oldest.done !== true) this.blamed.delete(oldest.value)
      }
      blame = { since: now, failures: 0 }
      this.blamed.set(from, blame)
    }
    blame.failures++
  }

  /** arms the candidate round while there are candidates (no idle timer otherwise) */
  private scheduleCandidates (): void {
    if (this.candidateTimer != null || !this.running) return
    this.candidateTimer = this.clock.setTimeout(() => {
      this.candidateTimer = undefined
      this.verifyCandidates()
      if (this.candidates.size > 0) this.scheduleCandidates()
    }, CANDIDATE_INTERVAL)
  }

  /**
   * Pings up to CANDIDATE_PINGS_PER_ROUND candidates (oldest first, at most MAX_CANDIDATE_PINGS in
   * flight): one that answers enters the table with the news we had of it, as if it had said it
   * itself; one that does not, or waited past MEMBER_CANDIDATE_TTL, is forgotten.
   */
  private verifyCandidates (): void {
    if (!this.running || this.candidates.size === 0) return
    const now = this.clock.now()
    let started = 0
    for (const [id, candidate] of this.candidates) {
      if (started >= CANDIDATE_PINGS_PER_ROUND || this.candidatePings >= MAX_CANDIDATE_PINGS) break
      this.candidates.delete(id)
      if (now - candidate.since > MEMBER_CANDIDATE_TTL || this.table.get(id) != null || this.isBlamed(candidate.from, now)) continue
      started++
      this.candidatePings++
      const { update } = candidate
      // the ping dials the addresses the news gave (only for the few pinged each round)
      ;(this.components.candidateAddresses ?? this.components.learnedAddresses)?.(update.peerId, update.addrs)
      void this.ping(update.peerId, this.timeout, this.shutdown.signal).then(acked => {
        // a peer that answered over a connection authenticated as it is no forged id
        if (acked && this.running && this.table.get(update.peerId) == null) this.applyUpdates([update], id, 'message')
        if (!acked) this.blame(candidate.from)
        this.components.candidateSettled?.(update.peerId, acked || this.table.get(update.peerId) != null)
      }).finally(() => { this.candidatePings-- })
    }
  }

  /**
   * A dead or left claim about live `record` from another member: this peer probes it itself
   * (directly, then through k others) and believes the claim only if that fails. A stranger saying
   * a member is dead thus changes nothing while the member answers (Lifeguard's spirit: a claim is
   * a reason to look, not a verdict).
   */
  private checkClaim (record: MemberRecord, claim: MemberUpdate): void {
    const id = record.peerId.toString()
    if (!this.running || this.checking.size >= MAX_CLAIM_CHECKS) return
    const now = this.clock.now()
    const last = this.checkedAt.get(id) ?? -Infinity
    if (this.checking.has(id) || now - last < CLAIM_CHECK_INTERVAL) {
      this.checkLater(record, claim, Math.max(0, last + CLAIM_CHECK_INTERVAL - now))
      return
    }
    // bounded by the members: each entry is one of the table's, pruned once old
    if (this.checkedAt.size >= this.table.count) for (const [k, at] of this.checkedAt) if (now - at >= CLAIM_CHECK_INTERVAL) this.checkedAt.delete(k)
    this.checkedAt.set(id, now)
    this.checking.add(id)
    const signal = this.shutdown.signal
    void (async () => {
      // the check's ping shows the accused the claim: it refutes it (a higher incarnation, gossiped),
      // which corrects the claim's sender and anyone else who believed it — otherwise a sender that
      // holds a stale dead or left record of a live member would never learn better
      if (await this.ping(record.peerId, this.timeout, signal, claim)) return
      if (signal.aborted) return
      const helpers = this.pickLive(this.init.indirectChecks, r => r.state === 'alive' && !r.peerId.equals(record.peerId))
      const answers = await Promise.all(helpers.map(async h => this.pingReq(h.peerId, record.peerId, signal)))
      if (answers.includes('ack') || signal.aborted || !this.running) return
      this.log('%p named %s by another did not answer us either: believed', record.peerId, claim.state)
      this.applyUpdates([claim], 'self', 'message')
    })().catch(err => {
      if (isProgrammerError(err)) throw err
      this.log.error('checking a claim about %p failed - %e', record.peerId, err)
    }).finally(() => { this.checking.delete(id) })
  }

  /** Keeps the highest of the claims about `record` that came too soon, to be checked in `delay` ms. */
  private checkLater (record: MemberRecord, claim: MemberUpdate, delay: number): void {
    const id = record.peerId.toString()
    const later = this.laterClaims.get(id)
    if (later != null) {
      if (claim.incarnation > later.claim.incarnation) later.claim = claim
      return
    }
    const entry: { claim: MemberUpdate, timer?: SwimTimer } = { claim }
    this.laterClaims.set(id, entry)
    entry.timer = this.clock.setTimeout(() => {
      this.laterClaims.delete(id)
      const current = this.table.get(record.peerId)
      // still a live member the claim is news about
      if (!this.running || current == null || (current.state !== 'alive' && current.state !== 'suspect') || entry.claim.incarnation < current.incarnation) return
      this.checkClaim(current, entry.claim)
    }, Math.max(delay, this.timeout))
  }

  private enqueue (update: MemberUpdate): void {
    this.gossip.enqueue(update, memberUpdateSize(update))
  }

  private onChanged (record: MemberRecord, update: MemberUpdate, news: boolean, previous?: MemberRecord['state'], placementChanged = false): void {
    const id = record.peerId.toString()
    this.changes++
    if (news) {
      this.enqueue({ ...update, addrs: record.addrs, capacity: record.capacity, zone: record.zone, keys: record.keys })
    }
    if (record.state === 'suspect') {
      this.reschedule(record)
    } else {
      this.suspicions.get(id)?.timer.cancel()
      this.suspicions.delete(id)
    }
    const live = record.state === 'alive' || record.state === 'suspect'
    const wasLive = previous === 'alive' || previous === 'suspect'
    if (live && !wasLive && this.roundRobin.length > 0) {
      // memberlist: a new member goes in at a random place of the current round, not at its end
      const at = Math.floor(this.random() * (this.roundRobin.length + 1))
      const displaced = this.roundRobin[at]
      this.roundRobin[at] = record
      if (displaced != null) this.roundRobin.push(displaced)
    }
    if (record.state === 'alive' && record.addrs.length > 0) this.components.learnedAddresses?.(record.peerId, record.addrs)
    // a member back with another capacity or zone moves data just as a membership change does
    if (previous !== record.state || placementChanged) {
      this.log('member %p is %s (incarnation %d, capacity %s, zone %s)', record.peerId, record.state, record.incarnation, record.capacity ?? 1, record.zone ?? '-')
      this.safeDispatchEvent('member:update', { detail: { record, previous } })
    }
  }

  /** (Re)arms the suspicion timer of a suspect member for its current number of confirmations. */
  private reschedule (record: MemberRecord): void {
    const id = record.peerId.toString()
    const existing = this.suspicions.get(id)
    const started = existing?.incarnation === record.incarnation ? existing.started : this.clock.now()
    existing?.timer.cancel()
    const timeout = suspicionTimeout({
      members: this.size,
      probeInterval: this.init.probeInterval,
      mult: this.init.suspicionMult,
      maxMult: this.init.suspicionMaxMult,
      // memberlist's rule: in a group too small for k independent accusers, expect n − 2
      expectedConfirmations: Math.max(0, Math.min(this.init.indirectChecks, this.size - 2))
    }, Math.max(0, record.suspectedBy.size - 1))
    const timer = this.clock.setTimeout(() => {
      this.suspicions.delete(id)
      const now = this.table.get(record.peerId)
      // check again: a refutation may have arrived
      if (this.running && now?.state === 'suspect' && now.incarnation === record.incarnation) {
        this.applyUpdates([{ peerId: record.peerId, state: 'dead', incarnation: record.incarnation, addrs: [] }], 'self', 'message')
      }
    }, Math.max(0, timeout - (this.clock.now() - started)))
    this.suspicions.set(id, { incarnation: record.incarnation, started, timer })
  }

  private selfUpdate (): MemberUpdate {
    return {
      peerId: this.components.peerId,
      state: 'alive',
      incarnation: this.table.incarnation,
      addrs: (this.components.addresses?.() ?? []).slice(0, 16),
      capacity: this.capacity,
      zone: this.zone,
      keys: this.keyCount?.(),
      viewDigest: this.viewDigest?.()
    }
  }

  /**
   * Updates to piggyback on a message to `to`, bounded by count and bytes. A member we hold as
   * suspect or dead is always told so directly: the news may have used up its retransmissions on
   * messages it never received (it was paused, slow or cut off), and it can only refute what
   * reaches it. A peer declared dead that still probes us thus refutes within one exchange instead
   * of waiting for a push-pull.
   */
  private piggyback (to?: PeerId): MemberUpdate[] {
    const record = to == null ? undefined : this.table.get(to)
    const direct: MemberUpdate | undefined = record?.state === 'suspect' || record?.state === 'dead'
      ? { peerId: record.peerId, state: record.state, incarnation: record.incarnation, addrs: [] }
      : undefined
    const reserved = direct == null ? 0 : memberUpdateSize(direct)
    const { updates } = this.gossip.take(this.init.maxPiggyback - (direct == null ? 0 : 1), this.init.maxPiggybackBytes - reserved, this.size)
    if (direct != null && !updates.some(u => u.peerId.equals(direct.peerId))) updates.push(direct)
    return updates
  }

  /** every member we know of and ourselves (a join's full state: O(n)) */
  private fullState (): MemberUpdate[] {
    return [this.selfUpdate(), ...this.table.all().map(toUpdate)]
  }

  /** our records of `differing` of `buckets` buckets, ourselves included if our bucket is one */
  private bucketState (buckets: number, differing: number[]): MemberUpdate[] {
    if (differing.length === 0) return []
    const { records, self } = this.table.inBuckets(buckets, differing)
    const updates = records.map(toUpdate)
    return self ? [this.selfUpdate(), ...updates] : updates
  }

  private shuffle<T> (items: T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      const tmp = out[i] as T
      out[i] = out[j] as T
      out[j] = tmp
    }
    return out
  }

  private expected (what: string): (err: unknown) => void {
    return (err: unknown): void => {
      if (isProgrammerError(err)) throw err
      this.log.trace(`${what} failed - %e`, err)
    }
  }
}

/** `interval` stretched × (ceil(log2(n / 32)) + 1) above 32 members (memberlist's pushPullScale). */
export function pushPullInterval (interval: number, members: number): number {
  if (members <= PUSH_PULL_SCALE_THRESHOLD) return interval
  return interval * (Math.ceil(Math.log2(members) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1)
}

/** Buckets of a digest push-pull for `members` members: a power of two, ~8 members a bucket. */
export function syncBuckets (members: number): number {
  let buckets = 1
  while (buckets < MAX_SYNC_BUCKETS && buckets * SYNC_BUCKET_MEMBERS < members) buckets *= 2
  return buckets
}

function toUpdate (r: MemberRecord): MemberUpdate {
  return { peerId: r.peerId, state: r.state, incarnation: r.incarnation, addrs: r.addrs, capacity: r.capacity, zone: r.zone, keys: r.keys }
}

function stripUndefined<T extends object> (init: T): Partial<T> {
  return Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) as Partial<T>
}
