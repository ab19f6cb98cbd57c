/**
 * A p2pstore peer: one libp2p node (TCP, Noise, Yamux, identify, ping, kad-dht under p2pstore's own
 * protocol id, optional pnet) plus the parts of p2pstore built on it. `Peer` builds the parts in
 * dependency order, starts them in that order and stops them in reverse.
 *
 * @packageDocumentation
 */

import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import { InboundBudget, OutboundBudget } from './channel/index.ts'
import { contextSize, liveSiblings } from './clock/index.ts'
import { parseMultiaddr, resolvePeerConfig } from './config.ts'
import { AddressCaps, ConnectionBudget } from './connections/index.ts'
import { CONNECTION_PING_INTERVAL, DEFAULT_N, JOIN_LOOKUP_TIMEOUT, KV_READ_TIMEOUT, MAX_KV_MESSAGE_BYTES, PROTOCOL_KAD, REJOIN_CHECK_INTERVAL, REPLICA_REQUEST_TIMEOUT, VERSION } from './constants.ts'
import { DataDir } from './datadir/index.ts'
import { AddressInUseError, NoRosterError } from './errors.ts'
import { PartitionGate } from './faults/index.ts'
import { Health } from './health/index.ts'
import { Joiner } from './join/index.ts'
import { Membership } from './membership/index.ts'
import { PeerMetrics } from './metrics/index.ts'
import { deferredWindowYamux, framedNoise } from './protocol/index.ts'
import { AntiEntropy, Coordinator, Handoff, HintQuota, KvRpc, Locator, replicaHandlers, Scanner } from './replication/index.ts'
import { Admission, RosterGossip, loadCredentials, saveRoster, verifyRoster } from './roster/index.ts'
import { Placement } from './routing/index.ts'
import { Standing } from './standing/index.ts'
import { LevelEngine, MemoryEngine } from './storage/index.ts'
import { expected } from './tasks/index.ts'
import type { WriteGuardInit } from './channel/index.ts'
import type { CausalContext, Sibling, SiblingSet } from './clock/index.ts'
import type { PeerConfig, PeerInit } from './config.ts'
import type { BlockDirection, BlockedPeer } from './faults/index.ts'
import type { JoinEvents } from './join/index.ts'
import type { MemberState, MembershipEvents } from './membership/index.ts'
import type { DeleteOptions, KeyLocation, LocateOptions, PageOptions, ReadOptions, ScanOptions, ScanPage, ScannedKey, WriteOptions, WriteResult } from './replication/index.ts'
import type { AdmissionEvents, Roster } from './roster/index.ts'
import type { StandingEvents } from './standing/index.ts'
import type { Engine } from './storage/index.ts'
import type { Identify } from '@libp2p/identify'
import type { AbortOptions, ComponentLogger, ConnectionGater, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The libp2p services every p2pstore peer runs. */
export type PeerServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
}

/** Events of a peer (subscribe with `peer.addEventListener`). */
export interface PeerEvents extends JoinEvents, MembershipEvents, AdmissionEvents, StandingEvents {}

/** What `/v1/status` and `p2pstore status` report. */
export interface PeerStatus {
  peerId: string
  version: string
  multiaddrs: string[]
  uptimeSeconds: number
  /** open libp2p connections */
  connections: number
  /** members this peer knows of (see `peers()`) by state, and how many it is connected to */
  peers: { known: number, connected: number, alive: number, suspect: number, dead: number, left: number }
  /** this peer's SWIM incarnation number */
  incarnation: number
  /** Lifeguard local health multiplier: 0 is healthy; higher means this peer itself is slow */
  localHealth: number
  /** keys this peer holds in its own store */
  keys: number
  /** hinted copies held for home replicas that could not take a write, as of the last handoff pass */
  pendingHints: number
  /** when the last handoff pass ended (ISO time), if one ran */
  lastHandoff?: string
  /** the last anti-entropy round: with whom, when, what it exchanged */
  lastAntiEntropy?: { peer: string, at: string, keys: number, differing: number, pushed: number, pulled: number, ms: number }
  /** whether the peer has joined a network (a bootstrap peer answered, or others found it) */
  joined: boolean
  /** how many bootstrap peers it was configured with (0: it waits for others to join through it) */
  bootstrapPeers: number
  /** `private` when a swarm key restricts the network */
  network: 'public' | 'private'
  /** the data dir, when the peer has one */
  dataDir?: string
  /** who may belong: `open` (anyone), or a closed network's id, roster sequence and member count */
  admission?: { mode: 'open' | 'roster', network?: string, sequence?: string, members?: number }
  /**
   * this peer's place in the key space: its capacity weight and zone, and its exact expected share
   * (the fraction of all keys it is a home replica of, in its current view; N / members when balanced)
   */
  placement?: { capacity: number, zone?: string, share: number, n: number }
  /** peers banned now (penalties, issue #19): why, the score that banned them, and until when (ISO time) */
  bans?: Array<{ peerId: string, reason: string, score: number, until: string }>
}

