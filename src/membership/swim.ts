import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidMessageError, TimeoutError } from '@libp2p/interface'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { ChannelPool, FrameReader, RequestChannel, frameOffence, isEndOfStream } from '../channel/index.ts'
import { GOSSIP_CHANNEL_IDLE_TIMEOUT, MAX_CANDIDATE_PINGS, MAX_MEMBERSHIP_BULK_SENDERS, MEMBERSHIP_BULK_UPDATES_BURST, MEMBERSHIP_BULK_UPDATES_RATE, MEMBERSHIP_DIAL_TIMEOUT, MEMBERSHIP_MAX_FRAME, MEMBERSHIP_STREAMS_PER_CONNECTION, PENALTY_SLOW_READER, PROTOCOL_MEMBERSHIP } from '../constants.ts'
import { QuotaExceededError } from '../errors.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../protocol/index.ts'
import { TokenBucket } from '../quota/index.ts'
import { expected, isProgrammerError } from '../tasks/index.ts'
import { SWIM_REQUESTS, SwimCore, systemClock } from './core.ts'
import type { LiveMember, MembershipEvents, MembershipTraffic, SwimCoreInit, SwimReply, SwimRequestOptions } from './core.ts'
import type { MemberRecord } from './members.ts'
import type { InboundBudget, Penaliser } from '../channel/index.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { MembershipMessage } from '../protocol/index.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

export type { LiveMember, MembershipEvents, MembershipTraffic } from './core.ts'

/** SWIM, Lifeguard and gossip parameters (SwimCoreInit) plus the libp2p driver's own. */
export interface MembershipInit extends SwimCoreInit {
  /**
   * an outbound membership stream (channel) to a member unused this long is closed; the member's
   * side closes an inbound one after twice as long. @default GOSSIP_CHANNEL_IDLE_TIMEOUT (5 min)
   */
  channelIdleTimeout?: number
  /**
   * Most unsent reply bytes an inbound membership stream may hold before further replies wait,
   * and how long they may wait for a member that reads none before its stream is reset and it is
   * penalised (issue #19). @default unbounded
   */
  writeBuffer?: { maxBuffered: number, slowReaderTimeout: number }
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
    peerStore: {
      merge(peerId: PeerId, data: { multiaddrs: Multiaddr[] }): Promise<unknown>
      /** whether the peer store holds `peerId` (a candidate's entry is removed if it made it). @default a candidate's entry is kept */
      has?(peerId: PeerId): Promise<boolean>
      delete?(peerId: PeerId): Promise<void>
    }
    /** the open connections to `peer` (gossip prefers members with one). @default gossip picks at random */
    getConnections?(peer?: PeerId): Connection[]
  }
  events: TypedEventTarget<{ 'peer:disconnect': CustomEvent<PeerId> }>
  /**
   * Who may be a member (a closed network's roster). Requests from others are refused, and news
   * naming others is dropped, so a non-member never enters the view. @default everyone
   */
  admission?: { admits(peer: PeerId): boolean, readonly open?: boolean }
  /** where the bytes of frames still arriving count, per peer and in total (issue #19). @default none */
  inboundBudget?: InboundBudget
  /**
   * Where a peer that sends a malformed membership frame, or one over the size limit, is
   * penalised (its stream is reset either way); enough of them ban it (issue #19). @default none
   */
  standing?: Penaliser
  /** where probes, refutations and streams are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'probes' | 'probeDuration' | 'refutations' | 'streamsOpened'>
  /**
   * A connection budget (src/connections): `acquire(peer)` is called around every outbound
   * request and inbound answer, and the function it returns when that is done, so that the
   * connection is not pruned while in use. @default none
   */
  connections?: { acquire(peer: PeerId): () => void }
}

/** A retry's second dial waits this long for a closing connection to be gone. */
const RETRY_PAUSE = 20

/**
 * One outbound long-lived `/p2pstore/membership/1.0.0` stream to one member, carrying its probes,
 * indirect probes, gossip, push-pulls and leave. A channel unused for `channelIdleTimeout` ms
 * closes itself (its member was not probed for that long).
 */
type MemberChannel = RequestChannel<MembershipMessage, SwimReply>

/** Errors after which a request is not retried on a new channel: the member did not answer in time, or the caller gave up. */
const NO_RETRY = new Set(['TimeoutError', 'AbortError', 'InvalidMessageError'])

