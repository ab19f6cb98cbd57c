import { AbortError } from '@libp2p/interface'
import { DEFAULT_KV_GLOBAL_REQUEST_RATE, DEFAULT_KV_PEER_BYTE_BURST, DEFAULT_KV_PEER_BYTE_RATE, DEFAULT_KV_PEER_MAX_IN_FLIGHT, DEFAULT_KV_PEER_REQUEST_BURST, DEFAULT_KV_PEER_REQUEST_RATE, KV_GLOBAL_BURST_SECONDS, QUOTA_PENALTY_AFTER, QUOTA_SWEEP_INTERVAL } from '../constants.ts'
import { TokenBucket } from './token-bucket.ts'
import type { Penaliser } from '../channel/index.ts'
import type { PeerId } from '@libp2p/interface'

/** What held a request back: its peer's request or byte rate, its requests in flight, or everyone's rate. */
export type ThrottleKind = 'requests' | 'bytes' | 'in_flight' | 'global'

/**
 * Where a peer's standing is kept (built elsewhere): the quotas report sustained abuse to it.
 * Points add up; what they lead to (a lower priority, a ban) is the standing's business.
 */
/** What the quotas report to. */
export interface KvQuotasComponents {
  /** `p2pstore_quota_throttled_total{kind}`: requests held back, by what held them. @default not counted */
  metrics?: { quotaThrottled: { inc(labels: { kind: ThrottleKind }): void } }
  /** told of sustained abuse. @default nobody */
  standing?: Penaliser
}

/** Options of KvQuotas; every rate is per second. */
export interface KvQuotasInit {
  /** requests a second one peer may make. @default DEFAULT_KV_PEER_REQUEST_RATE (20 000) */
  peerRequestRate?: number
  /** requests one peer may make at once above its rate. @default DEFAULT_KV_PEER_REQUEST_BURST (4000) */
  peerRequestBurst?: number
  /** frame bytes a second one peer may send. @default DEFAULT_KV_PEER_BYTE_RATE (64 MiB) */
  peerByteRate?: number
  /** frame bytes one peer may send at once; a larger frame waits for a full bucket and leaves a debt. @default DEFAULT_KV_PEER_BYTE_BURST (16 MiB) */
  peerByteBurst?: number
  /** requests one peer may have in flight over all its streams. @default DEFAULT_KV_PEER_MAX_IN_FLIGHT (256) */
  peerMaxInFlight?: number
  /** requests a second from all peers together. @default DEFAULT_KV_GLOBAL_REQUEST_RATE (50 000) */
  globalRequestRate?: number
  /** requests all peers may make at once. @default max(KV_GLOBAL_BURST_SECONDS × global rate, 2 × peer burst) */
  globalRequestBurst?: number
  /** the clock, in ms. @default performance.now */
  now?: () => number
}

/** A request let through: call `release()` once it has been answered. */
export interface Admitted {
  admitted: true
  release(): void
}

/** A request held back: try again after `wait` ms (or, for `in_flight`, once one of the peer's requests ends). */
export interface Throttled {
  admitted: false
  wait: number
  kind: ThrottleKind
}

/** Options of `acquire`. */
export interface AcquireOptions {
  signal?: AbortSignal
  /** called once before the first wait (the caller stops reading the peer's stream) */
  onWait?(kind: ThrottleKind): void
}

/** One peer's quota state. */
interface PeerQuota {
  requests: TokenBucket
  bytes: TokenBucket
  inFlight: number
  /** ms this peer waited on its own rates since its last penalty point */
  throttledMs: number
  /** woken when one of its requests ends (for requests waiting on in-flight) */
  waiters: Set<() => void>
  /** when it last asked for a request (ms, the quotas' clock) */
  lastActive: number
}