/** One entry of `/v1/ring` and `p2pstore ring`: a member's place in the key space. */
export interface RingMember {
  peerId: string
  state: MemberState
  /** capacity weight (1 unless the member set another) */
  capacity: number
  zone?: string
  /** exact expected share: the fraction of all keys it is a home replica of (0 outside the live view) */
  share: number
  /** keys it holds: this peer's own count, others' as they last announced it (undefined: not yet heard) */
  keys?: number
  /** this peer itself */
  self: boolean
}

/** One entry of `/v1/peers` and `p2pstore peers`: a member as this peer sees it. */
export interface KnownPeer {
  peerId: string
  multiaddrs: string[]
  connected: boolean
  /** protocols the peer announced through identify (empty until it was connected once) */
  protocols: string[]
  /** SWIM state: alive, suspect, dead, or left (a graceful leave) */
  state: MemberState
  /** the member's incarnation number (a restarted or refuting member has a higher one) */
  incarnation: number
  /** when this peer last heard from the member itself (ISO time), if ever */
  lastHeard?: string
  /** who reported it suspect at its current incarnation */
  suspectedBy: string[]
}

/** What `peer.get()` answers. */
export interface GetResult {
  /**
   * The values: none (not found or deleted), one, or several concurrent siblings. A delete that is
   * concurrent with live values (a blind tombstone) is among them as a sibling marked `deleted`,
   * as Riak reports it: the read shows the conflict between the value and the delete rather than
   * hiding the delete (which `resolve lww` would then honour), so that every read policy agrees on
   * whether the key was deleted. Resolve it with a put or delete carrying `context`.
   */
  siblings: Sibling[]
  /** every concurrent version, tombstones included (for read-time policies such as LWW) */
  versions: Sibling[]
  /** what this read saw: pass it to the next put or delete of the key to supersede these siblings */
  context: CausalContext
  /** how many replicas answered */
  replies: number
  /** the replicas asked: N, or fewer when the network has fewer live peers (a degraded read) */
  replicas: number
  /** the replicas the key should have (the request's N) */
  n: number
}

/** A key as bytes or as a string (UTF-8). */
export type Key = Uint8Array | string

/** A running (or stopped) p2pstore peer. Create with `createPeer()`. */
export class Peer extends TypedEventEmitter<PeerEvents> {
  /** this peer's identity */
  readonly peerId: PeerId
  /** the libp2p node, for embedding applications that need lower-level access */
  readonly libp2p: Libp2p<PeerServices>
  /** the resolved configuration */
  readonly config: PeerConfig
  /** the local store */
  readonly engine: Engine
  /** the key space view: home replicas of a key */
  readonly placement: Placement
  private readonly joiner: Joiner
  /** the SWIM membership view */
  readonly membership: Membership
  private readonly rpc: KvRpc
  /** the connection budget: at most `maxConnections` open, the XOR neighbourhood kept (issue #16) */
  readonly connections: ConnectionBudget
  private readonly coordinator: Coordinator
  private readonly handoff: Handoff
  /** Merkle anti-entropy: rounds and the sweeps after membership changes (`stats`) */
  readonly antiEntropy: AntiEntropy
  private readonly locator: Locator
  /** listings and exports of the whole network's keys (a scatter to every live member) */
  private readonly scanner: Scanner
  /** replication safety and the health verdict (issue #18) */
  readonly health: Health
  private readonly gate: PartitionGate
  /** who belongs: the roster in force, and the checks built on it */
  readonly admission: Admission
  /** the bytes of kv and membership frames still arriving, per peer and in total (issue #19) */
  readonly inboundBudget: InboundBudget
  /** the unsent bytes of kv and membership streams, per peer and in total (issue #19) */
  readonly outboundBudget: OutboundBudget
  /** the hinted copies each peer may make this one hold (issue #19), for status and tests */
  readonly hintQuota: HintQuota
  /** every peer's penalty points and the bans in force (issue #19) */
  readonly standing: Standing
  /** the per-IP and per-range caps on inbound connections (issue #19) */
  readonly addressCaps: AddressCaps
  private readonly rosterGossip: RosterGossip
  /** this peer's Prometheus registry and metric families (`/metrics`), libp2p's own included */
  readonly metrics: PeerMetrics
  private readonly log: Logger
  private startedAt = 0
  /** a membership sync with a bootstrap peer succeeded: the member view is no longer partial */
  private membershipSynced = false
  private starting?: Promise<void>
  private stopping?: Promise<void>
  private running = false

