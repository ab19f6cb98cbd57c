import { createHash } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { VERSION } from '../constants.ts'
import { Libp2pMetrics } from './libp2p.ts'
import type { IntervalHistogram } from 'node:perf_hooks'

/** Client operations, the `op` label. */
export type RequestOp = 'get' | 'put' | 'delete'

/**
 * How a client request ended, the `outcome` label: `ok`, `not_found`, `siblings` (a read with
 * concurrent values), `quorum_unavailable` (too few replicas could answer), `timeout` (they did
 * not answer in time), `bad_request`, `aborted` (the client went away), `error` (anything else).
 */
export type RequestOutcome = 'ok' | 'not_found' | 'siblings' | 'quorum_unavailable' | 'timeout' | 'bad_request' | 'aborted' | 'error'

/**
 * The replication-safety source (the health module): counts over the keys this peer is the first
 * live home replica of, so that a `sum()` over peers counts each key once. Read when scraped.
 */
export interface SafetySource {
  safety(): { underReplicated: number, writeUnavailable: number, readUnavailable: number, singleCopy: number } | Promise<{ underReplicated: number, writeUnavailable: number, readUnavailable: number, singleCopy: number }>
}

/**
 * Where the health module reports the two recoveries no anchor store exports: re-replication lag
 * (a peer declared dead → N copies restored of what it held) and failure-detection time (a peer's
 * last answer → it declared dead), in seconds.
 */
export interface SafetyObserver {
  rereplicationLag(seconds: number): void
  failureDetection(seconds: number): void
}

/** What a peer's parts report when scraped; each is optional (a part not built reports nothing). */
export interface MetricsSources {
  /** members by state, this peer excluded */
  members?: () => Array<{ peerId: string, state: string }>
  /** Lifeguard's local health multiplier */
  localHealth?: () => number
  /** membership messages and payload bytes, since start */
  gossip?: () => { messagesSent: number, messagesReceived: number, bytesSent: number, bytesReceived: number }
  /** hinted copies held, and when the oldest became one (ms since the epoch; undefined: none) */
  hints?: () => { pending: number, oldestSince?: number }
  /** ownership handoff: whether a pass runs now, and keys queued for the next pass */
  transfers?: () => { active: boolean, backlog: number }
  /** anti-entropy: rounds run and when the last one succeeded (ms since the epoch) */
  antiEntropy?: () => { rounds: number, lastSuccess?: number }
  /** keys in the local store */
  storageKeys?: () => Promise<number>
}

/** Options of `PeerMetrics`. */
export interface PeerMetricsInit {
  /** this peer's id (its view digest counts it). @default undefined */
  peerId?: string
}

/** Latency buckets of client requests and replica RPCs, in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Buckets of value sizes, in bytes: 64 B to 1 MiB. */
const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576]
/** Buckets of small counts (siblings, acks, clock entries). */
const COUNT_BUCKETS = [0, 1, 2, 3, 4, 5, 8, 16, 32, 64]
/** Buckets of slow recoveries (re-replication, failure detection), in seconds. */
const RECOVERY_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800]

/** The states of `p2pstore_members`: always all four, so that a state at 0 is a series too. */
const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left']

/**
 * One peer's Prometheus metrics: its own prom-client `Registry` (nothing global, so peers in one
 * process never share a series), the families of p2pstore's parts, libp2p's own metrics (pass
 * `libp2p` to `createLibp2p({ metrics })`), and collectors that read the parts' state when scraped.
 * Names follow Prometheus conventions: base units, `_total` counters, `_seconds` and `_bytes`
 * histograms, bounded labels; a key is never a label.
 */
export class PeerMetrics {
  /** this peer's registry: `/metrics` serves `registry.metrics()` */
  readonly registry = new Registry()
  /** libp2p's `Metrics` component over this registry, for `createLibp2p({ metrics: () => it })` */
  readonly libp2p: Libp2pMetrics

  readonly requests: Counter<'op' | 'outcome'>
  readonly requestDuration: Histogram<'op'>
  readonly requestsInFlight: Gauge<'op'>
  readonly forwarded: Counter
  readonly sloppyWrites: Counter
  readonly writeAcks: Histogram
  readonly objectSize: Histogram<'op'>
  readonly readSiblings: Histogram
  readonly clockEntries: Histogram