/**
 * The work one peer may make this one do on the kv protocol (issue #19): per peer a token bucket of
 * requests, one of frame bytes and a count of requests in flight, plus one bucket of requests for
 * all peers together whose rate one peer alone cannot reach. A request over quota is not dropped:
 * `acquire` resolves once it fits (the kv server stops reading the peer's streams meanwhile, so
 * nothing queues without bound), and nothing waits forever.
 *
 * Per-peer state is made on a peer's first request and dropped once its buckets have refilled with
 * nothing in flight — it is then the same as a new one, so a peer gains nothing by reconnecting —
 * and the number of entries is that of the peers active in the last few hundred ms.
 */
export class KvQuotas {
  readonly init: Required<Omit<KvQuotasInit, 'now'>>
  private readonly components: KvQuotasComponents
  private readonly now: () => number
  private readonly peers = new Map<string, PeerQuota>()
  private readonly global: TokenBucket
  private lastSweep: number

  constructor (components: KvQuotasComponents = {}, init: KvQuotasInit = {}) {
    const peerRequestRate = init.peerRequestRate ?? DEFAULT_KV_PEER_REQUEST_RATE
    const peerRequestBurst = init.peerRequestBurst ?? DEFAULT_KV_PEER_REQUEST_BURST
    const globalRequestRate = init.globalRequestRate ?? DEFAULT_KV_GLOBAL_REQUEST_RATE
    if (globalRequestRate < 2 * peerRequestRate) throw new RangeError(`the global request rate (${globalRequestRate}/s) must be at least twice a peer's (${peerRequestRate}/s), so that one peer cannot use it up alone`)
    this.init = {
      peerRequestRate,
      peerRequestBurst,
      peerByteRate: init.peerByteRate ?? DEFAULT_KV_PEER_BYTE_RATE,
      peerByteBurst: init.peerByteBurst ?? DEFAULT_KV_PEER_BYTE_BURST,
      peerMaxInFlight: init.peerMaxInFlight ?? DEFAULT_KV_PEER_MAX_IN_FLIGHT,
      globalRequestRate,
      globalRequestBurst: init.globalRequestBurst ?? Math.max(Math.ceil(KV_GLOBAL_BURST_SECONDS * globalRequestRate), 2 * peerRequestBurst)
    }
    if (!(this.init.peerMaxInFlight >= 1)) throw new RangeError(`peerMaxInFlight must be at least 1, got ${this.init.peerMaxInFlight}`)
    this.components = components
    this.now = init.now ?? (() => performance.now())
    this.global = new TokenBucket({ rate: globalRequestRate, burst: this.init.globalRequestBurst, now: this.now })
    this.lastSweep = this.now()
  }

  /** Peers with quota state now (bounded: see the class comment). */
  get size (): number {
    return this.peers.size
  }

  /** Requests `peer` has in flight now. */
  inFlight (peer: PeerId): number {
    return this.peers.get(peer.toString())?.inFlight ?? 0
  }

  /**
   * Lets a request of `bytes` from `peer` through now if every quota has room (taking one request
   * token from the peer's and the global bucket, `bytes` from the peer's byte bucket, and a slot in
   * flight), or says why not and for how long. A frame larger than the byte burst (the largest kv
   * frame is 64 MiB, a sibling set merged from concurrent writes) is let through once the peer's
   * byte bucket is full and leaves it in debt: it never waits forever, and the byte rate holds.
   */
  tryAcquire (peer: PeerId, bytes: number): Admitted | Throttled {
    this.sweep()
    const id = peer.toString()
    const quota = this.quotaOf(id)
    quota.lastActive = this.now()
    if (quota.inFlight >= this.init.peerMaxInFlight) return { admitted: false, wait: Infinity, kind: 'in_flight' }
    const requestWait = quota.requests.delay(1)
    const byteWait = quota.bytes.delay(bytes)
    const globalWait = this.global.delay(1)
    if (requestWait > 0 || byteWait > 0 || globalWait > 0) {
      const kind: ThrottleKind = requestWait >= byteWait && requestWait >= globalWait ? 'requests' : byteWait >= globalWait ? 'bytes' : 'global'
      return { admitted: false, wait: Math.max(requestWait, byteWait, globalWait), kind }
    }
    quota.requests.spend(1)
    quota.bytes.spend(bytes)
    this.global.spend(1)
    quota.inFlight++
    let released = false
    return {
      admitted: true,
      release: () => {
        if (released) return
        released = true
        quota.inFlight--
        for (const wake of [...quota.waiters]) wake()
      }
    }
  }