  /**
   * Use `createPeer()`; the constructor only wires already built parts. `gate` must be the one whose
   * gater `libp2p` was created with, and so must `admission` and `wire`'s standing and caps.
   */
  constructor (libp2p: Libp2p<PeerServices>, config: PeerConfig, gate: PartitionGate, admission: Admission, metrics: PeerMetrics, wire: { standing: Standing, caps: AddressCaps }) {
    super()
    this.metrics = metrics
    this.addressCaps = wire.caps
    this.standing = wire.standing
    this.standing.addEventListener('peer:banned', ({ detail }) => { this.safeDispatchEvent('peer:banned', { detail }) })
    this.standing.addEventListener('peer:unbanned', ({ detail }) => { this.safeDispatchEvent('peer:unbanned', { detail }) })
    this.libp2p = libp2p
    this.gate = gate
    this.admission = admission
    this.peerId = libp2p.peerId
    this.config = config
    const logger = config.logger ?? defaultLogger()
    this.log = logger.forComponent('p2pstore:peer')
    // every part reads and writes through the timed view: storage latency is one histogram
    this.engine = this.metrics.timedStorage(config.engine ?? (config.dataDir == null
      ? new MemoryEngine()
      : new LevelEngine({ logger }, { path: path.join(config.dataDir, 'storage'), sync: config.sync, syncReads: config.syncReads, encryption: config.encryption })))
    // placement exists by the time the budget first trims (start())
    this.connections = new ConnectionBudget({
      logger,
      peerId: libp2p.peerId,
      connectionManager: libp2p,
      peerStore: libp2p.peerStore,
      events: libp2p,
      placement: { table: () => this.placement.table() },
      metrics: this.metrics
    }, { maxConnections: config.maxConnections, n: config.n })
    // the bytes of frames still arriving, per peer and in total: one budget for kv and membership
    const inboundBudget = this.inboundBudget = new InboundBudget({ total: config.frameMemoryTotal, perPeer: config.frameMemoryPerPeer })
    // and the bytes written but unsent: one budget for every write-guarded stream
    const outbound = this.outboundBudget = new OutboundBudget({ total: config.writeMemoryTotal, perPeer: config.writeMemoryPerPeer })
    // not a literal: membership's option type names only the first two fields, and passes the
    // object on whole to its write guards
    const writeBuffer: WriteGuardInit = { maxBuffered: config.streamWriteBuffer, slowReaderTimeout: config.slowReaderTimeout, outbound }
    this.membership = new Membership({ logger, peerId: libp2p.peerId, network: libp2p, events: libp2p, admission, metrics: this.metrics, connections: this.connections, inboundBudget, standing: this.standing }, {
      ...config.gossip,
      writeBuffer,
      capacity: config.capacity,
      zone: config.zone,
      // read when this peer announces itself (after start: anti-entropy exists by then)
      keyCount: () => this.antiEntropy?.keys ?? 0,
      // read when this peer announces itself (after start: health exists by then)
      viewDigest: () => this.health?.viewDigest()
    })
    this.rosterGossip = new RosterGossip({ logger, admission, network: libp2p, events: libp2p })
    // a removed member is never a replica again: out of the view now, its news dropped from now on
    admission.addEventListener('roster:update', ({ detail }) => {
      this.membership.evict(detail.removed.map(id => peerIdFromString(id)))
      if (config.dataDir != null) void saveRoster(new DataDir(config.dataDir), detail.roster).catch(err => { this.log.error('could not save the new roster - %e', err) })
      this.safeDispatchEvent('roster:update', { detail })
    })
    // the view is complete unless bootstrap peers are configured and membership has not synced
    // with one yet: the first peer of a network (no bootstrap) decides from its view at once
    this.placement = new Placement({
      peerId: libp2p.peerId,
      members: this.membership,
      dht: libp2p.services.dht,
      viewPartial: () => config.bootstrap.length > 0 && !this.membershipSynced,
      // members kad-dht found near a key hand over their view, and the view then names the list
      syncView: async (peers, options) => {
        if (await this.membership.join(peers, options) > 0) this.membershipSynced = true
      }
    })
    // SWIM join: a full-state exchange with the bootstrap peers that answered, without waiting for
    // the Kademlia self-lookup (at 50 peers starting at once it took 10–40 s on this machine)
    this.addEventListener('join:connected', ({ detail }) => {
      const via = detail.via.map(id => peerIdFromString(id))
      // a bootstrap list naming only this peer itself has nobody to sync with: the view is complete
      if (via.every(id => id.equals(libp2p.peerId))) this.membershipSynced = true
      void this.membership.join(via)
        .then(n => {
          if (n > 0) this.membershipSynced = true
          this.log('membership synced with %d of %d bootstrap peers', n, detail.via.length)
        })
    })
    this.membership.addEventListener('member:update', evt => {
      this.metrics.memberTransitions.inc({ from: evt.detail.previous ?? 'none', to: evt.detail.record.state })
      this.safeDispatchEvent('member:update', { detail: evt.detail })
    })
    // the hinted copies each peer may make this one hold (issue #19)
    this.hintQuota = new HintQuota({ logger, engine: this.engine, metrics: this.metrics }, { perPeer: config.hintedBytesPerPeer, total: config.hintedBytesTotal })
    this.rpc = new KvRpc({ logger, network: libp2p, admission, metrics: this.metrics, connections: this.connections, inboundBudget, standing: this.standing }, {
      // the dispatch map; requests only arrive after start(), when the parts below exist
      handlers: replicaHandlers({
        logger,
        engine: this.engine,
        metrics: this.metrics,
        hintQuota: this.hintQuota,
        coordinator: { coordinateForwarded: async (key, put, options) => this.coordinator.coordinateForwarded(key, put, options) },
        antiEntropy: {
          leavesFor: async (peer, options) => this.antiEntropy.leavesFor(peer, options),
          digestsFor: async (peer, buckets, options) => this.antiEntropy.digestsFor(peer, buckets, options)
        }
      }),
      maxMessageBytes: MAX_KV_MESSAGE_BYTES,
      writeBuffer,
      requestTimeout: REPLICA_REQUEST_TIMEOUT,
      idleTimeout: KV_READ_TIMEOUT * 12,
      // what one peer may make this one do (issue #19)
      quotas: {
        peerRequestRate: config.kvPeerRequestRate,
        peerRequestBurst: config.kvPeerRequestBurst,
        peerByteRate: config.kvPeerByteRate,
        peerByteBurst: config.kvPeerByteBurst,
        peerMaxInFlight: config.kvPeerMaxInFlight,
        globalRequestRate: config.kvGlobalRequestRate
      }
    })
    this.coordinator = new Coordinator({ logger, peerId: libp2p.peerId, engine: this.engine, rpc: this.rpc, placement: this.placement, metrics: this.metrics }, {
      n: config.n, r: config.r, w: config.w
    })
    this.handoff = new Handoff({ logger, peerId: libp2p.peerId, engine: this.engine, rpc: this.rpc, placement: this.placement, members: this.membership, metrics: this.metrics }, {
      n: config.n, interval: config.handoffInterval, tombstoneGrace: config.tombstoneGrace
    })
    this.antiEntropy = new AntiEntropy({ logger, peerId: libp2p.peerId, engine: this.engine, rpc: this.rpc, placement: this.placement, members: this.membership, metrics: this.metrics }, {
      n: config.n,
      interval: config.antiEntropyInterval,
      onRound: (round, complete) => { this.health.roundDone(round.peer, round.at - round.ms, complete) }
    })
    this.health = new Health({ logger, peerId: libp2p.peerId, engine: this.engine, placement: this.placement, membership: this.membership }, {
      n: config.n, r: config.r, w: config.w, serving: () => this.running
    })
    // the four p2pstore_keys_* gauges and the two safety histograms of /metrics read health
    this.metrics.setSafetySource(this.health)
    const safety = this.metrics.safetyObserver
    this.health.addEventListener('health:rereplication', evt => { safety.rereplicationLag(evt.detail.seconds) })
    this.health.addEventListener('health:detection', evt => { safety.failureDetection(evt.detail.seconds) })
    this.locator = new Locator({ peerId: libp2p.peerId, engine: this.engine, rpc: this.rpc, placement: this.placement, members: this.membership }, { n: config.n })
    this.scanner = new Scanner({ logger, peerId: libp2p.peerId, engine: this.engine, rpc: this.rpc, members: this.membership }, { n: config.n })
    // what the metrics read when scraped
    this.metrics.bind({
      members: () => this.membership.members().map(m => ({ peerId: m.peerId.toString(), state: m.state })),
      localHealth: () => this.membership.localHealth,
      gossip: () => this.membership.traffic(),
      hints: () => this.handoff.hintStats(),
      transfers: () => this.handoff.transferStats(),
      antiEntropy: () => ({ rounds: this.antiEntropy.stats.rounds, lastSuccess: this.antiEntropy.stats.last?.at }),
      storageKeys: async () => this.running ? this.engine.count() : 0
    })
    // data follows membership: a member that joins, dies or comes back changes who owns what
    this.membership.addEventListener('member:update', () => {
      this.handoff.trigger()
      this.antiEntropy.sweep()
    })
    this.joiner = new Joiner({
      logger,
      peerId: libp2p.peerId,
      network: libp2p,
      dht: libp2p.services.dht,
      events: this
    }, {
      bootstrap: config.bootstrap,
      retryMin: config.bootstrapRetryMin,
      retryMax: config.bootstrapRetryMax,
      dialTimeout: config.dialTimeout,
      lookupTimeout: JOIN_LOOKUP_TIMEOUT,
      checkInterval: REJOIN_CHECK_INTERVAL
    })
  }

