import { AbortError, InvalidParametersError } from '@libp2p/interface'
import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { applyWrite, contextIncludes, contextSize, emptyContext, emptySiblingSet, meetContexts, mergeSiblingSets, nextDot, unmetBy } from '../clock/index.ts'
import { CLIENT_REQUEST_TIMEOUT, DEFAULT_N, DEFAULT_R, DEFAULT_W, MAX_KEY_BYTES, MAX_N, MAX_VALUE_BYTES, WARN_SIBLINGS } from '../constants.ts'
import { KeyTooLargeError, PreconditionFailedError, QuorumNotReachedError, ValueTooLargeError } from '../errors.ts'
import { traced } from '../metrics/index.ts'
import { takeFallback } from '../routing/index.ts'
import { expected } from '../tasks/index.ts'
import { Actors } from './actors.ts'
import { mergeHints, mergeIntoLocal } from './local-store.ts'
import { shortPeer, waitForQuorum } from './quorum.ts'
import { ReadRepair } from './read-repair.ts'
import { expectOk, remoteError } from './rpc/index.ts'
import type { KvRpc } from './rpc/index.ts'
import type { CausalContext, Sibling, SiblingSet, WriteCondition } from '../clock/index.ts'
import type { PeerMetrics, RequestTrace } from '../metrics/index.ts'
import type { ForwardedPut, KvResponse } from '../protocol/index.ts'
import type { Placement, PlacedPeer } from '../routing/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId } from '@libp2p/interface'

/** What the coordinator uses. */
export interface CoordinatorComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'homeReplicas' | 'preferenceList'> & Partial<Pick<Placement, 'viewMayBePartial'>>
  /** where sloppy writes and read repairs are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'sloppyWrites' | 'readRepairs'>
}

/** Defaults and limits of client requests. */
export interface CoordinatorInit {
  /** replicas per key. @default 3 */
  n?: number
  /** read quorum. @default 2 */
  r?: number
  /** write quorum. @default 2 */
  w?: number
  /** longest key in bytes. @default 1024 */
  maxKeyBytes?: number
  /** largest value in bytes. @default 1 MiB */
  maxValueBytes?: number
  /** deadline of a whole client request. @default 10_000 */
  requestTimeout?: number
}

/** Options of a write. */
export interface WriteOptions extends AbortOptions {
  /** what the client had read (a decoded context token); empty = a blind write */
  context?: CausalContext
  /** replicas for this request */
  n?: number
  /** acknowledgements required */
  w?: number
  /**
   * Refuse sloppy quorum: only home replicas count towards W; a write whose home replicas are
   * down fails instead of going to the next peers with a hint.
   *
   * @default false
   */
  strict?: boolean
  /** record what the request does here (`?trace=1`). @default undefined (not recorded) */
  trace?: RequestTrace
  /**
   * A conditional write (issue #20): `if-none-match` stores only if the key has no live value;
   * `if-match` only if the key holds nothing `context` has not seen. The coordinator first reads
   * the other home replicas, then checks under the key's lock; every home replica checks again
   * under its own lock before it stores, and refuses with `PreconditionFailedError`. Refused by
   * the coordinator, the write stores nothing; refused by enough replicas that W cannot be
   * reached, it fails with `PreconditionFailedError` too, but the copies already made stay (as
   * siblings of the write that won, never in its place). With W > N/2 and the copies on the
   * home replicas, two concurrent conditional writes of a key are never both acknowledged.
   *
   * @default undefined (unconditional)
   */
  condition?: WriteCondition
}

/** Options of a delete. */
export interface DeleteOptions extends WriteOptions {
  /**
   * Without a `context`, a delete first reads the key with this quorum and writes its tombstone
   * with the read's context, so that it supersedes every value the read saw.
   *
   * @default the coordinator's R, at most n
   */
  r?: number
  /**
   * Write the tombstone without reading first and without a context: it supersedes nothing and
   * becomes a sibling (marked deleted) of every value there, for readers to resolve. For recording
   * a delete where no read quorum can be had (a partition with W reachable), or on purpose as a
   * conflict marker. Excludes `context`.
   *
   * @default false
   */
  blind?: boolean
}