  readonly replicaRequests: Counter<'type' | 'outcome'>
  readonly rpcDuration: Histogram<'protocol' | 'type'>
  readonly rpcErrors: Counter<'protocol' | 'type' | 'reason'>
  readonly streamsOpened: Counter<'protocol' | 'direction'>
  /** the connection budget (issue #16): connections open, trimmed, and neighbours protected */
  readonly connectionsOpen: Gauge
  readonly connectionsTrimmed: Counter
  readonly connectionsProtected: Gauge
  /** standing (issue #19): penalty points scored against peers, by reason, and peers banned now */
  readonly peerPenalties: Counter<'reason'>
  readonly peersBanned: Gauge

  readonly readRepairs: Counter<'reason'>
  readonly hintsStored: Counter
  /** `p2pstore_quota_throttled_total{kind}`: kv requests held back by a quota (issue #19) */
  readonly quotaThrottled: Counter<'kind'>
  /** `p2pstore_hints_refused_total`: hinted copies refused over the hinted-storage quota */
  readonly hintsRefused: Counter
  readonly hintsDelivered: Counter
  readonly hintsFailed: Counter
  readonly transferKeys: Counter
  readonly transferBytes: Counter
  readonly transferFailures: Counter
  readonly antiEntropySweeps: Counter
  readonly antiEntropySweepPartners: Counter

  readonly memberTransitions: Counter<'from' | 'to'>
  readonly refutations: Counter
  readonly probes: Counter<'result'>
  readonly probeDuration: Histogram

  readonly storageDuration: Histogram<'op'>

  readonly rereplicationLag: Histogram
  readonly failureDetection: Histogram

  /** this peer's id, part of its view digest */
  private readonly peerId?: string
  private sources: MetricsSources = {}
  private readonly children = new Map<string, unknown>()
  private safetySource?: SafetySource
  private readonly loop: IntervalHistogram