  /** true between a successful `start()` and `stop()` */
  get isStarted (): boolean {
    return this.running
  }

  /**
   * Starts listening and joining. Idempotent: a second call returns the same promise. A listen
   * address already taken raises `AddressInUseError`.
   */
  start (): Promise<void> {
    this.starting ??= (async () => {
      await this.engine.open()
      this.standing.start()
      try {
        // the hinted copies kept across a restart count before any peer can send more
        await this.hintQuota.start()
        // our protocol is registered before libp2p starts, so the first identify announces it
        await this.rpc.start()
        await this.rosterGossip.start()
        await this.libp2p.start()
        await this.membership.start()
        await this.connections.start()
      } catch (err) {
        // undo what started; the start's own error is the one the caller gets
        const undo = (what: string): ((e: unknown) => void) => expected(this.log, `${what} after a failed start`)
        await this.connections.stop().catch(undo('stopping the connection budget'))
        await this.membership.stop({ leave: false }).catch(undo('stopping membership'))
        await this.rosterGossip.stop().catch(undo('stopping roster gossip'))
        await this.rpc.stop().catch(undo('stopping the kv rpc'))
        this.hintQuota.stop()
        await Promise.resolve(this.libp2p.stop()).catch(undo('stopping libp2p'))
        await this.engine.close().catch(undo('closing the store'))
        this.starting = undefined
        if (/EADDRINUSE/.test(String((err as Error).message)) || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new AddressInUseError(`cannot listen on ${this.config.listen.join(', ')}: address already in use`, { cause: err })
        }
        throw err
      }
      this.joiner.start()
      this.handoff.start()
      this.antiEntropy.start()
      this.health.start()
      this.metrics.open()
      this.startedAt = Date.now()
      this.running = true
      this.stopping = undefined
      this.log('started %p on %s', this.peerId, this.libp2p.getMultiaddrs().map(ma => ma.toString()).join(', '))
    })()
    return this.starting
  }