/** Options of a read. */
export interface ReadOptions extends AbortOptions {
  n?: number
  /** replies required */
  r?: number
  /** record what the request does here (`?trace=1`). @default undefined (not recorded) */
  trace?: RequestTrace
}

/** The outcome of a put or delete. */
export interface WriteResult {
  /** what the client has seen now: its context plus exactly its own write */
  context: CausalContext
  /** durable copies acknowledged before the answer (≥ w) */
  acks: number
  /**
   * the copies the write went to: the key's N replicas, or fewer when the network has fewer live
   * peers (then the write is degraded: `acks` of `n` copies, at most `replicas` of them)
   */
  replicas: number
  /** the replicas the key should have (the request's N) */
  n: number
  /** the peer that coordinated the write */
  coordinator: string
}

/** The outcome of a get: the merge of the replies (siblings include tombstones; see `liveSiblings`). */
export interface ReadResult {
  state: SiblingSet
  /** how many replicas answered before the result was returned (≥ r) */
  replies: number
  /** the replicas asked: N, or fewer when the network has fewer live peers */
  replicas: number
  /** the replicas the key should have (the request's N) */
  n: number
}

/** A coordinated write whose new record is made: its delta may go out before `durable` settles. */
interface PreparedWrite {
  delta: SiblingSet
  clientContext: CausalContext
  /** resolves once the local copy is durable, rejects if it could not be stored */
  durable: Promise<void>
}

/**
 * Dynamo-style request coordination (DeCandia et al., "Dynamo", SOSP 2007, section 4.5).
 *
 * - **put/delete**: a home replica coordinates (others forward to the nearest home replica that
 *   answers). It makes the new dot and sends the write to the other home replicas in parallel
 *   with merging it into its own copy (so its fsync overlaps theirs), and answers after W durable
 *   copies, never before. A delta may thus leave before the coordinator's copy is durable; the
 *   engine retires the actor when that copy then fails or the process dies first (`mayIssue`).
 * - **get**: asks the N home replicas in parallel, answers with the merge of the first R replies,
 *   then waits for the rest (within the replica deadline) and **read-repairs** every replica that
 *   lacked part of the final merge.
 */
export class Coordinator {
  private readonly components: CoordinatorComponents
  private readonly log: Logger
  private readonly n: number
  private readonly r: number
  private readonly w: number
  private readonly maxKeyBytes: number
  private readonly maxValueBytes: number
  private readonly requestTimeout: number
  private readonly self: string
  private readonly actors: Actors
  private readonly readRepair: ReadRepair

  constructor (components: CoordinatorComponents, init: CoordinatorInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:coordinator')
    this.n = init.n ?? DEFAULT_N
    this.r = init.r ?? DEFAULT_R
    this.w = init.w ?? DEFAULT_W
    this.maxKeyBytes = init.maxKeyBytes ?? MAX_KEY_BYTES
    this.maxValueBytes = init.maxValueBytes ?? MAX_VALUE_BYTES
    this.requestTimeout = init.requestTimeout ?? CLIENT_REQUEST_TIMEOUT
    this.self = components.peerId.toString()
    this.actors = new Actors(components.engine)
    this.readRepair = new ReadRepair(components, this.log)
    checkQuorum(this.n, this.r, 'r')
    checkQuorum(this.n, this.w, 'w')
  }

  /** Writes `value`; see the class description. */
  async put (key: Uint8Array, value: Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    if (value.byteLength > this.maxValueBytes) {
      throw new ValueTooLargeError(`value of ${value.byteLength} bytes is larger than the limit of ${this.maxValueBytes} bytes`)
    }
    return this.write(key, value, false, options)
  }