  /**
   * Resolves once a request of `bytes` from `peer` fits (see `tryAcquire`), waiting as long as it
   * takes: for tokens to return, or for one of the peer's requests in flight to end. Time spent
   * waiting on the peer's own rates counts towards a penalty point (QUOTA_PENALTY_AFTER).
   *
   * @throws AbortError when `signal` aborts
   */
  async acquire (peer: PeerId, bytes: number, options: AcquireOptions = {}): Promise<Admitted> {
    let first = true
    for (;;) {
      options.signal?.throwIfAborted()
      const outcome = this.tryAcquire(peer, bytes)
      if (outcome.admitted) return outcome
      if (first) {
        first = false
        this.components.metrics?.quotaThrottled.inc({ kind: outcome.kind })
        options.onWait?.(outcome.kind)
      }
      const quota = this.quotaOf(peer.toString())
      const started = this.now()
      await waitFor(outcome.kind === 'in_flight' ? undefined : outcome.wait, quota.waiters, options.signal)
      if (outcome.kind === 'requests' || outcome.kind === 'bytes') this.charge(peer, quota, this.now() - started)
    }
  }

  /** Adds waiting time to a peer's account; every QUOTA_PENALTY_AFTER ms of it is one point. */
  private charge (peer: PeerId, quota: PeerQuota, ms: number): void {
    quota.throttledMs += ms
    if (quota.throttledMs < QUOTA_PENALTY_AFTER) return
    const points = Math.floor(quota.throttledMs / QUOTA_PENALTY_AFTER)
    quota.throttledMs -= points * QUOTA_PENALTY_AFTER
    this.components.standing?.penalise(peer, 'over-quota', points)
  }

  private quotaOf (id: string): PeerQuota {
    let quota = this.peers.get(id)
    if (quota == null) {
      quota = {
        requests: new TokenBucket({ rate: this.init.peerRequestRate, burst: this.init.peerRequestBurst, now: this.now }),
        bytes: new TokenBucket({ rate: this.init.peerByteRate, burst: this.init.peerByteBurst, now: this.now }),
        inFlight: 0,
        throttledMs: 0,
        waiters: new Set(),
        lastActive: this.now()
      }
      this.peers.set(id, quota)
    }
    return quota
  }

  /**
   * Drops the state of peers idle for a sweep interval whose buckets refilled with nothing in
   * flight or waiting: it equals a new one (but for waiting time short of a penalty point).
   */
  private sweep (): void {
    const now = this.now()
    if (now - this.lastSweep < QUOTA_SWEEP_INTERVAL) return
    this.lastSweep = now
    for (const [id, quota] of this.peers) {
      if (quota.inFlight === 0 && quota.waiters.size === 0 && now - quota.lastActive >= QUOTA_SWEEP_INTERVAL && quota.requests.full && quota.bytes.full) this.peers.delete(id)
    }
  }
}

/** Waits `ms` (or, when undefined, until woken through `waiters`), or until `signal` aborts. */
async function waitFor (ms: number | undefined, waiters: Set<() => void>, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const done = (): void => {
      if (timer != null) clearTimeout(timer)
      waiters.delete(wake)
      signal?.removeEventListener('abort', onAbort)
    }
    const wake = (): void => {
      done()
      resolve()
    }
    const onAbort = (): void => {
      done()
      reject(new AbortError('stopped waiting for the kv quota'))
    }
    if (ms == null) waiters.add(wake)
    else timer = setTimeout(wake, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