  /**
   * Stops in reverse order of start and closes every connection. Idempotent, like `start()`. By
   * default it first tells a few members it is leaving (they gossip `left`); `{ leave: false }`
   * stops without a word, as a crash would look to the others.
   */
  stop (options: { leave?: boolean } = {}): Promise<void> {
    if (this.starting == null) return this.stopping ?? Promise.resolve()
    this.stopping ??= (async () => {
      // a failed start was reported to its caller
      await this.starting?.catch(expected(this.log.trace, 'the start before this stop'))
      await this.joiner.stop()
      await this.health.stop()
      await this.antiEntropy.stop()
      await this.handoff.stop()
      await this.connections.stop()
      await this.membership.stop({ leave: options.leave ?? true })
      await this.rosterGossip.stop()
      await this.rpc.stop()
      this.hintQuota.stop()
      await this.coordinator.settled()
      await this.libp2p.stop()
      this.standing.stop()
      await this.engine.close()
      this.metrics.close()
      this.running = false
      this.starting = undefined
      this.log('stopped %p', this.peerId)
    })()
    return this.stopping
  }

  /**
   * Stores `value` under `key` on the key's N home replicas and resolves after W durable copies.
   * Pass the `context` of a previous get to replace the siblings that read saw; without one the
   * write is blind and becomes a sibling of whatever is there.
   */
  async put (key: Key, value: Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    this.metrics.objectSize.labels('put').observe(value.byteLength)
    return this.metrics.request('put', async () => this.coordinator.put(toKey(key), value, options), result => this.written(result))
  }

  /**
   * Deletes `key`: a tombstone, ordered like a write by `options.context`. Without a context it
   * reads the key first (with `options.r`) and deletes what that read saw; `blind: true` skips the
   * read and writes a tombstone that supersedes nothing (see `DeleteOptions.blind`).
   */
  async delete (key: Key, options: DeleteOptions = {}): Promise<WriteResult> {
    return this.metrics.request('delete', async () => this.coordinator.delete(toKey(key), options), result => this.written(result))
  }

  /** Reads `key` from R of its N home replicas; read-repairs the others in the background. */
  async get (key: Key, options: ReadOptions = {}): Promise<GetResult> {
    return this.metrics.request('get', async () => {
      const { state, replies, replicas, n } = await this.coordinator.get(toKey(key), options)
      const live = liveSiblings(state)
      // every sibling is concurrent with every other: tombstones beside live values are conflicts
      const siblings = live.length === 0 ? live : state.siblings
      this.metrics.readSiblings.observe(state.siblings.length)
      this.metrics.clockEntries.observe(contextSize(state.context))
      this.metrics.objectSize.labels('get').observe(state.siblings.reduce((sum, s) => sum + s.value.byteLength, 0))
      return { siblings, versions: state.siblings, context: state.context, replies, replicas, n }
    }, result => result.siblings.length === 0 ? 'not_found' : result.siblings.length > 1 ? 'siblings' : 'ok')
  }

