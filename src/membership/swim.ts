import { InvalidMessageError, TimeoutError } from '@libp2p/interface'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { ChannelPool, FrameReader, RequestChannel, isEndOfStream } from '../channel/index.ts'
import { GOSSIP_CHANNEL_IDLE_TIMEOUT, GOSSIP_DEFAULT, LEAVE_TIMEOUT, MAX_LOCAL_HEALTH, MAX_PIGGYBACK, PROTOCOL_MEMBERSHIP } from '../constants.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../protocol/index.ts'
import { peerKadId } from '../routing/index.ts'
import { RepeatingTask, expected } from '../tasks/index.ts'
import { Dissemination } from './dissemination.ts'
import { MemberTable } from './members.ts'
import { suspicionTimeout } from './suspicion.ts'
import type { MemberRecord } from './members.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { MemberUpdate, MembershipMessage } from '../protocol/index.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

/** SWIM and Lifeguard parameters; see GOSSIP_DEFAULT and GOSSIP_TESTNET in constants.ts. */
export interface MembershipInit {
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
  /** each update is piggybacked retransmitMult × log10(n + 1) times. @default 4 */
  retransmitMult?: number
  /** full-state push-pull with a random member this often. @default 30_000 */
  pushPullInterval?: number
  /** this peer's capacity weight, announced with its alive updates (issue #15). @default 1 */
  capacity?: number
  /** this peer's zone label, announced with its alive updates (issue #15). @default undefined (none) */
  zone?: string
  /** how many keys this peer holds, announced with its alive updates (for `p2pstore ring`). @default not announced */
  keyCount?: () => number
  /** a digest of this peer's member view, announced with its alive updates (issue #18). @default not announced */
  viewDigest?: () => Uint8Array | undefined
  /**
   * an outbound membership stream (channel) to a member unused this long is closed; the member's
   * side closes an inbound one after twice as long. @default GOSSIP_CHANNEL_IDLE_TIMEOUT (5 min)
   */
  channelIdleTimeout?: number
}

/** What membership needs from libp2p (a libp2p node fits). */
export interface MembershipComponents {
  logger: ComponentLogger
  peerId: PeerId
  network: {
    handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
    dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
    getMultiaddrs(): Multiaddr[]
    peerStore: { merge(peerId: PeerId, data: { multiaddrs: Multiaddr[] }): Promise<unknown> }
  }
  events: TypedEventTarget<{ 'peer:disconnect': CustomEvent<PeerId> }>
  /**
   * Who may be a member (a closed network's roster). Requests from others are refused, and news
   * naming others is dropped, so a non-member never enters the view. @default everyone
   */
  admission?: { admits(peer: PeerId): boolean }
  /** where probes, refutations and streams are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'probes' | 'probeDuration' | 'refutations' | 'streamsOpened'>
  /** the connection budget: work with a peer is marked in flight around each request. @default none */
  connections?: { acquire(peer: PeerId): () => void }
}

/** Events of the membership view. */
export interface MembershipEvents {
  /** a member changed state (or appeared) */
  'member:update': CustomEvent<{ record: MemberRecord, previous?: MemberRecord['state'] }>
}

/** Membership traffic counters; see `Membership.traffic()`. */
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

const MAX_FRAME = 4 * 1024 * 1024

/** A reply and the size of its frame (for the traffic counters). */
interface MemberReply {
  reply: MembershipMessage
  bytes: number
}

/**
 * One outbound long-lived `/p2pstore/membership/1.0.0` stream to one member, carrying its probes,
 * indirect probes, push-pulls and leave. A channel unused for `channelIdleTimeout` ms closes
 * itself (its member was not probed for that long).
 */
type MemberChannel = RequestChannel<MembershipMessage, MemberReply>

/** The message types a member may send as requests; the others are responses. */
const REQUESTS = new Set<MembershipMessage['type']>(['ping', 'ping-req', 'sync', 'leave'])

/**
 * SWIM membership with Lifeguard (see the references in suspicion.ts and members.ts): every
 * protocol period this peer probes one member, in round-robin order over a list shuffled each
 * round; a member that does not answer is probed indirectly through k others, then suspected; a
 * suspicion that is not refuted in time makes it dead. News rides piggybacked on probes, and a
 * periodic full-state push-pull with a random member heals whatever piggybacking missed — with a
 * dead member now and then too, so that the two sides of a healed partition find each other again.
 *
 * Lifeguard's local health multiplier (0…8) grows when this peer misses acks or is suspected
 * itself, and stretches its probe period and timeouts by (multiplier + 1): a peer that is itself
 * slow probes less and suspects later, so a loaded peer does not declare live peers dead.
 */