/** candidate peer store entries remembered for removal: far more than the candidate pings in flight */
const MAX_CANDIDATE_ENTRIES = 32 * MAX_CANDIDATE_PINGS

/**
 * SWIM membership with Lifeguard over libp2p: the logic is SwimCore's (core.ts), this driver is
 * its transport. Requests travel over one long-lived channel per member (a new stream per probe
 * cost more CPU than all else an idle peer did); inbound streams are read frame by frame and each
 * request is answered as soon as the core has handled it. A request whose channel failed because
 * its connection was closed or reset (pruned by a connection budget, not a timeout) is retried
 * once on a new channel within its deadline: every membership request is idempotent.
 */
export class Membership extends TypedEventEmitter<MembershipEvents> implements Startable {
  private readonly components: MembershipComponents
  private readonly channelIdleTimeout: number
  private readonly writeBuffer?: { maxBuffered: number, slowReaderTimeout: number }
  private readonly log: Logger
  private readonly core: SwimCore
  private running = false
  private shutdown = new AbortController()
  /**
   * Outbound channels by member. A request that times out leaves its channel open: a paused member
   * (SIGSTOP) still holds its connection, and the replies it sends once resumed are dropped by id.
   */
  private readonly channels = new ChannelPool<MemberChannel>(async (peer, options) => this.dial(peer, options))
  /** inbound membership streams being served */
  private readonly inbound = new Set<Stream>()
  /** per sender: the updates of push-pull requests it may still have decoded (bounded: MAX_MEMBERSHIP_BULK_SENDERS) */
  private readonly bulk = new Map<string, TokenBucket>()
  /** candidates pinged whose peer store entry this peer made, to remove if they do not answer (bounded: MAX_CANDIDATE_ENTRIES) */
  private readonly candidateEntries = new Set<string>()
  /** push-pull requests refused over their sender's budget since start */
  private bulkRefused = 0
  /** updates skipped unparsed since start: news of newcomers from a sender that is not believed about them */
  private unparsed = 0
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    // a closed connection is a strong hint (a crashed peer resets its sockets): probe it now
    if (this.running) this.core.hint(evt.detail)
  }

  constructor (components: MembershipComponents, init: MembershipInit = {}) {
    super()
    this.components = components
    const { channelIdleTimeout, writeBuffer, ...core } = init
    this.channelIdleTimeout = channelIdleTimeout ?? GOSSIP_CHANNEL_IDLE_TIMEOUT
    this.writeBuffer = writeBuffer
    this.log = components.logger.forComponent('p2pstore:membership:swim')
    const network = components.network
    this.core = new SwimCore({
      logger: components.logger,
      peerId: components.peerId,
      clock: systemClock,
      random: Math.random,
      transport: { request: async (peer, message, options) => this.request(peer, message, options) },
      addresses: () => network.getMultiaddrs().map(a => a.decapsulateCode(421)),
      learnedAddresses: (peer, addrs) => {
        void network.peerStore.merge(peer, { multiaddrs: addrs }).catch(err => { this.log.trace('could not store addresses of %p - %e', peer, err) })
      },
      candidateAddresses: (peer, addrs) => {
        void (async () => {
          // an entry this peer makes for a candidate is removed if the candidate does not answer
          if (network.peerStore.has != null && network.peerStore.delete != null && this.candidateEntries.size < MAX_CANDIDATE_ENTRIES && !(await network.peerStore.has(peer))) this.candidateEntries.add(peer.toString())
          await network.peerStore.merge(peer, { multiaddrs: addrs })
        })().catch(err => { this.log.trace('could not store addresses of %p - %e', peer, err) })
      },
      candidateSettled: (peer, answered) => {
        if (!this.candidateEntries.delete(peer.toString()) || answered || (network.getConnections?.(peer).length ?? 0) > 0) return
        void network.peerStore.delete?.(peer).catch(err => { this.log.trace('could not forget addresses of %p - %e', peer, err) })
      },
      isConnected: network.getConnections == null ? undefined : peer => (network.getConnections?.(peer).length ?? 0) > 0,
      connectedPeers: network.getConnections == null ? undefined : () => (network.getConnections?.() ?? []).map(c => c.remotePeer),
      admission: components.admission,
      metrics: components.metrics,
      candidatesNeedAddresses: true,
      // claims are checked where strangers may send them: on an open network (or with no admission)
      checkClaims: components.admission?.open !== false
    }, core)
    this.core.addEventListener('member:update', evt => {
      const { record } = evt.detail
      // nothing more is sent to a member that died or left until it is back
      if (record.state === 'dead' || record.state === 'left') this.channels.drop(record.peerId, new Error('member is no longer alive'))
      this.safeDispatchEvent('member:update', { detail: evt.detail })
    })
  }

  /** Starts serving the protocol and the probe, push-pull and gossip rounds. */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    await this.components.network.handle(PROTOCOL_MEMBERSHIP, (stream, connection) => {
      void this.serve(stream, connection.remotePeer)
    }, { maxInboundStreams: MEMBERSHIP_STREAMS_PER_CONNECTION, maxOutboundStreams: MEMBERSHIP_STREAMS_PER_CONNECTION })
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.core.start()
  }

  /**
   * Stops. With `leave` (the default) it first tells a few members that it is leaving, so the
   * others see `left` at once instead of suspecting it.
   */
  async stop (options: { leave?: boolean } = {}): Promise<void> {
    if (!this.running) return
    await this.core.stop(options)
    this.running = false
    this.shutdown.abort()
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.components.network.unhandle(PROTOCOL_MEMBERSHIP)
    const closing = new Error('peer is stopping')
    this.channels.closeAll(closing)
    for (const stream of this.inbound) stream.abort(closing)
    this.inbound.clear()
    this.bulk.clear()
  }

  /**
   * Joins by full-state sync with each of `peers` (bootstrap peers); resolves with how many
   * answered. The peers are remembered: while this peer knows no live member each push-pull
   * round syncs with one of them instead (see SwimCore.join).
   */
  async join (peers: PeerId[], options: AbortOptions = {}): Promise<number> {
    return this.core.join(peers, options)
  }

  /**
   * Marks `peers` as `left` for good (removed from the roster): placement stops naming them at once,
   * and since news about non-members is dropped, nothing brings them back.
   */
  evict (peers: PeerId[]): void {
    this.core.evict(peers)
  }

  /** This peer plus every member that is alive or suspect: the view placement uses. */
  list (): LiveMember[] {
    return this.core.list()
  }

  /**
   * A number that changes whenever a member's state, capacity or zone may have changed: placement
   * rebuilds its table only then.
   */
  get version (): number {
    return this.core.version
  }

  /**
   * This peer plus every member that has not left — dead ones included. Tombstone GC ranks these:
   * a dead member may come back with an old value, so it must have confirmed the delete too.
   */
  notLeft (): LiveMember[] {
    return this.core.notLeft()
  }

  /** how many members are alive or suspect, this peer included */
  get size (): number {
    return this.core.size
  }

  /**
   * Membership messages (probes, acks, indirect probes, gossip, push-pull, leave) this peer sent
   * and received since it was created, and their payload bytes (protobuf, without the length
   * prefix, Noise and Yamux framing). For the benchmark's traffic per peer per second.
   */
  traffic (): MembershipTraffic {
    return this.core.traffic()
  }

  /** Bytes sent by membership message type (see SwimCore.trafficByType). */
  trafficByType (): ReturnType<SwimCore['trafficByType']> {
    return this.core.trafficByType()
  }

  /** Every other member this peer knows of, in any state. */
  members (): MemberRecord[] {
    return this.core.members()
  }

  /**
   * What the defences against forged news hold and did (issue #19): members heard of from others
   * still waiting for a ping (`candidates`), dead or left claims being checked (`checking`),
   * updates dropped as implausible since start (`dropped`), push-pull requests refused over their
   * sender's budget (`bulkRefused`) and updates skipped unparsed (`unparsed`) since start.
   */
  defences (): { candidates: number, checking: number, dropped: number, bulkRefused: number, unparsed: number } {
    return { candidates: this.core.candidateCount, checking: this.core.claimChecks, dropped: this.core.droppedUpdates, bulkRefused: this.bulkRefused, unparsed: this.unparsed }
  }

  /**
   * Charges `from` for a push-pull request of `updates` updates before any is parsed; over its
   * budget (MEMBERSHIP_BULK_UPDATES_RATE a second) it raises QuotaExceededError, which resets the
   * stream unpenalised: an honest member's push-pull is retried next round (issue #19).
   */
  private admitBulk (from: PeerId, type: MembershipMessage['type'], updates: number): void {
    if (updates <= 1 || !type.startsWith('sync')) return
    const id = from.toString()
    let bucket = this.bulk.get(id)
    if (bucket == null) {
      if (this.bulk.size >= MAX_MEMBERSHIP_BULK_SENDERS) {
        for (const [k, b] of this.bulk) if (b.full) this.bulk.delete(k)
        const oldest = this.bulk.keys().next()
        if (this.bulk.size >= MAX_MEMBERSHIP_BULK_SENDERS && oldest.done !== true) this.bulk.delete(oldest.value)
      }
      bucket = new TokenBucket({ rate: MEMBERSHIP_BULK_UPDATES_RATE, burst: MEMBERSHIP_BULK_UPDATES_BURST })
      this.bulk.set(id, bucket)
    }
    if (bucket.take(updates) > 0) {
      this.bulkRefused++
      throw new QuotaExceededError(`${type} of ${updates} updates from ${id} refused: over its push-pull budget of ${MEMBERSHIP_BULK_UPDATES_RATE} updates a second`)
    }
  }

  /** our own incarnation number */
  get incarnation (): number {
    return this.core.incarnation
  }

  /** Lifeguard's local health multiplier (0 = healthy) */
  get localHealth (): number {
    return this.core.localHealth
  }

  /**
   * The core's transport: one request and its reply over the channel to `peer` (opened, or
   * reopened after a failure, on demand), within `timeout` from when the channel is open; the dial
   * of a new channel has MEMBERSHIP_DIAL_TIMEOUT (or `timeout`, if longer) of its own. A channel that failed mid-request for any reason but a timeout, an
   * abort or a malformed reply (its connection was closed or reset) is reopened once within the
   * time left.
   */
  private async request (peer: PeerId, message: MembershipMessage, options: SwimRequestOptions): Promise<SwimReply> {
    let begin = Date.now()
    const release = this.components.connections?.acquire(peer)
    try {
      for (let attempt = 0; ; attempt++) {
        let channel = this.channels.get(peer)
        if (channel == null) {
          // under a connection budget most members are not connected: the dial (TCP, Noise,
          // Yamux) gets a deadline of its own, and the exchange's timeout starts once the channel
          // is open — a dial slower than a probe timeout is not a missed ack
          const dialing = { ...options, timeout: Math.max(options.timeout, MEMBERSHIP_DIAL_TIMEOUT) }
          channel = await this.reopen(peer, begin, dialing, attempt > 0)
          if (attempt === 0) begin = Date.now()
        }
        try {
          return await channel.request(message, { signal: options.signal, timeout: Math.max(1, options.timeout - (Date.now() - begin)), onSent: options.onSent })
        } catch (err) {
          if (isProgrammerError(err)) throw err
          const e = err as Error
          const remaining = options.timeout - (Date.now() - begin)
          if (attempt > 0 || NO_RETRY.has(e.name) || options.signal.aborted || !channel.closed || remaining <= 1 || !this.running) throw err
          this.log('membership channel to %p failed mid-request (%s): retrying on a new one within %d ms', peer, e.message, remaining)
          this.channels.drop(peer, e)
        }
      }
    } finally {
      release?.()
    }
  }

  /**
   * Opens a channel within what is left of the request's deadline. On a retry the first dial may
   * still meet the connection that is closing (libp2p hands it out until it is gone): such a
   * failure is tried once more, after a moment, within the deadline.
   */
  private async reopen (peer: PeerId, begin: number, options: SwimRequestOptions, retry: boolean): Promise<MemberChannel> {
    const left = (): number => Math.max(1, options.timeout - (Date.now() - begin))
    try {
      return await this.channels.open(peer, { timeout: left(), signals: [options.signal] })
    } catch (err) {
      if (!retry || isProgrammerError(err) || NO_RETRY.has((err as Error).name) || options.signal.aborted || left() <= RETRY_PAUSE) throw err
      this.log('reopening the membership channel to %p failed (%s): once more', peer, (err as Error).message)
      await sleep(RETRY_PAUSE, undefined, { signal: options.signal })
      return this.channels.open(peer, { timeout: left(), signals: [options.signal] })
    }
  }

  /** A new channel over a new stream to `peer`. */
  private async dial (peer: PeerId, options: AbortOptions): Promise<MemberChannel> {
    const stream = await this.components.network.dialProtocol(peer, PROTOCOL_MEMBERSHIP, options)
    this.components.metrics?.streamsOpened.inc({ protocol: 'membership', direction: 'outbound' })
    const channel = new RequestChannel<MembershipMessage, SwimReply>(peer, stream, {
      name: 'membership',
      encode: (id, message) => encodeMembershipMessage({ ...message, id }),
      decode: frame => {
        const reply = decodeMembershipMessage(frame)
        return { id: reply.id ?? 0, response: { reply, bytes: frame.byteLength } }
      },
      describe: message => `a membership ${message.type}`,
      maxFrame: MEMBERSHIP_MAX_FRAME,
      idleTimeout: this.channelIdleTimeout,
      log: this.log.trace,
      // the wire's uint32; 0 means "one exchange per stream" (version 0.1.0, or a tool): such a
      // peer's reply answers the oldest request in flight, and the stream then ends
      maxId: 2 ** 32 - 1,
      zeroIsOldest: true,
      rejectUnknownIds: false,
      budget: this.components.inboundBudget,
      standing: this.components.standing
    })
    // a channel opened after stop() began would outlive it
    if (!this.running) channel.close(new Error('peer is stopping'))
    return channel
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
      maxFrame: MEMBERSHIP_MAX_FRAME,
      idleTimeout,
      idleError: () => new TimeoutError(`no membership request from ${from} for ${idleTimeout} ms`),
      shutdown: this.shutdown.signal,
      budget: this.components.inboundBudget == null ? undefined : { budget: this.components.inboundBudget, peer: from },
      writeGuard: this.writeBuffer == null
        ? undefined
        : {
            ...this.writeBuffer,
            onSlowReader: err => {
              this.log('reset membership stream from %p - %e', from, err)
              this.components.standing?.penalise(from, 'slow-reader', PENALTY_SLOW_READER)
            }
          }
    })
    // a refusal by the roster is not the member's misbehaviour: it is not penalised
    let refused = false
    const sender = from.toString()
    try {
      for (;;) {
        const frame = await reader.read()
        const message = decodeMembershipMessage(frame, undefined, {
          admit: (type, updates) => { this.admitBulk(from, type, updates) },
          // news of newcomers from a sender whose newcomers answered no ping is dropped anyway:
          // it is not even parsed (a forged flood's cost is parsing ids and addresses)
          keep: this.core.ignoresNewcomersFrom(sender) ? id => id === sender || this.core.knows(id) : undefined
        })
        this.unparsed += message.skipped ?? 0
        // the roster may have dropped the member since the stream opened
        if (this.components.admission?.admits(from) === false) {
          refused = true
          throw new InvalidMessageError('not a member of this network')
        }
        if (!SWIM_REQUESTS.has(message.type)) throw new InvalidMessageError(`unexpected ${message.type} as a request`)
        void this.answer(reader, message, from, frame.byteLength)
      }
    } catch (err) {
      const e = err as Error
      if (isEndOfStream(stream, e) || this.shutdown.signal.aborted) {
        await stream.close().catch(expected(this.log.trace, 'closing a membership stream'))
      } else {
        if (e.name === 'InvalidMessageError') this.log.error('bad membership message from %p - %e', from, e)
        else this.log.trace('membership stream from %p failed - %e', from, e)
        const offence = refused ? undefined : frameOffence(e)
        if (offence != null) this.components.standing?.penalise(from, offence.reason, offence.points)
        stream.abort(e)
      }
    } finally {
      reader.close()
      this.inbound.delete(stream)
    }
  }

  /** Has the core handle one request and writes its reply, with the request's id. */
  private async answer (out: FrameReader, message: MembershipMessage, from: PeerId, bytes: number): Promise<void> {
    const release = this.components.connections?.acquire(from)
    try {
      const reply = await this.core.handle(from, message, bytes)
      const frame = encodeMembershipMessage({ ...reply, id: message.id })
      this.core.count('sent', frame.byteLength, reply.type)
      // no deadline of its own (a timeout signal per reply fires, and allocates, long after):
      // a write stuck behind a paused member's full window ends with its stream, which the
      // write guard resets after slowReaderTimeout
      await out.write(frame)
    } catch (err) {
      if (isProgrammerError(err)) throw err
      if (!this.shutdown.signal.aborted) this.log.trace('could not answer %p - %e', from, err)
    } finally {
      release?.()
    }
  }
}