  /** A write's outcome for the metrics: its acks, and whether another peer coordinated it. */
  private written (result: WriteResult): 'ok' {
    this.metrics.writeAcks.observe(result.acks)
    if (result.coordinator !== this.peerId.toString()) this.metrics.forwarded.inc()
    return 'ok'
  }

  /**
   * Where `key` lives, as this peer sees it: its preference list with each peer's state, which
   * home replicas hold it (with their clocks and sibling counts), copies on fallbacks (hinted, or
   * awaiting handoff) and dead members that would be home replicas. Reads only; every replica is
   * asked under the replica RPC's deadline.
   */
  async locate (key: Key, options: LocateOptions = {}): Promise<KeyLocation> {
    return this.locator.locate(toKey(key), options)
  }

  /**
   * One page of the network's keys in bytewise order (under `prefix`, after the cursor `after`),
   * each once, with its state merged over every live member that answered; keys whose merge holds
   * only tombstones are left out. `next` is the cursor of the following page. See `Scanner`.
   */
  async list (options: PageOptions = {}): Promise<ScanPage> {
    return this.scanner.page(options)
  }

  /** Every key of the network from `after` on, as `list` merges them, streamed at the caller's pace. */
  scan (options: ScanOptions = {}): AsyncGenerator<ScannedKey> {
    return this.scanner.scan(options)
  }

  /** The roster in force (undefined on an open network, or before a joining peer received one). */
  get roster (): Roster | undefined {
    return this.admission.roster
  }

  /**
   * Adopts a newer signed roster of this network (from `p2pstore roster add`, a file, a tool):
   * persists it, disconnects and evicts the members it drops, and pushes it to every connected
   * member. Raises `InvalidRosterError` or `StaleRosterError`, changing nothing.
   */
  async updateRoster (bytes: Uint8Array): Promise<Roster> {
    return this.admission.offer(bytes)
  }

  /** Runs one anti-entropy round with `peer` now (tests, tools). */
  async runAntiEntropy (peer: PeerId, options: AbortOptions = {}): Promise<{ pushed: number, pulled: number, differing: number }> {
    return this.antiEntropy.round(peer, options)
  }

  /** Runs a handoff pass now and resolves with what it did (tests, tools). */
  async runHandoff (options: AbortOptions = {}): Promise<{ pendingHints: number, handedOff: number, collected: number, tombstones: number }> {
    return this.handoff.pass(options)
  }

  /** The sibling set this peer's own store holds for `key` (no network): for tests and tools. */
  async localState (key: Key, options: AbortOptions = {}): Promise<SiblingSet | undefined> {
    return (await this.engine.get(toKey(key), options))?.set
  }

  /**
   * Fault injection (test nets, the consistency checker): refuses connections with `peers` below
   * every p2pstore protocol and closes the open ones, so they really cannot reach each other until
   * `heal()`. `direction: 'inbound'` refuses only connections they open, `'outbound'` only those
   * this peer would open (a one-way partition as a stateful firewall makes one).
   */
  async partition (peers: PeerId[], options: { direction?: BlockDirection } = {}): Promise<void> {
    this.gate.block(peers, options.direction ?? 'both')
    await Promise.all(peers.map(async peer => { await this.libp2p.hangUp(peer).catch(expected(this.log, `hanging up on ${peer}`)) }))
  }

  /** Lifts the partition from `peers`, or every partition; returns how many blocks were lifted. */
  heal (peers?: PeerId[]): number {
    return this.gate.unblock(peers)
  }

  /** The peers this peer currently refuses connections with (see `partition()`). */
  partitions (): BlockedPeer[] {
    return this.gate.list()
  }