  constructor (init: PeerMetricsInit = {}) {
    this.peerId = init.peerId
    const registers = [this.registry]
    this.libp2p = new Libp2pMetrics(this.registry)
    // collectors below read `this`; prom-client calls collect with the metric as `this`
    const self = this

    this.requests = new Counter({ name: 'p2pstore_requests_total', help: 'client requests this peer answered, by operation and outcome', labelNames: ['op', 'outcome'], registers })
    this.requestDuration = new Histogram({ name: 'p2pstore_request_duration_seconds', help: 'client request latency, from the call to the answer, by operation', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers })
    this.requestsInFlight = new Gauge({ name: 'p2pstore_requests_in_flight', help: 'client requests being answered now, by operation', labelNames: ['op'], registers })
    this.forwarded = new Counter({ name: 'p2pstore_requests_forwarded_total', help: 'writes forwarded to a home replica to coordinate (this peer is not one of the key\'s home replicas)', registers })
    this.sloppyWrites = new Counter({ name: 'p2pstore_sloppy_writes_total', help: 'copies of writes stored as hints in place of a home replica that could not take them (sloppy quorum)', registers })
    this.writeAcks = new Histogram({ name: 'p2pstore_write_acks', help: 'durable copies acknowledged before a write answered', buckets: COUNT_BUCKETS, registers })
    this.objectSize = new Histogram({ name: 'p2pstore_object_size_bytes', help: 'value sizes written (put) and read (get, all siblings)', labelNames: ['op'], buckets: SIZE_BUCKETS, registers })
    this.readSiblings = new Histogram({ name: 'p2pstore_read_siblings', help: 'versions (siblings, tombstones included) a read merged', buckets: COUNT_BUCKETS, registers })
    this.clockEntries = new Histogram({ name: 'p2pstore_clock_entries', help: 'entries of the causal context (version vector and dot cloud) a read answered', buckets: COUNT_BUCKETS, registers })

    this.replicaRequests = new Counter({ name: 'p2pstore_replica_requests_total', help: 'replica requests other peers sent this peer, by type and outcome', labelNames: ['type', 'outcome'], registers })
    this.rpcDuration = new Histogram({ name: 'p2pstore_rpc_duration_seconds', help: 'outbound RPC latency, by protocol and message type', labelNames: ['protocol', 'type'], buckets: LATENCY_BUCKETS, registers })
    this.rpcErrors = new Counter({ name: 'p2pstore_rpc_errors_total', help: 'outbound RPCs that failed, by protocol, message type and reason (timeout, aborted, error)', labelNames: ['protocol', 'type', 'reason'], registers })
    this.streamsOpened = new Counter({ name: 'p2pstore_streams_opened_total', help: 'p2pstore protocol streams opened, by protocol and direction', labelNames: ['protocol', 'direction'], registers })
    this.connectionsOpen = new Gauge({ name: 'p2pstore_connections_open', help: 'libp2p connections open, as the connection budget last counted them (at most maxConnections)', registers })
    this.connectionsTrimmed = new Counter({ name: 'p2pstore_connections_trimmed_total', help: 'idle connections the connection budget closed to stay under its low watermark', registers })
    this.connectionsProtected = new Gauge({ name: 'p2pstore_connections_protected', help: 'XOR neighbours the connection budget protects (tagged keep-alive, never trimmed)', registers })
    this.peerPenalties = new Counter({ name: 'p2pstore_peer_penalties_total', help: 'penalties scored against peers that misbehaved, by reason (malformed-frame, oversized-frame, slow-reader)', labelNames: ['reason'], registers })
    for (const reason of ['malformed-frame', 'oversized-frame', 'slow-reader']) this.peerPenalties.inc({ reason }, 0)
    this.peersBanned = new Gauge({ name: 'p2pstore_peers_banned', help: 'peers banned now: disconnected and refused until their ban expires', registers })

    this.readRepairs = new Counter({ name: 'p2pstore_read_repairs_total', help: 'replicas read repair sent a merge to, by reason: stale (an older version) or missing (no copy)', labelNames: ['reason'], registers })
    for (const reason of ['stale', 'missing']) this.readRepairs.inc({ reason }, 0)
    this.hintsStored = new Counter({ name: 'p2pstore_hints_stored_total', help: 'hinted copies this peer accepted for a home replica that could not take a write', registers })
    this.quotaThrottled = new Counter({ name: 'p2pstore_quota_throttled_total', help: 'kv requests from other peers held back by a quota (their stream paused until it fits), by what held them: requests, bytes, in_flight or global', labelNames: ['kind'], registers })
    this.hintsRefused = new Counter({ name: 'p2pstore_hints_refused_total', help: 'hinted copies refused because they would take the sending peer past hintedBytesPerPeer or all peers past hintedBytesTotal', registers })
    this.hintsDelivered = new Counter({ name: 'p2pstore_hints_delivered_total', help: 'hinted copies handed off to their home replicas', registers })
    this.hintsFailed = new Counter({ name: 'p2pstore_hints_failed_total', help: 'hinted-copy deliveries that failed (retried by the next pass)', registers })
    this.transferKeys = new Counter({ name: 'p2pstore_transfer_keys_total', help: 'copies handed to their new owners after membership changed (ownership handoff)', registers })
    this.transferBytes = new Counter({ name: 'p2pstore_transfer_bytes_total', help: 'value bytes of the copies handed to new owners', registers })
    this.transferFailures = new Counter({ name: 'p2pstore_transfer_failures_total', help: 'ownership transfers that failed (retried by the next pass)', registers })
    void new Counter({
      name: 'p2pstore_antientropy_rounds_total',
      help: 'anti-entropy rounds that completed (Merkle summaries compared, differing keys exchanged)',
      registers,
      collect () {
        this.reset()
        this.inc(self.sources.antiEntropy?.().rounds ?? 0)
      }
    })

    this.antiEntropySweeps = new Counter({ name: 'p2pstore_antientropy_sweeps_total', help: 'anti-entropy sweeps after a change of placement\'s view (a member joined, died or left)', registers })
    this.antiEntropySweepPartners = new Counter({ name: 'p2pstore_antientropy_sweep_partners_total', help: 'peers those sweeps ran a round with (only those that became a home replica of a key held here); per sweep: this over p2pstore_antientropy_sweeps_total', registers })

    this.memberTransitions = new Counter({ name: 'p2pstore_member_transitions_total', help: 'member state changes seen, by previous and new state (from="none": a member appeared)', labelNames: ['from', 'to'], registers })
    this.refutations = new Counter({ name: 'p2pstore_refutations_total', help: 'suspicions (or death reports) about this peer that it refuted with a higher incarnation', registers })
    this.probes = new Counter({ name: 'p2pstore_probes_total', help: 'SWIM probes, by result: ack (direct), indirect_ack, suspect (no answer)', labelNames: ['result'], registers })
    this.probeDuration = new Histogram({ name: 'p2pstore_probe_duration_seconds', help: 'round trip of direct SWIM probes that were answered', buckets: LATENCY_BUCKETS, registers })

    this.storageDuration = new Histogram({ name: 'p2pstore_storage_duration_seconds', help: 'local store latency, by operation (get, update: a durable read-modify-write)', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers })

    this.rereplicationLag = new Histogram({ name: 'p2pstore_rereplication_lag_seconds', help: 'from a peer declared dead to N copies restored of what it held', buckets: RECOVERY_BUCKETS, registers })
    this.failureDetection = new Histogram({ name: 'p2pstore_failure_detection_seconds', help: 'from a peer\'s last answer to it being declared dead', buckets: RECOVERY_BUCKETS, registers })

    const safety = async (): Promise<{ underReplicated: number, writeUnavailable: number, readUnavailable: number, singleCopy: number }> =>
      await this.safetySource?.safety() ?? { underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 }
    const safetyGauge = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof safety>>) => number): void => {
      void new Gauge({ name, help, registers, async collect () { this.set(pick(await safety())) } })
    }
    safetyGauge('p2pstore_keys_underreplicated', 'keys this peer is the first live home replica of with fewer than N confirmed copies', s => s.underReplicated)
    safetyGauge('p2pstore_keys_write_unavailable', 'keys this peer is the first live home replica of with fewer than W live copies', s => s.writeUnavailable)
    safetyGauge('p2pstore_keys_read_unavailable', 'keys this peer is the first live home replica of with fewer than R live copies', s => s.readUnavailable)
    safetyGauge('p2pstore_keys_single_copy', 'keys this peer is the first live home replica of with a single live copy', s => s.singleCopy)

    void new Gauge({
      name: 'p2pstore_members',
      help: 'members this peer knows of (itself excluded), by SWIM state',
      labelNames: ['state'],
      registers,
      collect () {
        const counts = new Map(MEMBER_STATES.map(s => [s, 0]))
        for (const m of self.sources.members?.() ?? []) counts.set(m.state, (counts.get(m.state) ?? 0) + 1)
        for (const [state, n] of counts) this.set({ state }, n)
      }
    })
    void new Gauge({
      name: 'p2pstore_view_digest',
      help: 'a digest of the live member set this peer sees (itself included): peers whose values differ have split views',
      registers,
      collect () { this.set(self.viewDigest()) }
    })
    void new Gauge({ name: 'p2pstore_local_health', help: 'Lifeguard local health multiplier (0: healthy; higher: this peer is slow itself)', registers, collect () { this.set(self.sources.localHealth?.() ?? 0) } })
    void new Counter({
      name: 'p2pstore_gossip_messages_total',
      help: 'membership messages (probes, acks, push-pull, leave), by direction',
      labelNames: ['direction'],
      registers,
      collect () {
        const t = self.sources.gossip?.()
        this.reset()
        this.inc({ direction: 'sent' }, t?.messagesSent ?? 0)
        this.inc({ direction: 'received' }, t?.messagesReceived ?? 0)
      }
    })
    void new Counter({
      name: 'p2pstore_gossip_bytes_total',
      help: 'membership message payload bytes, by direction',
      labelNames: ['direction'],
      registers,
      collect () {
        const t = self.sources.gossip?.()
        this.reset()
        this.inc({ direction: 'sent' }, t?.bytesSent ?? 0)
        this.inc({ direction: 'received' }, t?.bytesReceived ?? 0)
      }
    })
    void new Gauge({ name: 'p2pstore_hints_pending', help: 'hinted copies this peer holds for home replicas that could not take a write', registers, collect () { this.set(self.sources.hints?.().pending ?? 0) } })
    void new Gauge({
      name: 'p2pstore_hints_oldest_age_seconds',
      help: 'how long the oldest hinted copy this peer holds has waited for delivery (0: none)',
      registers,
      collect () {
        const since = self.sources.hints?.().oldestSince
        this.set(since == null ? 0 : Math.max(0, (Date.now() - since) / 1000))
      }
    })
    void new Gauge({ name: 'p2pstore_transfers_active', help: '1 while a handoff pass (hints and ownership transfers) runs', registers, collect () { this.set(self.sources.transfers?.().active === true ? 1 : 0) } })
    void new Gauge({ name: 'p2pstore_transfer_backlog', help: 'changed keys queued for the next handoff pass', registers, collect () { this.set(self.sources.transfers?.().backlog ?? 0) } })
    void new Gauge({
      name: 'p2pstore_antientropy_last_success_timestamp_seconds',
      help: 'when the last anti-entropy round succeeded (Unix time; 0: none yet)',
      registers,
      collect () {
        const at = self.sources.antiEntropy?.().lastSuccess
        this.set(at == null ? 0 : at / 1000)
      }
    })
    void new Gauge({
      name: 'p2pstore_storage_keys',
      help: 'keys in the local store (replicas, hinted copies and tombstones)',
      registers,
      async collect () { this.set(await self.sources.storageKeys?.().catch(() => 0) ?? 0) }
    })

    this.loop = monitorEventLoopDelay({ resolution: 10 })
    this.loop.enable()
    void new Gauge({
      name: 'p2pstore_eventloop_lag_seconds',
      help: 'event-loop delay since the previous scrape, by statistic (mean, p99, max)',
      labelNames: ['stat'],
      registers,
      collect () {
        const h = self.loop
        const seconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0)
        this.set({ stat: 'mean' }, seconds(h.mean))
        this.set({ stat: 'p99' }, seconds(h.percentile(99)))
        this.set({ stat: 'max' }, seconds(h.max))
        h.reset()
      }
    })
    // the process's memory under prom-client's default names (its collectDefaultMetrics would add
    // an event-loop monitor and a GC observer per registry, i.e. per in-process peer): heap used
    // that stays up after a load is retained; RSS that stays up over a heap that came back is
    // V8 or the allocator keeping freed pages
    const memory = (name: string, help: string, pick: (m: NodeJS.MemoryUsage) => number): void => {
      void new Gauge({ name, help, registers, collect () { this.set(pick(process.memoryUsage())) } })
    }
    memory('process_resident_memory_bytes', 'resident memory of this peer\'s process, in bytes (shared by the peers of one process)', m => m.rss)
    memory('nodejs_heap_size_used_bytes', 'V8 heap in use by this peer\'s process, in bytes', m => m.heapUsed)
    memory('nodejs_heap_size_total_bytes', 'V8 heap this peer\'s process has reserved, in bytes', m => m.heapTotal)
    memory('nodejs_external_memory_bytes', 'memory outside the V8 heap held by JavaScript objects (buffers…), in bytes', m => m.external)
    memory('nodejs_array_buffers_bytes', 'memory of ArrayBuffers and Buffers, in bytes (part of external)', m => m.arrayBuffers)
    new Gauge({ name: 'p2pstore_build_info', help: 'the p2pstore version and Node.js version this peer runs (always 1)', labelNames: ['version', 'node'], registers })
      .set({ version: VERSION, node: process.versions.node }, 1)
  }

  /** Tells the collectors where to read the parts' state (the peer, once its parts exist). */
  bind (sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources }
  }

  /**
   * Sets the replication-safety source of the four `p2pstore_keys_*` gauges (the health module).
   * Until one is set they read 0.
   */
  setSafetySource (source: SafetySource | undefined): void {
    this.safetySource = source
  }

  /** The observation callbacks of `p2pstore_rereplication_lag_seconds` and `p2pstore_failure_detection_seconds`. */
  get safetyObserver (): SafetyObserver {
    return {
      rereplicationLag: seconds => { this.rereplicationLag.observe(seconds) },
      failureDetection: seconds => { this.failureDetection.observe(seconds) }
    }
  }

  /**
   * Counts a client request: in flight until it settles, then by outcome, with its latency. Returns
   * `run`'s promise unchanged. `classify` names a success's outcome; failures are named by
   * `errorOutcome`.
   */
  async request<T> (op: RequestOp, run: () => Promise<T>, classify: (value: T) => RequestOutcome): Promise<T> {
    const started = performance.now()
    const inFlight = this.child(`in-flight:${op}`, () => this.requestsInFlight.labels(op))
    inFlight.inc()
    let outcome: RequestOutcome = 'error'
    try {
      const value = await run()
      outcome = classify(value)
      return value
    } catch (err) {
      outcome = errorOutcome(err)
      throw err
    } finally {
      inFlight.dec()
      this.child(`requests:${op}:${outcome}`, () => this.requests.labels(op, outcome)).inc()
      this.child(`duration:${op}`, () => this.requestDuration.labels(op)).observe((performance.now() - started) / 1000)
    }
  }

  /**
   * Times an outbound RPC: its latency when it answers, its failure by reason when it does not.
   * Returns `reply` itself (no extra promise on the caller's path).
   */
  rpc<T> (protocol: string, type: string, started: number, reply: Promise<T>): Promise<T> {
    reply.then(() => {
      this.child(`rpc:${protocol}:${type}`, () => this.rpcDuration.labels(protocol, type)).observe((performance.now() - started) / 1000)
    }, (err: unknown) => {
      const name = (err as Error | undefined)?.name
      this.rpcErrors.labels(protocol, type, name === 'TimeoutError' ? 'timeout' : name === 'AbortError' ? 'aborted' : 'error').inc()
    })
    return reply
  }

  /**
   * The labelled child of a hot metric, made once: prom-client's `labels()` hashes and checks its
   * labels on every call, several times the cost of the observation itself. The label values come
   * from small fixed sets, so the cache stays small.
   */
  private child<C> (id: string, make: () => C): C {
    let child = this.children.get(id) as C | undefined
    if (child == null) {
      child = make()
      this.children.set(id, child)
    }
    return child
  }

  /**
   * A 48-bit digest of the live view (alive and suspect members and this peer, by id), as a number
   * Prometheus can compare: `count(count_values("d", p2pstore_view_digest)) > 1` finds split views.
   */
  viewDigest (): number {
    const ids = (this.sources.members?.() ?? []).filter(m => m.state === 'alive' || m.state === 'suspect').map(m => m.peerId)
    if (this.peerId != null) ids.push(this.peerId)
    const hash = createHash('sha256').update(ids.sort().join('\n')).digest()
    return hash.readUIntBE(0, 6)
  }

  /**
   * `engine` with the latency of its `get` and `update` observed into
   * `p2pstore_storage_duration_seconds`; every other member passes through to it unchanged.
   */
  timedStorage<T extends object> (engine: T): T {
    const histogram = this.storageDuration
    const timed = new Map<PropertyKey, unknown>()
    for (const op of ['get', 'update'] as const) {
      const method = Reflect.get(engine, op) as unknown
      if (typeof method !== 'function') continue
      const child = histogram.labels(op)
      timed.set(op, (...args: unknown[]): unknown => {
        const started = performance.now()
        const result = (method as (...a: unknown[]) => unknown).apply(engine, args)
        if (result instanceof Promise) {
          const observe = (): void => { child.observe((performance.now() - started) / 1000) }
          result.then(observe, observe)
        }
        return result
      })
    }
    return new Proxy(engine, {
      get (target, prop) {
        const made = timed.get(prop)
        if (made != null) return made
        const value = Reflect.get(target, prop, target) as unknown
        if (typeof value !== 'function') return value
        // methods are bound once: the engine's own `this` (its private fields) stays the target
        const bound = (value as (...a: unknown[]) => unknown).bind(target)
        timed.set(prop, bound)
        return bound
      }
    })
  }

  /** (Re)starts the event-loop monitor, after a `close()`. Idempotent. */
  open (): void {
    this.loop.enable()
  }

  /** Stops the event-loop monitor (the registry stays readable). Idempotent. */
  close (): void {
    this.loop.disable()
  }
}

/** The `outcome` of a failed client request, from the error's name. */
export function errorOutcome (err: unknown): RequestOutcome {
  const e = err as (Error & { errors?: unknown[] }) | undefined
  switch (e?.name) {
    case 'QuorumNotReachedError': {
      // every replica that failed timed out: the replicas exist but are slow (or partitioned)
      const causes = Array.isArray(e.errors) ? e.errors : []
      return causes.length > 0 && causes.every(c => (c as Error | undefined)?.name === 'TimeoutError') ? 'timeout' : 'quorum_unavailable'
    }
    case 'TimeoutError': return 'timeout'
    case 'AbortError': return 'aborted'
    case 'NotFoundError': return 'not_found'
    case 'KeyTooLargeError':
    case 'ValueTooLargeError':
    case 'InvalidParametersError':
    case 'InvalidContextTokenError':
      return 'bad_request'
    default: return 'error'
  }
}