  /**
   * Writes a tombstone: the key reads as not found, and the delete orders like any write. With a
   * `context` it supersedes exactly what that read saw; without one it reads the key first (with R)
   * and deletes with the read's context, so it deletes what is there, as Riak's clients do. A
   * missing key deletes fine (idempotent). `blind` writes the tombstone without reading.
   */
  async delete (key: Uint8Array, options: DeleteOptions = {}): Promise<WriteResult> {
    if (options.blind === true && options.context != null) {
      throw new InvalidParametersError('a blind delete has no context: pass either blind or a context, not both')
    }
    if (options.context != null || options.blind === true) return this.write(key, new Uint8Array(0), true, options)
    return this.abortable(options, async () => {
      // one deadline for the read and the write
      const signal = this.requestSignal(options)
      try {
        const { state } = await this.read(key, { n: options.n, r: options.r, signal, trace: options.trace })
        return await this.coordinatedWrite(key, new Uint8Array(0), true, { ...options, context: state.context, signal })
      } finally {
        signal.clear()
      }
    })
  }

  /** Reads with quorum R; see the class description. */
  async get (key: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
    return this.abortable(options, async () => this.read(key, options))
  }

  private async read (key: Uint8Array, options: ReadOptions): Promise<ReadResult> {
    this.checkKey(key)
    const n = options.n ?? this.n
    const r = options.r ?? Math.min(this.r, n)
    checkQuorum(n, r, 'r')
    const signal = this.requestSignal(options)
    try {
      const replicas = await this.components.placement.homeReplicas(key, n, { signal })
      const trace = options.trace
      trace?.preference(replicas, n)
      const reads = replicas.map(replica => {
        const peer = replica.peerId.toString()
        return { replica, peer, promise: traced(trace, peer, 'read', this.readReplica(replica, key, { signal }), describeRead) }
      })
      // R is never capped: with fewer replicas than R the read fails with the quorum error as soon
      // as those that exist have answered
      const results = await waitForQuorum(reads, r, { op: 'get', unit: 'replies', n, alone: replicas.length < n && this.alone(replicas), partial: this.viewPartial() })
      const state = results.reduce<SiblingSet>((acc, res) => mergeSiblingSets(acc, res.value ?? emptySiblingSet()), emptySiblingSet())
      if (state.siblings.length > WARN_SIBLINGS) this.log('key %k has %d siblings (warning past %d)', key, state.siblings.length, WARN_SIBLINGS)
      trace?.note('quorum', `${results.length} of ${r} replies: ${results.map(res => shortPeer(res.peer)).join(', ')}`)
      this.readRepair.start(key, reads, trace)
      return { state, replies: results.length, replicas: replicas.length, n }
    } finally {
      signal.clear()
    }
  }

  /**
   * Coordinates a write another peer forwarded here (the COORDINATE handler): this peer is one of
   * the key's home replicas in the forwarder's view. Answers the client's context and the acks.
   */
  async coordinateForwarded (key: Uint8Array, put: ForwardedPut, options: AbortOptions = {}): Promise<WriteResult> {
    options.signal?.throwIfAborted()
    return this.coordinate(key, put, options)
  }

  /** Resolves once every background read repair started so far has ended (tests, shutdown). */
  async settled (): Promise<void> {
    await this.readRepair.settled()
  }

  private async write (key: Uint8Array, value: Uint8Array, deleted: boolean, options: WriteOptions): Promise<WriteResult> {
    return this.abortable(options, async () => this.coordinatedWrite(key, value, deleted, options))
  }

  /**
   * Runs a client request so that a caller's abort always surfaces as `AbortError` (not as the
   * quorum failure its aborted replica calls would otherwise add up to).
   */
  private async abortable<T> (options: AbortOptions, fn: () => Promise<T>): Promise<T> {
    const aborted = (): boolean => options.signal?.aborted === true
    if (aborted()) throw new AbortError('the request was aborted before it started')
    try {
      return await fn()
    } catch (err) {
      // check again after async work
      if (aborted()) throw new AbortError(`the request was aborted (${(err as Error).message})`)
      throw err
    }
  }