  /** Addresses others can dial this peer on, each ending in `/p2p/<peer id>`. */
  getMultiaddrs (): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  /** Every member this peer knows of, in any state, with what the peer store knows of it. */
  async peers (options: AbortOptions = {}): Promise<KnownPeer[]> {
    const out: KnownPeer[] = []
    // one peer-store read at a time: each takes a read lock whose queue listens on a shared
    // signal, and hundreds at once only add listeners, not speed
    for (const m of this.membership.members()) {
      const stored = await this.libp2p.peerStore.get(m.peerId, options).catch(() => undefined)
      out.push({
        peerId: m.peerId.toString(),
        multiaddrs: (stored?.addresses.map(a => a.multiaddr) ?? m.addrs).map(a => a.toString()),
        connected: this.libp2p.getConnections(m.peerId).length > 0,
        protocols: [...(stored?.protocols ?? [])].sort(),
        state: m.state,
        incarnation: m.incarnation,
        lastHeard: m.lastHeard > 0 ? new Date(m.lastHeard).toISOString() : undefined,
        suspectedBy: [...m.suspectedBy].sort()
      })
    }
    return out.sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  /**
   * Every member this peer knows (but those that left) with its zone, capacity, exact expected
   * share of the key space (N home replicas per key, zones spread) and the keys it holds.
   */
  async ring (options: AbortOptions = {}): Promise<RingMember[]> {
    const shares = this.placement.ownership(this.config.n ?? DEFAULT_N)
    const self = this.peerId.toString()
    const keys = this.running ? await this.engine.count(options) : 0
    const out: RingMember[] = [
      { peerId: self, state: 'alive', capacity: this.config.capacity, zone: this.config.zone, share: shares.get(self) ?? 0, keys, self: true },
      ...this.membership.members().filter(m => m.state !== 'left').map(m => ({
        peerId: m.peerId.toString(),
        state: m.state,
        capacity: m.capacity ?? 1,
        zone: m.zone,
        share: shares.get(m.peerId.toString()) ?? 0,
        keys: m.keys,
        self: false
      }))
    ]
    return out.sort((a, b) => (a.zone ?? '').localeCompare(b.zone ?? '') || a.peerId.localeCompare(b.peerId))
  }

  /** A snapshot of the peer's state for `/v1/status`. */
  async status (options: AbortOptions = {}): Promise<PeerStatus> {
    // counts come straight from the member table: no peer-store reads for a status line
    const members = this.membership.members()
    const count = (state: MemberState): number => members.filter(m => m.state === state).length
    return {
      peerId: this.peerId.toString(),
      version: VERSION,
      multiaddrs: this.getMultiaddrs().map(ma => ma.toString()),
      uptimeSeconds: this.running ? Math.round((Date.now() - this.startedAt) / 1000) : 0,
      connections: this.libp2p.getConnections().length,
      peers: { known: members.length, connected: members.filter(m => this.libp2p.getConnections(m.peerId).length > 0).length, alive: count('alive'), suspect: count('suspect'), dead: count('dead'), left: count('left') },
      incarnation: this.membership.incarnation,
      localHealth: this.membership.localHealth,
      keys: this.running ? await this.engine.count(options) : 0,
      pendingHints: this.handoff.stats.pendingHints,
      lastHandoff: this.handoff.stats.at > 0 ? new Date(this.handoff.stats.at).toISOString() : undefined,
      lastAntiEntropy: this.antiEntropy.stats.last == null ? undefined : { ...this.antiEntropy.stats.last, at: new Date(this.antiEntropy.stats.last.at).toISOString() },
      joined: this.joiner.joined,
      bootstrapPeers: this.config.bootstrap.length,
      network: this.config.swarmKey == null ? 'public' : 'private',
      dataDir: this.config.dataDir,
      admission: this.admission.open
        ? { mode: 'open' }
        : { mode: 'roster', network: this.admission.network, sequence: this.admission.roster?.sequence.toString(), members: this.admission.roster?.members.length },
      placement: {
        capacity: this.config.capacity,
        zone: this.config.zone,
        share: this.placement.ownership(this.config.n ?? DEFAULT_N).get(this.peerId.toString()) ?? 0,
        n: this.config.n ?? DEFAULT_N
      },
      bans: this.standing.bans().map(b => ({ peerId: b.peerId, reason: b.reason, score: b.score, until: new Date(b.until).toISOString() }))
    }
  }
}

function toKey (key: Key): Uint8Array {
  return typeof key === 'string' ? new TextEncoder().encode(key) : key
}

/**
 * Creates a peer — loading or creating its identity in `init.dataDir` — and starts it unless
 * `init.start` is false.
 *
 * @example
 * ```ts
 * const peer = await createPeer({ dataDir: './data', bootstrap: ['/ip4/192.0.2.1/tcp/4700/p2p/12D3KooW…'] })
 * console.log(peer.peerId.toString(), peer.getMultiaddrs())
 * await peer.stop()
 * ```
 */
export async function createPeer (init: PeerInit = {}): Promise<Peer> {
  const config = resolvePeerConfig(init)
  const privateKey = config.privateKey ??
    (config.dataDir != null ? (await new DataDir(config.dataDir).open()).privateKey : await generateKeyPair('Ed25519'))

  const gate = new PartitionGate()
  const admission = await resolveAdmission(config, config.logger ?? defaultLogger())
  // one registry per peer: libp2p's own metrics land beside p2pstore's
  const metrics = new PeerMetrics({ peerId: peerIdFromPrivateKey(privateKey).toString() })
  // the gater refuses banned peers: the standing exists before the node, and hangs up through it once it does
  const late: { node?: Libp2p<PeerServices> } = {}
  const standing = new Standing({ logger: config.logger ?? defaultLogger(), metrics, network: { hangUp: async peer => { await late.node?.hangUp(peer) } } }, {
    halfLife: config.penaltyHalfLife, banThreshold: config.banThreshold, banDuration: config.banDuration
  })
  const caps = new AddressCaps({
    perIp: config.maxConnectionsPerIp,
    perRange: config.maxConnectionsPerRange,
    allow: config.allow.map(a => parseMultiaddr(a, 'allow')),
    limitLoopback: config.limitLoopback
  })
  const libp2p = await createLibp2p<PeerServices>({
    start: false,
    metrics: () => metrics.libp2p,
    // partitions (fault injection), admission and bans: a connection any of them refuses is refused
    // and last, the per-IP and per-range caps: they count what the others let through
    connectionGater: anyGater(gate.gater(), admission.gater(), standing.gater(), caps.gater()),
    privateKey,
    logger: config.logger,
    addresses: { listen: config.listen, announce: config.announce },
    transports: [tcp()],
    // Noise with one socket write per message and no RangeError per chunk (protocol/noise.ts)
    connectionEncrypters: [framedNoise()],
    // Yamux with window updates at half a window, not after every frame (protocol/yamux.ts)
    streamMuxers: [deferredWindowYamux()],
    connectionProtector: config.swarmKey == null ? undefined : preSharedKey({ psk: config.swarmKey }),
    connectionManager: {
      // the budget trims idle connections below this cap; libp2p refuses inbound ones at it
      maxConnections: config.maxConnections,
      allow: config.allow,
      dialTimeout: config.dialTimeout,
      inboundConnectionThreshold: config.inboundConnectionRate,
      maxIncomingPendingConnections: config.maxPendingConnections,
      inboundUpgradeTimeout: config.inboundUpgradeTimeout
    },
    connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL_KAD,
        // peers on loopback and private networks are legitimate members of a p2pstore network
        peerInfoMapper: passthroughMapper,
        // every daemon serves the DHT; client mode would leave LAN-only networks without routing
        clientMode: false,
        querySelfInterval: config.dhtRefreshInterval,
        logPrefix: 'p2pstore:dht',
        datastorePrefix: '/p2pstore/dht',
        // libp2p's families are all `libp2p_*`; `p2pstore_*` are p2pstore's own
        metricsPrefix: 'libp2p_kad_dht'
      })
    }
  })

  late.node = libp2p
  const peer = new Peer(libp2p, config, gate, admission, metrics, { standing, caps })
  if (config.start) await peer.start()
  return peer
}