export class Membership extends TypedEventEmitter<MembershipEvents> implements Startable {
  private readonly components: MembershipComponents
  private readonly init: Required<Omit<MembershipInit, 'capacity' | 'zone' | 'keyCount' | 'viewDigest' | 'channelIdleTimeout'>>
  private readonly channelIdleTimeout: number
  private readonly keyCount?: () => number
  private readonly viewDigest?: () => Uint8Array | undefined
  private readonly capacity?: number
  private readonly zone?: string
  private changes = 0
  private readonly log: Logger
  private readonly selfKadId: Uint8Array
  private table: MemberTable
  private readonly gossip: Dissemination
  private readonly suspicions = new Map<string, { incarnation: number, started: number, timer: ReturnType<typeof setTimeout> }>()
  private readonly probing = new Set<string>()
  private roundRobin: MemberRecord[] = []
  private health = 0
  private shutdown = new AbortController()
  private readonly probeTask: RepeatingTask
  private readonly syncTask: RepeatingTask
  private running = false
  private syncRounds = 0
  /** the peers `join()` was given: the push-pull falls back to them while no member is known */
  private seeds: PeerId[] = []
  private readonly counters: MembershipTraffic = { messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0 }
  /**
   * Outbound channels by member. A request that times out leaves its channel open: a paused member
   * (SIGSTOP) still holds its connection, and the replies it sends once resumed are dropped by id.
   */
  private readonly channels = new ChannelPool<MemberChannel>(async (peer, options) => this.dial(peer, options))
  /** inbound membership streams being served */
  private readonly inbound = new Set<Stream>()
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    // a closed connection is a strong hint (a crashed peer resets its sockets): probe it now
    const record = this.table.get(evt.detail)
    if (record != null && record.state === 'alive' && this.running) {
      void this.probe(record, this.shutdown.signal).catch(err => { this.log.error('probe after disconnect failed - %e', err) })
    }
  }

  constructor (components: MembershipComponents, init: MembershipInit = {}) {
    super()
    this.components = components
    const { capacity, zone, keyCount, viewDigest, channelIdleTimeout, ...gossip } = init
    this.keyCount = keyCount
    this.viewDigest = viewDigest
    this.channelIdleTimeout = channelIdleTimeout ?? GOSSIP_CHANNEL_IDLE_TIMEOUT
    this.init = { ...GOSSIP_DEFAULT, ...stripUndefined(gossip) }
    // capacity 1 and no zone travel as the wire's defaults
    this.capacity = capacity === 1 ? undefined : capacity
    this.zone = zone === '' ? undefined : zone
    this.log = components.logger.forComponent('p2pstore:membership:swim')
    this.table = new MemberTable(components.peerId, Date.now())
    this.gossip = new Dissemination(this.init.retransmitMult)
    this.selfKadId = peerKadId(components.peerId)
    // SWIM's protocol period runs from the start of one probe to the next (Lifeguard stretches it)
    this.probeTask = new RepeatingTask(async ({ signal }) => this.probeRound(signal), {
      interval: this.init.probeInterval, runImmediately: true, log: this.log, name: 'probe round'
    })
    this.syncTask = new RepeatingTask(async ({ signal }) => { await this.syncRound(signal) }, {
      interval: this.init.pushPullInterval, log: this.log, name: 'push-pull round'
    })
  }

  /** Starts serving the protocol and the probe and push-pull loops. */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    // a fresh incarnation above any this peer used before a restart (refutation covers clock skew)
    this.table = new MemberTable(this.components.peerId, Math.max(Date.now(), this.table.incarnation + 1))
    this.changes++
    await this.components.network.handle(PROTOCOL_MEMBERSHIP, (stream, connection) => {
      void this.serve(stream, connection.remotePeer)
    }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.probeTask.start()
    this.syncTask.start()
  }

  /**
   * Stops. With `leave` (the default) it first tells a few members that it is leaving, so the
   * others see `left` at once instead of suspecting it.
   */
  async stop (options: { leave?: boolean } = {}): Promise<void> {
    if (!this.running) return
    if (options.leave ?? true) await this.leave().catch(expected(this.log, 'leave'))
    this.running = false
    this.shutdown.abort()
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const s of this.suspicions.values()) clearTimeout(s.timer)
    this.suspicions.clear()
    await Promise.all([this.probeTask.stop(), this.syncTask.stop()])
    await this.components.network.unhandle(PROTOCOL_MEMBERSHIP)
    const closing = new Error('peer is stopping')
    this.channels.closeAll(closing)
    for (const stream of this.inbound) stream.abort(closing)
    this.inbound.clear()
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
   * Marks `peers` as `left` for good (removed from the roster): placement stops naming them at once,
   * and since news about non-members is dropped, nothing brings them back.
   */
  evict (peers: PeerId[]): void {
    const now = Date.now()
    for (const peer of peers) {
      const record = this.table.get(peer)
      if (record == null || record.state === 'left') continue
      // one incarnation up: `left` then wins over whatever state the record is in, dead included
      const update: MemberUpdate = { peerId: record.peerId, state: 'left', incarnation: record.incarnation + 1, addrs: [] }
      const change = this.table.apply(update, 'self', now)
      if (change.kind === 'changed') this.onChanged(change.record, update, change.previous)
    }
  }

  /** This peer plus every member that is alive or suspect: the view placement uses. */
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

  private self (): LiveMember {
    return { peerId: this.components.peerId, kadId: this.selfKadId, capacity: this.capacity, zone: this.zone, state: 'alive' }
  }

  /**
   * This peer plus every member that has not left — dead ones included. Tombstone GC ranks these:
   * a dead member may come back with an old value, so it must have confirmed the delete too.
   */
  notLeft (): LiveMember[] {
    return [this.self(), ...this.table.all().filter(r => r.state !== 'left')]
  }

  /** how many members are alive or suspect, this peer included */
  get size (): number {
    return this.table.live().length + 1
  }

  /**
   * Membership messages (probes, acks, indirect probes, push-pull, leave) this peer sent and
   * received since it was created, and their payload bytes (protobuf, without the length prefix,
   * Noise and Yamux framing). For the benchmark's traffic per peer per second.
   */
  traffic (): MembershipTraffic {
    return { ...this.counters }
  }

  private count (direction: 'sent' | 'received', bytes: number): void {
    if (direction === 'sent') {
      this.counters.messagesSent++
      this.counters.bytesSent += bytes
    } else {
      this.counters.messagesReceived++
      this.counters.bytesReceived += bytes
    }
  }

  /** Every other member this peer knows of, in any state. */
  members (): MemberRecord[] {
    return this.table.all()
  }

  /** our own incarnation number */
  get incarnation (): number {
    return this.table.incarnation
  }

  /** Lifeguard's local health multiplier (0 = healthy) */
  get localHealth (): number {
    return this.health
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

  /** One protocol period's probe; resolves with the rest of the period, the wait before the next. */
  private async probeRound (signal: AbortSignal = this.shutdown.signal): Promise<number> {
    const started = Date.now()
    const target = this.nextTarget()
    if (target != null) await this.probe(target, signal)
    return Math.max(0, this.period - (Date.now() - started))
  }

  /** Round robin over the live members, reshuffled each round (SWIM section 4.3). */
  private nextTarget (): MemberRecord | undefined {
    for (;;) {
      if (this.roundRobin.length === 0) {
        this.roundRobin = shuffle(this.table.live())
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
      const sent = performance.now()
      if (await this.ping(target.peerId, this.timeout, signal)) {
        this.components.metrics?.probes.inc({ result: 'ack' })
        this.components.metrics?.probeDuration.observe((performance.now() - sent) / 1000)
        this.adjustHealth(-1)
        return
      }
      if (signal.aborted) return
      const helpers = shuffle(this.table.live().filter(r => r.state === 'alive' && !r.peerId.equals(target.peerId))).slice(0, this.init.indirectChecks)
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
        this.applyUpdates([{ peerId: target.peerId, state: 'suspect', incarnation: target.incarnation, addrs: [], accuser: this.components.peerId }], 'self')
      }
    } finally {
      this.probing.delete(id)
    }
  }

  private async ping (peer: PeerId, timeout: number, signal: AbortSignal): Promise<boolean> {
    try {
      const reply = await this.request(peer, { type: 'ping', updates: this.piggyback(peer) }, timeout, signal)
      return reply.type === 'ack'
    } catch {
      return false
    }
  }

  private async pingReq (helper: PeerId, target: PeerId, signal: AbortSignal): Promise<'ack' | 'nack' | 'fail'> {
    try {
      // the helper needs its own probe timeout plus the round trip to it
      const reply = await this.request(helper, { type: 'ping-req', target, updates: this.piggyback(helper) }, 2 * this.timeout + this.init.probeTimeout, signal)
      return reply.type === 'ack' ? 'ack' : reply.type === 'nack' ? 'nack' : 'fail'
    } catch {
      return 'fail'
    }
  }

  /** One push-pull round with one member (a dead one every third round, a join peer while alone). */
  private async syncRound (signal: AbortSignal = this.shutdown.signal): Promise<void> {
    this.syncRounds++
    // every third round, try a dead member: after a partition heals, both sides find each other
    const dead = this.table.all().filter(r => r.state === 'dead').map(r => r.peerId)
    const live = this.table.live().map(r => r.peerId)
    // SWIM joins a new member through a known one (the paper leaves it to a well-known server);
    // a peer whose join sync failed holds no member and no member holds it, so no probe or
    // piggyback can ever reach either side. Until it knows a live member, it keeps joining
    // through the join peers, as memberlist's users do with retry-join.
    const pool = this.syncRounds % 3 === 0 && dead.length > 0 ? dead : live.length > 0 ? live : this.seeds
    const peer = pool[Math.floor(Math.random() * pool.length)]
    if (peer != null) await this.sync(peer, { signal }).catch(expected(this.log.trace, `push-pull with ${peer}`))
  }

  /** Push-pull: send our full state, merge the member's full state. */
  private async sync (peer: PeerId, options: AbortOptions): Promise<void> {
    const reply = await this.request(peer, { type: 'sync', updates: this.fullState() }, 10 * this.init.probeTimeout + 2000, options.signal ?? this.shutdown.signal)
    if (reply.type !== 'sync-reply') throw new InvalidMessageError(`expected sync-reply, got ${reply.type}`)
  }

  private async leave (): Promise<void> {
    const incarnation = this.table.bumpIncarnation()
    const update: MemberUpdate = { peerId: this.components.peerId, state: 'left', incarnation, addrs: [] }
    const targets = shuffle(this.table.live().filter(r => r.state === 'alive')).slice(0, Math.max(3, this.init.indirectChecks))
    await Promise.allSettled(targets.map(async t => this.request(t.peerId, { type: 'leave', updates: [update] }, LEAVE_TIMEOUT, this.shutdown.signal)))
  }

  /**
   * One request and its response over the channel to `peer` (opened, or reopened after a failure,
   * on demand), within `timeout`; the reply's updates are applied. A new stream per probe cost more
   * CPU than all else an idle peer did (multistream-select, Yamux and peer-store work each time).
   */
  private async request (peer: PeerId, message: MembershipMessage, timeout: number, signal: AbortSignal): Promise<MembershipMessage> {
    const begin = Date.now()
    const channel = this.channels.get(peer) ?? await this.channels.open(peer, { timeout, signals: [signal] })
    // one deadline for the whole exchange, the dial of a new channel included
    const left = Math.max(1, timeout - (Date.now() - begin))
    const { reply, bytes } = await channel.request(message, { signal, timeout: left, onSent: n => { this.count('sent', n) } })
    this.count('received', bytes)
    this.table.heard(peer, Date.now())
    this.applyUpdates(reply.updates, peer.toString())
    return reply
  }

  /** A new channel over a new stream to `peer`. */
  private async dial (peer: PeerId, options: AbortOptions): Promise<MemberChannel> {
    const stream = await this.components.network.dialProtocol(peer, PROTOCOL_MEMBERSHIP, options)
    this.components.metrics?.streamsOpened.inc({ protocol: 'membership', direction: 'outbound' })
    const channel = new RequestChannel<MembershipMessage, MemberReply>(peer, stream, {
      name: 'membership',
      encode: (id, message) => encodeMembershipMessage({ ...message, id }),
      decode: frame => {
        const reply = decodeMembershipMessage(frame)
        return { id: reply.id ?? 0, response: { reply, bytes: frame.byteLength } }
      },
      describe: message => `a membership ${message.type}`,
      maxFrame: MAX_FRAME,
      idleTimeout: this.channelIdleTimeout,
      log: this.log.trace,
      // the wire's uint32; 0 means "one exchange per stream" (version 0.1.0, or a tool): such a
      // peer's reply answers the oldest request in flight, and the stream then ends
      maxId: 2 ** 32 - 1,
      zeroIsOldest: true,
      rejectUnknownIds: false
    })
    // a channel opened after stop() began would outlive it
    if (!this.running) channel.close(new Error('peer is stopping'))
    return channel
  }

  /** Closes the channel to a member that died or left: nothing more is sent to it until it is back. */
  private dropChannel (peer: PeerId): void {
    this.channels.drop(peer, new Error('member is no longer alive'))
  }

  /**
   * Serves one inbound stream: every request is answered as soon as it is handled (an indirect
   * probe waits for its target while pings behind it are answered), with the request's id. The
   * stream lives until the member closes it or leaves it idle for twice its channel idle timeout.
   * Malformed input resets the stream and changes nothing.
   */
  private async serve (stream: Stream, from: PeerId): Promise<void> {
    if (this.components.admission?.admits(from) === false) {
      // defence in depth: the connection gater should not have let a non-member connect at all
      this.log('refusing membership request from %p: not a member', from)
      stream.abort(new InvalidMessageError('not a member of this network'))
      return
    }
    this.components.metrics?.streamsOpened.inc({ protocol: 'membership', direction: 'inbound' })
    this.inbound.add(stream)
    const idleTimeout = 2 * this.channelIdleTimeout
    const reader = new FrameReader(stream, {
      maxFrame: MAX_FRAME,
      idleTimeout,
      idleError: () => new TimeoutError(`no membership request from ${from} for ${idleTimeout} ms`),
      shutdown: this.shutdown.signal
    })
    const lp = reader.lp
    try {
      for (;;) {
        const frame = await reader.read()
        this.count('received', frame.byteLength)
        const message = decodeMembershipMessage(frame)
        // the roster may have dropped the member since the stream opened
        if (this.components.admission?.admits(from) === false) throw new InvalidMessageError('not a member of this network')
        if (!REQUESTS.has(message.type)) throw new InvalidMessageError(`unexpected ${message.type} as a request`)
        void this.answer(lp, message, from)
      }
    } catch (err) {
      const e = err as Error
      if (isEndOfStream(stream, e) || this.shutdown.signal.aborted) {
        await stream.close().catch(expected(this.log.trace, 'closing a membership stream'))
      } else {
        if (e.name === 'InvalidMessageError') this.log.error('bad membership message from %p - %e', from, e)
        else this.log.trace('membership stream from %p failed - %e', from, e)
        stream.abort(e)
      }
    } finally {
      reader.close()
      this.inbound.delete(stream)
    }
  }

  /** Handles one request and writes its response, with the request's id. */
  private async answer (lp: FrameReader['lp'], message: MembershipMessage, from: PeerId): Promise<void> {
    this.table.heard(from, Date.now())
    this.applyUpdates(message.updates, from.toString())
    let reply: MembershipMessage
    switch (message.type) {
      case 'ping-req': {
        // the decoder guarantees a target on a ping-req
        const acked = message.target != null && await this.ping(message.target, this.init.probeTimeout * (this.health + 1), this.shutdown.signal)
        reply = { type: acked ? 'ack' : 'nack', updates: this.piggyback(from) }
        break
      }
      case 'sync':
        reply = { type: 'sync-reply', updates: this.fullState() }
        break
      default:
        // ping and leave
        reply = { type: 'ack', updates: this.piggyback(from) }
    }
    const out = encodeMembershipMessage({ ...reply, id: message.id })
    this.count('sent', out.byteLength)
    try {
      // no deadline of its own (a timeout signal per reply fires, and allocates, long after):
      // a write stuck behind a paused member's full window ends with its stream
      await lp.write(out)
    } catch (err) {
      if (!this.shutdown.signal.aborted) this.log.trace('could not answer %p - %e', from, err)
    }
  }

  /** Applies updates received from `from` ('self' for our own decisions) and acts on each change. */
  private applyUpdates (updates: MemberUpdate[], from: string): void {
    const now = Date.now()
    const admission = this.components.admission
    for (const update of updates) {
      // news of a non-member is dropped: it never enters the view, so placement never names it
      if (admission != null && !update.peerId.equals(this.components.peerId) && !admission.admits(update.peerId)) continue
      const change = this.table.apply(update, from, now)
      switch (change.kind) {
        case 'none':
          break
        case 'refute':
          // Lifeguard: being suspected is a sign that we may be the slow one
          this.adjustHealth(1)
          this.components.metrics?.refutations.inc()
          this.log('refuting %s about us with incarnation %d', update.state, change.incarnation)
          this.gossip.enqueue(this.selfUpdate())
          break
        case 'confirmation':
          // pass the new accuser on: the others count it too
          if (from === 'self') this.gossip.enqueue(update)
          this.reschedule(change.record)
          break
        case 'changed':
          this.onChanged(change.record, update, change.previous, change.placementChanged)
          break
      }
    }
  }

  private onChanged (record: MemberRecord, update: MemberUpdate, previous?: MemberRecord['state'], placementChanged = false): void {
    const id = record.peerId.toString()
    this.changes++
    this.gossip.enqueue({ ...update, addrs: record.addrs, capacity: record.capacity, zone: record.zone, keys: record.keys })
    if (record.state === 'suspect') {
      this.reschedule(record)
    } else {
      const pending = this.suspicions.get(id)
      if (pending != null) clearTimeout(pending.timer)
      this.suspicions.delete(id)
    }
    if (record.state === 'dead' || record.state === 'left') this.dropChannel(record.peerId)
    if (record.state === 'alive' && record.addrs.length > 0) {
      void this.components.network.peerStore.merge(record.peerId, { multiaddrs: record.addrs }).catch(err => { this.log.trace('could not store addresses of %p - %e', record.peerId, err) })
    }
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
    const started = existing?.incarnation === record.incarnation ? existing.started : Date.now()
    if (existing != null) clearTimeout(existing.timer)
    const timeout = suspicionTimeout({
      members: this.size,
      probeInterval: this.init.probeInterval,
      mult: this.init.suspicionMult,
      maxMult: this.init.suspicionMaxMult,
      // memberlist's rule: in a group too small for k independent accusers, expect n − 2
      expectedConfirmations: Math.max(0, Math.min(this.init.indirectChecks, this.size - 2))
    }, Math.max(0, record.suspectedBy.size - 1))
    const timer = setTimeout(() => {
      this.suspicions.delete(id)
      const now = this.table.get(record.peerId)
      // check again: a refutation may have arrived
      if (now?.state === 'suspect' && now.incarnation === record.incarnation) {
        this.applyUpdates([{ peerId: record.peerId, state: 'dead', incarnation: record.incarnation, addrs: [] }], 'self')
      }
    }, Math.max(0, timeout - (Date.now() - started)))
    timer.unref()
    this.suspicions.set(id, { incarnation: record.incarnation, started, timer })
  }

  private selfUpdate (): MemberUpdate {
    return {
      peerId: this.components.peerId,
      state: 'alive',
      incarnation: this.table.incarnation,
      addrs: this.components.network.getMultiaddrs().map(a => a.decapsulateCode(421)).slice(0, 16),
      capacity: this.capacity,
      zone: this.zone,
      keys: this.keyCount?.(),
      viewDigest: this.viewDigest?.()
    }
  }

  /**
   * Updates to piggyback on a message to `to`. A member we hold as suspect or dead is always told
   * so directly: the news may have used up its retransmissions on messages it never received (it
   * was paused, slow or cut off), and it can only refute what reaches it. A peer declared dead
   * that still probes us thus refutes within one exchange instead of waiting for a push-pull.
   */
  private piggyback (to?: PeerId): MemberUpdate[] {
    const updates = this.gossip.take(MAX_PIGGYBACK, this.size)
    const record = to == null ? undefined : this.table.get(to)
    if ((record?.state === 'suspect' || record?.state === 'dead') && !updates.some(u => u.peerId.equals(record.peerId))) {
      updates.push({ peerId: record.peerId, state: record.state, incarnation: record.incarnation, addrs: [] })
    }
    return updates
  }

  private fullState (): MemberUpdate[] {
    return [this.selfUpdate(), ...this.table.all().map(r => ({ peerId: r.peerId, state: r.state, incarnation: r.incarnation, addrs: r.addrs, capacity: r.capacity, zone: r.zone, keys: r.keys }))]
  }
}

function shuffle<T> (items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const tmp = out[i] as T
    out[i] = out[j] as T
    out[j] = tmp
  }
  return out
}

function stripUndefined<T extends object> (init: T): Partial<T> {
  return Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) as Partial<T>
}