  private async coordinatedWrite (key: Uint8Array, value: Uint8Array, deleted: boolean, options: WriteOptions): Promise<WriteResult> {
    this.checkKey(key)
    const n = options.n ?? this.n
    const w = options.w ?? Math.min(this.w, n)
    checkQuorum(n, w, 'w')
    const signal = this.requestSignal(options)
    try {
      const put: ForwardedPut = { value, deleted, context: options.context ?? emptyContext(), n, w, strict: options.strict ?? false, ...(options.condition == null ? {} : { condition: options.condition }) }
      const replicas = await this.components.placement.homeReplicas(key, n, { signal })
      if (replicas.some(r => r.peerId.equals(this.components.peerId))) {
        return await this.coordinate(key, put, { signal, trace: options.trace })
      }
      return await this.forward(key, put, replicas, { signal, trace: options.trace })
    } finally {
      signal.clear()
    }
  }

  /**
   * Forwards a write to the nearest home replica that answers. Only failures to reach a replica
   * move on to the next one; an answer (success, or an error such as a quorum failure) is final.
   */
  private async forward (key: Uint8Array, put: ForwardedPut, replicas: PlacedPeer[], options: AbortOptions & { trace?: RequestTrace }): Promise<WriteResult> {
    const errors: Error[] = []
    options.trace?.preference(replicas, put.n)
    for (const replica of replicas) {
      let response: KvResponse
      try {
        options.trace?.note('forward', 'not a home replica: forwarding to a home replica to coordinate', replica.peerId.toString())
        response = await traced(options.trace, replica.peerId.toString(), 'coordinate', this.components.rpc.request(replica.peerId, { type: 'coordinate', key, put }, { signal: options.signal }))
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        errors.push(err as Error)
        this.log('home replica %p unreachable for forwarding - %e', replica.peerId, err)
        continue
      }
      if (response.status === 'ok' && response.context != null) {
        // the replicas as this peer's view counts them (the coordinator answers only its acks)
        return { context: response.context, acks: response.acks ?? 0, replicas: replicas.length, n: put.n, coordinator: replica.peerId.toString() }
      }
      throw remoteError(response, replica.peerId)
    }
    if (!put.strict) {
      // sloppy quorum: no home replica can coordinate, so this peer does, as a fallback
      this.log('no home replica of %k reachable: coordinating it here with hints', key)
      return this.coordinate(key, put, options)
    }
    throw new QuorumNotReachedError(errors, `quorum not reached: 0 of ${put.w} acks (strict: no home replica reachable to coordinate: ${replicas.map(r => shortPeer(r.peerId.toString())).join(', ')}; retry, or check \`p2pstore peers\`)`)
  }