/**
 * Who may belong, from `config` and the data dir: `open`, else the newest valid roster of the
 * trusted network among `config.roster` and `<datadir>/roster`, else a network id alone (a joining
 * peer). A swarm key alone closes the network too (pnet), with everyone holding it admitted.
 * Nothing at all raises `NoRosterError`: a network is closed unless its operator says otherwise.
 */
async function resolveAdmission (config: PeerConfig, logger: ComponentLogger): Promise<Admission> {
  if (config.open) return new Admission({ logger }, { open: true })
  const stored = config.dataDir == null ? {} : await loadCredentials(new DataDir(config.dataDir))
  const network = config.network ?? stored.network
  const given = config.roster == null ? undefined : await verifyRoster(config.roster, { network })
  const roster = [given, stored.roster].filter((r): r is Roster => r != null && (network == null || r.network === network))
    .sort((a, b) => (a.sequence < b.sequence ? 1 : a.sequence > b.sequence ? -1 : 0))[0]
  if (roster == null && network == null) {
    if (config.swarmKey != null) return new Admission({ logger }, { open: true })
    throw new NoRosterError('this peer has no network credentials: no roster, no network id, no swarm key')
  }
  return new Admission({ logger }, { network: network ?? roster?.network, roster })
}

/** A gater that refuses whatever any of `gaters` refuses. */
function anyGater (...gaters: ConnectionGater[]): ConnectionGater {
  const out: Record<string, (...args: unknown[]) => Promise<boolean>> = {}
  for (const key of new Set(gaters.flatMap(g => Object.keys(g)))) {
    out[key] = async (...args: unknown[]): Promise<boolean> => {
      for (const gater of gaters) {
        const deny = gater[key as keyof ConnectionGater] as ((...a: unknown[]) => boolean | Promise<boolean>) | undefined
        if (deny != null && await deny(...args)) return true
      }
      return false
    }
  }
  return out as ConnectionGater
}