  /**
   * Coordinates a write here: new dot, durable local merge, parallel stores to the other home
   * replicas, answer after W acknowledgements (the local copy is one when this peer is a home
   * replica). Stores still running after the quorum keep going, to reach N copies.
   *
   * Sloppy quorum (Dynamo section 4.6): a home replica that fails to take the write (suspect ones
   * are tried too) is replaced by the next peer of the preference list, which stores the write as a hinted
   * copy naming it; hinted handoff delivers it later. A coordinator that is not a home replica
   * itself keeps its copy as such a hint too. With `strict`, only home replicas count.
   */
  private async coordinate (key: Uint8Array, put: ForwardedPut, options: AbortOptions & { trace?: RequestTrace }): Promise<WriteResult> {
    const trace = options.trace
    const preference = await this.components.placement.preferenceList(key, { signal: options.signal, n: put.n })
    trace?.preference(preference, put.n)
    const replicas = preference.slice(0, put.n)
    const selfIsHome = replicas.some(r => r.peerId.equals(this.components.peerId))
    const others = replicas.filter(r => !r.peerId.equals(this.components.peerId))
    // alive fallbacks first; suspect ones only as a last resort (suspicion is a weak signal)
    const rest = preference.slice(put.n).filter(r => !r.peerId.equals(this.components.peerId))
    const fallbacks = [...rest.filter(r => r.state !== 'suspect'), ...rest.filter(r => r.state === 'suspect')]
    if (put.condition != null) {
      // the strongest check the design can give: what every reachable home replica holds is
      // merged here first, so a write acknowledged before this one started is seen
      await this.catchUp(key, others, options)
    } else if (contextSize(put.context) > 0) {
      // a blind write (empty context) claims nothing: no read is needed to check its claim
      const current = await this.components.engine.get(key, options)
      if (!contextIncludes(current?.set.context ?? emptyContext(), put.context)) {
        // the client saw versions this replica has not received yet: fetch them first, so that the
        // write supersedes what the client really saw (writeLocal drops any claim still unknown)
        await this.catchUp(key, others, options)
      }
    }
    // the delta goes out as soon as it is made; the local copy becomes durable meanwhile and counts
    // as one ack once it is (the engine retires the actor if that write fails or the process dies)
    const local = await this.writeLocal(key, put, selfIsHome ? undefined : replicas.map(r => r.peerId.toString()), options)
    // a coordinator outside the home replicas holds a hinted copy: it may stand in for one of them
    let selfMayStandIn = !selfIsHome && !put.strict

    const store = async (target: PlacedPeer, hintFor?: string[]): Promise<void> => {
      // a home replica checks the condition under its key lock; a hinted copy on a fallback does not
      const condition = hintFor == null ? put.condition : undefined
      const request = this.components.rpc.request(target.peerId, { type: 'store', key, state: local.delta, hintFor, ...(condition == null ? {} : { condition }) }, { signal: options.signal })
      expectOk(await traced(trace, target.peerId.toString(), hintFor == null ? 'store' : `store as a hint for ${shortPeer(hintFor[0] ?? '')}`, request), target.peerId)
    }
    /** a home replica's copy, or when it cannot take it (and sloppy quorum is allowed) a hinted one on a fallback */
    const storeFor = async (home: PlacedPeer): Promise<void> => {
      const owner = home.peerId.toString()
      let cause: Error | undefined
      // a suspect home replica is still tried first: suspicion often comes from load, not death
      try {
        await store(home)
        return
      } catch (err) {
        cause = err as Error
        // a home replica that refused the condition holds a version this write did not see: a
        // fallback must not stand in for it
        if (put.strict || isAborted(options) || cause.name === 'PreconditionFailedError') throw err
      }
      if (selfMayStandIn) {
        selfMayStandIn = false
        try {
          await local.durable
          this.components.metrics?.sloppyWrites.inc()
          trace?.note('hint', `this peer's own copy stands in for ${shortPeer(owner)} (a hint)`, this.self)
          return
        } catch {
          // our hinted copy failed too: a fallback peer may still take one
        }
      }
      // a zone that lacks the key first (zones without a home replica, then the failed one's)
      for (let fallback = takeFallback(fallbacks, home, replicas); fallback != null; fallback = takeFallback(fallbacks, home, replicas)) {
        try {
          await store(fallback, [owner])
          this.components.metrics?.sloppyWrites.inc()
          trace?.note('hint', `stored as a hint for ${shortPeer(owner)}`, fallback.peerId.toString())
          this.log('stored %k on %p as a hint for %s', key, fallback.peerId, shortPeer(owner))
          return
        } catch (err) {
          if (isAborted(options)) throw err
          cause = err as Error
        }
      }
      throw cause
    }

    const stores = others.map(replica => ({ peer: replica.peerId.toString(), promise: storeFor(replica) }))
    if (selfIsHome) stores.unshift({ peer: this.self, promise: traced(trace, this.self, 'local write', local.durable) })
    if (trace != null) for (const s of stores) trace.track(s.promise)
    for (const s of stores) s.promise.catch(expected(this.log, `store of ${shortPeer(s.peer)}`))

    // W is never capped: with fewer replicas than W the write still goes to every one that exists,
    // then fails with the count of durable copies (settle), without waiting for the deadline
    let acked: Awaited<ReturnType<typeof waitForQuorum<void>>>
    try {
      acked = await waitForQuorum(stores, put.w, { op: 'put', unit: 'acks', n: put.n, alone: put.n > 1 && preference.length === 1, partial: this.viewPartial(), settle: true })
    } catch (err) {
      throw refusedByReplicas(err, put)
    }
    trace?.note('quorum', `${acked.length} of ${put.w} acks: ${acked.map(a => shortPeer(a.peer)).join(', ')}`)
    return { context: local.clientContext, acks: acked.length, replicas: replicas.length, n: put.n, coordinator: this.self }
  }

  /**
   * The local half of a coordinated write: one atomic read-modify-write of the key. Resolves as
   * soon as the new record is made (with the delta to send); `durable` settles when it is stored.
   */
  private async writeLocal (key: Uint8Array, put: ForwardedPut, hintFor: string[] | undefined, options: AbortOptions): Promise<PreparedWrite> {
    let out: { delta: SiblingSet, clientContext: CausalContext } | undefined
    const prepared = Promise.withResolvers<{ delta: SiblingSet, clientContext: CausalContext }>()
    const durable = this.components.engine.update(key, async current => {
      // the actor is ours for this key only while we keep its record: a key held anew gets a
      // fresh actor, and so does one whose actor the engine retired (a write of it may have left
      // without being stored here), so no dot is ever issued twice (Riak KV679)
      const actor = await this.actors.for(current?.actor, options)
      const set = current?.set ?? emptySiblingSet()
      // honour only the part of the client's context this replica can vouch for: a forged or
      // corrupt token then cannot make replicas drop writes nobody saw (the worst case is a sibling)
      let context = meetContexts(put.context, set.context)
      if (put.condition != null) {
        // checked under the key's lock, after the catch-up: nothing is stored when it fails
        const unmet = unmetBy(set, put.context, put.condition)
        if (unmet.length > 0) throw new PreconditionFailedError(preconditionMessage(key, put.condition, unmet))
        // a create supersedes the tombstones there (the check saw that they are all there is)
        if (put.condition === 'if-none-match') context = set.context
      }
      const result = applyWrite(set, { dot: nextDot(set, actor), value: put.value, timestamp: Date.now(), deleted: put.deleted, context })
      out = { delta: result.delta, clientContext: result.clientContext }
      const hints = mergeHints(current?.hintFor, hintFor)
      // a hinted copy keeps the peer that sent it (its hinted-storage quota still holds it)
      return { set: result.state, actor, hintFor: hints, ...(hints != null && current?.hintFrom != null ? { hintFrom: current.hintFrom } : {}) }
    }, {
      signal: options.signal,
      onPrepared: () => {
        if (out == null) prepared.reject(new Error('local write produced no result'))
        else prepared.resolve(out)
      }
    })
    // a failure before the record was made fails the write; one after it fails only the local copy
    durable.catch((err: unknown) => { prepared.reject(err) })
    const stored = durable.then(() => {})
    // observed where it counts (an ack, or a hinted copy standing in); never an unhandled rejection
    stored.catch(expected(this.log.trace, 'the local copy'))
    return { ...await prepared.promise, durable: stored }
  }

  /** Merges the states of `replicas` into the local copy (each within the replica deadline). */
  private async catchUp (key: Uint8Array, replicas: PlacedPeer[], options: AbortOptions): Promise<void> {
    const states = await Promise.allSettled(replicas.map(async replica => this.readReplica(replica, key, options)))
    let merged = emptySiblingSet()
    for (const state of states) {
      if (state.status === 'fulfilled' && state.value != null) merged = mergeSiblingSets(merged, state.value)
    }
    await mergeIntoLocal(this.components.engine, key, merged, options)
  }

  private async readReplica (replica: PlacedPeer, key: Uint8Array, options: AbortOptions): Promise<SiblingSet | undefined> {
    if (replica.peerId.equals(this.components.peerId)) {
      return (await this.components.engine.get(key, options))?.set
    }
    const response = await this.components.rpc.request(replica.peerId, { type: 'read', key }, options)
    if (response.status === 'not-found') return undefined
    if (response.status === 'error') throw remoteError(response, replica.peerId)
    return response.state ?? emptySiblingSet()
  }

  /** whether this peer's member view may be partial (it has not joined its bootstrap peers yet) */
  private viewPartial (): boolean {
    return this.components.placement.viewMayBePartial?.() === true
  }

  /** whether `replicas` is this peer alone (it knows no other live peer) */
  private alone (replicas: PlacedPeer[]): boolean {
    return replicas.length === 1 && replicas[0]?.peerId.equals(this.components.peerId) === true
  }

  private requestSignal (options: AbortOptions): AbortSignal & { clear(): void } {
    const signal = anySignal([options.signal, AbortSignal.timeout(this.requestTimeout)])
    setMaxListeners(Infinity, signal)
    return signal
  }

  private checkKey (key: Uint8Array): void {
    if (key.byteLength === 0) throw new KeyTooLargeError('the key is empty: keys are 1 byte to 1 KiB')
    if (key.byteLength > this.maxKeyBytes) {
      throw new KeyTooLargeError(`key of ${key.byteLength} bytes is longer than the limit of ${this.maxKeyBytes} bytes`)
    }
  }
}

/** What a refused condition says: which condition, and how many versions it did not see. */
function preconditionMessage (key: Uint8Array, condition: WriteCondition, unmet: Sibling[]): string {
  const live = unmet.filter(s => !s.deleted).length
  const versions = `${unmet.length} version${unmet.length === 1 ? '' : 's'}${live < unmet.length ? ` (${unmet.length - live} of them deletes)` : ''}`
  const name = new TextDecoder().decode(key)
  return condition === 'if-none-match'
    ? `precondition failed: key "${name}" already has a value (${versions}); If-None-Match: * creates only a key without one (read it, then write with its context)`
    : `precondition failed: key "${name}" changed since the context was read: ${versions} it has not seen; read it again and write with the new context`
}

/**
 * A failed conditional write's error: when replicas refused its condition it is a
 * PreconditionFailedError (with every cause kept in the message), else the quorum error as it is.
 */
function refusedByReplicas (err: unknown, put: ForwardedPut): unknown {
  if (put.condition == null || !(err instanceof AggregateError)) return err
  const refused = err.errors.filter((e: unknown) => (e as Error).name === 'PreconditionFailedError')
  if (refused.length === 0) return err
  return new PreconditionFailedError(`precondition failed: ${refused.length} home replica${refused.length === 1 ? '' : 's'} hold a version this write did not see (a concurrent write got there first); ${(err as Error).message}. Copies this write made before it was refused stay, as siblings of the other write, never in its place`, { cause: err })
}

/** A replica's read, for a trace. */
function describeRead (state: SiblingSet | undefined): string {
  return state == null ? 'not found' : `${state.siblings.length} version${state.siblings.length === 1 ? '' : 's'}`
}

function isAborted (options: AbortOptions): boolean {
  return options.signal?.aborted === true
}

function checkQuorum (n: number, q: number, name: 'r' | 'w'): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw new InvalidParametersError(`n must be a whole number from 1 to ${MAX_N}, got ${n}`)
  if (!Number.isInteger(q) || q < 1 || q > n) throw new InvalidParametersError(`${name} must be a whole number from 1 to n (${n}), got ${q}`)
}
