/**
 * The replica RPC on `/p2pstore/kv/1.0.0`: outbound requests over one long-lived stream per peer
 * (DESIGN 7: a new stream per request costs a protocol negotiation round trip, ~8× the bare round
 * trip), and the inbound side that decodes, validates and dispatches each request to a handler.
 * Malformed or oversized frames reset the stream: the daemon lives on and nothing is stored.
 *
 * @packageDocumentation
 */

import { InvalidMessageError, InvalidParametersError, NotStartedError, TimeoutError } from '@libp2p/interface'
import { setMaxListeners } from 'main-event'
import { ChannelPool, FrameReader, RequestChannel, frameOffence, isEndOfStream } from '../../channel/index.ts'
import { KV_CLOSED_RETRIES, KV_MAX_IN_FLIGHT, KV_STREAMS_PER_CONNECTION, PENALTY_SLOW_READER, PROTOCOL_KV } from '../../constants.ts'
import { DEFAULT_KV_LIMITS, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../protocol/index.ts'
import { KvQuotas } from '../../quota/index.ts'
import { expected } from '../../tasks/index.ts'
import { errorResponse } from './errors.ts'
import type { KvHandlers, KvMessageHandler } from './types.ts'
import type { InboundBudget, OutboundBudget, Penaliser } from '../../channel/index.ts'
import type { PeerMetrics } from '../../metrics/index.ts'
import type { KvLimits, KvRequest, KvResponse } from '../../protocol/index.ts'
import type { KvQuotasInit } from '../../quota/index.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandlerOptions } from '@libp2p/interface'

export type { KvRequest, KvResponse }
export type { KvHandlers, KvMessageHandler, KvRequestOf } from './types.ts'
export { replicaHandlers } from './handlers/index.ts'
export type { ReplicaHandlersComponents } from './handlers/index.ts'
export { expectOk, remoteError } from './errors.ts'

/** The outbound channel to one peer. */
type KvChannel = RequestChannel<KvRequest, KvResponse>

/** What the RPC needs from libp2p (a libp2p node fits). */
export interface KvRpcComponents {
  logger: ComponentLogger
  network: {
    handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
    dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
  }
  /** Who may send requests (a closed network's roster); others' streams are reset unread. @default everyone */
  admission?: { admits(peer: PeerId): boolean }
  /** where requests, their latency, streams and requests held back by quotas are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'rpc' | 'replicaRequests' | 'streamsOpened' | 'quotaThrottled'>
  /**
   * The connection budget: every request, sent or served, marks work with its peer in flight, so
   * that the peer's connection is not trimmed under it. @default none
   */
  connections?: { acquire(peer: PeerId): () => void }
  /**
   * Where the bytes of frames still arriving count, per peer and in total: a stream that would
   * take a peer past its share is reset (issue #19). @default none (each stream bounded by its frame size only)
   */
  inboundBudget?: InboundBudget
  /**
   * Where a peer that sends a malformed frame, or one over the size limit, is penalised (its
   * stream is reset either way); enough of them ban it (src/standing, issue #19). @default none
   */
  standing?: Penaliser
}

/** Options of the RPC. */
export interface KvRpcInit {
  /** answers inbound requests: one handler per request type (see `replicaHandlers`) */
  handlers: KvHandlers
  /** largest frame accepted or sent. @default MAX_KV_MESSAGE_BYTES */
  maxMessageBytes: number
  /** limits on values, siblings and contexts in every message. @default DEFAULT_KV_LIMITS */
  limits?: KvLimits
  /** deadline of an outbound request. @default REPLICA_REQUEST_TIMEOUT */
  requestTimeout: number
  /** an inbound stream idle for this long is closed (the peer reopens it on demand). @default KV_READ_TIMEOUT */
  idleTimeout: number
  /** most requests one inbound stream may have in flight; past it the stream is not read. @default KV_MAX_IN_FLIGHT */
  maxInFlight?: number
  /**
   * What one peer may make this one do (issue #19): requests and frame bytes a second, requests in
   * flight, and a global request rate. A peer over quota is paced: its stream is paused (no window
   * updates, so its sender stops) until the request fits — never queued without bound, never
   * dropped. @default the KvQuotas defaults (20 000 requests/s and 64 MiB/s per peer, …)
   */
  quotas?: KvQuotasInit
  /**
   * Most unsent answer bytes an inbound stream may hold before further answers wait, and how
   * long they may wait for a peer that reads none before its stream is reset and it is
   * penalised (issue #19). @default unbounded
   */
  writeBuffer?: { maxBuffered: number, slowReaderTimeout: number, outbound?: OutboundBudget }
}

/**
 * The errors of a request whose connection or stream closed or was reset under it — not a
 * timeout, not an abort, not an error answer, not a failed dial: sending it again over a new
 * channel may succeed.
 */
const CLOSED_UNDER = new Set(['StreamResetError', 'StreamAbortedError', 'StreamStateError', 'StreamClosedError', 'UnexpectedEOFError', 'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError'])

/** Whether `err` says the request's connection or stream closed under it (see CLOSED_UNDER). */
export function isClosedUnder (err: unknown): boolean {
  return err instanceof Error && CLOSED_UNDER.has(err.name)
}

/** The `/p2pstore/kv/1.0.0` client and server of one peer. */
export class KvRpc implements Startable {
  private readonly components: KvRpcComponents
  private readonly init: KvRpcInit
  private readonly log: Logger
  /** outbound channels by peer */
  private readonly channels = new ChannelPool<KvChannel>(async (peer, options) => this.dial(peer, options))
  private readonly inbound = new Set<Stream>()
  /** what each peer may make this one do on the kv protocol */
  readonly quotas: KvQuotas
  private shutdown = new AbortController()
  private started = false

  constructor (components: KvRpcComponents, init: KvRpcInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('p2pstore:replication:rpc')
    this.quotas = new KvQuotas({ metrics: components.metrics, standing: components.standing }, init.quotas)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    await this.components.network.handle(PROTOCOL_KV, (stream, connection) => {
      if (this.components.admission?.admits(connection.remotePeer) === false) {
        // defence in depth: the connection gater should not have let a non-member connect at all
        this.log('refusing kv stream from %p: not a member', connection.remotePeer)
        stream.abort(new InvalidMessageError('not a member of this network'))
        return
      }
      void this.serve(stream, connection.remotePeer)
    }, { maxInboundStreams: KV_STREAMS_PER_CONNECTION, maxOutboundStreams: KV_STREAMS_PER_CONNECTION })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort()
    await this.components.network.unhandle(PROTOCOL_KV)
    const closing = new Error('peer is stopping')
    this.channels.closeAll(closing)
    for (const stream of this.inbound) stream.abort(closing)
    this.inbound.clear()
  }

  /**
   * Sends a request to `peer` over the shared stream (opened, or reopened after a failure, on
   * demand) with a deadline of `requestTimeout` joined with `options.signal` and shutdown.
   */
  async request (peer: PeerId, request: KvRequest, options: AbortOptions = {}): Promise<KvResponse> {
    const metrics = this.components.metrics
    const started = metrics == null ? 0 : performance.now()
    const reply = this.send(peer, request, options)
    return metrics == null ? reply : metrics.rpc('kv', request.type, started, reply)
  }

  /**
   * One request within one deadline. A request whose connection or stream closed under it (the
   * connection budget trims idle connections; a peer may close its side) is sent again over a new
   * channel while the deadline lasts, at most KV_CLOSED_RETRIES times: every request type is
   * idempotent (reads, merges of sibling sets, summaries, digests) but a forwarded put
   * (`coordinate`, which makes a new dot), retried only when its frame provably never left.
   */
  private async send (peer: PeerId, request: KvRequest, options: AbortOptions): Promise<KvResponse> {
    const release = this.components.connections?.acquire(peer)
    const timeout = this.init.requestTimeout
    const deadline = Date.now() + timeout
    try {
      for (let attempt = 0; ; attempt++) {
        let sent = false
        // the usual case is an open channel: its request keeps the deadline with one timer and only
        // listens to the caller's signal (shutdown closes every channel, which fails its requests) —
        // joining three signals per request cost more CPU than the rest of a replica message
        const left = attempt === 0 ? timeout : Math.max(1, deadline - Date.now())
        try {
          const channel = this.channels.get(peer) ?? await this.openWithDeadline(peer, options, left)
          return await channel.request(request, { signal: options.signal, timeout: attempt === 0 ? left : Math.max(1, deadline - Date.now()), onSent: () => { sent = true } })
        } catch (err) {
          if (attempt >= KV_CLOSED_RETRIES || !this.started || options.signal?.aborted === true || Date.now() >= deadline) throw err
          if (!isClosedUnder(err) || (request.type === 'coordinate' && sent)) throw err
          this.log('%s request to %p: its connection closed (%s), trying again', request.type, peer, (err as Error).name)
        }
      }
    } finally {
      release?.()
    }
  }

  private async openWithDeadline (peer: PeerId, options: AbortOptions, timeout: number): Promise<KvChannel> {
    if (!this.started) throw new NotStartedError('the kv rpc is stopped')
    return this.channels.open(peer, { timeout, signals: [this.shutdown.signal, options.signal] })
  }

  /** A new channel over a new stream to `peer`. */
  private async dial (peer: PeerId, options: AbortOptions): Promise<KvChannel> {
    const stream = await this.components.network.dialProtocol(peer, PROTOCOL_KV, options)
    this.components.metrics?.streamsOpened.inc({ protocol: 'kv', direction: 'outbound' })
    const limits = this.init.limits ?? DEFAULT_KV_LIMITS
    const channel = new RequestChannel<KvRequest, KvResponse>(peer, stream, {
      name: 'kv',
      encode: (id, request) => encodeRequest(BigInt(id), request),
      decode: frame => {
        const { id, response } = decodeResponse(frame, limits)
        return { id: Number(id), response }
      },
      describe: request => `a ${request.type} request`,
      maxFrame: this.init.maxMessageBytes,
      log: this.log,
      budget: this.components.inboundBudget,
      // a replica that reads none of what we send it has its channel reset (and reopened on
      // demand); not penalised: an overloaded honest replica looks the same from here
      writeGuard: this.init.writeBuffer,
      standing: this.components.standing
    })
    // a channel opened after stop() began would outlive it
    if (!this.started) channel.close(new Error('peer is stopping'))
    return channel
  }

  /**
   * Reads requests from one inbound stream and answers each as soon as its handler is done. Before
   * it serves a request it waits for room in the stream's requests in flight and in the peer's
   * quotas; meanwhile the sender is held back by flow control (see StreamPacer), so what the peer
   * sends stays within the stream's window (yamux: at most 16 MiB), counted by the inbound
   * budget, and nothing queues without bound.
   */
  private async serve (stream: Stream, from: PeerId): Promise<void> {
    this.inbound.add(stream)
    this.components.metrics?.streamsOpened.inc({ protocol: 'kv', direction: 'inbound' })
    // waits end when the stream closes or the peer stops
    const closed = new AbortController()
    const onClose = (): void => { closed.abort() }
    stream.addEventListener('close', onClose, { once: true })
    // stop() aborts inbound streams itself
    const reader = new FrameReader(stream, {
      maxFrame: this.init.maxMessageBytes,
      idleTimeout: this.init.idleTimeout,
      idleError: () => new TimeoutError(`no request from ${from} for ${this.init.idleTimeout} ms`),
      shutdown: this.shutdown.signal,
      budget: this.components.inboundBudget == null ? undefined : { budget: this.components.inboundBudget, peer: from },
      peer: from,
      writeGuard: this.init.writeBuffer == null
        ? undefined
        : {
            ...this.init.writeBuffer,
            onSlowReader: err => {
              this.log('reset kv stream from %p - %e', from, err)
              this.components.standing?.penalise(from, 'slow-reader', PENALTY_SLOW_READER)
            }
          }
    })
    const pacer = new StreamPacer(stream, reader, this.init.maxInFlight ?? KV_MAX_IN_FLIGHT, AbortSignal.any([this.shutdown.signal, closed.signal]))
    try {
      for (;;) {
        const frame = await reader.read()
        // decoding validates every field: a malformed frame ends here, before any handler runs
        const { id, request } = decodeRequest(frame, this.init.limits ?? DEFAULT_KV_LIMITS)
        const ticket = await pacer.room(async () => this.quotas.acquire(from, frame.byteLength, { signal: pacer.signal, onWait: () => { pacer.pause() } }))
        void this.answer(reader, id, request, from).finally(() => {
          ticket.release()
          pacer.ended()
        })
      }
    } catch (err) {
      const e = err as Error
      if (isEndOfStream(stream, e) || this.shutdown.signal.aborted || closed.signal.aborted) {
        await stream.close().catch(expected(this.log, 'closing a kv stream'))
      } else {
        this.log.error('closing kv stream from %p - %e', from, e)
        const offence = frameOffence(e)
        if (offence != null) this.components.standing?.penalise(from, offence.reason, offence.points)
        stream.abort(e)
      }
    } finally {
      stream.removeEventListener('close', onClose)
      reader.close()
      this.inbound.delete(stream)
    }
  }

  private async answer (out: FrameReader, id: bigint, request: KvRequest, from: PeerId): Promise<void> {
    const release = this.components.connections?.acquire(from)
    try {
      await this.reply(out, id, request, from)
    } finally {
      release?.()
    }
  }

  private async reply (out: FrameReader, id: bigint, request: KvRequest, from: PeerId): Promise<void> {
    let response: KvResponse
    try {
      response = await this.dispatch(request, from, { signal: this.shutdown.signal })
    } catch (err) {
      // a refused condition is an answer, not a failure of this peer
      const name = (err as Error).name
      if (name === 'PreconditionFailedError') this.log('%s request from %p refused - %e', request.type, from, err)
      else if (name !== 'AbortError') this.log.error('%s request from %p failed - %e', request.type, from, err)
      response = errorResponse(err)
    }
    this.components.metrics?.replicaRequests.inc({ type: request.type, outcome: response.status === 'not-found' ? 'not_found' : response.status })
    try {
      await out.write(encodeResponse(id, response))
    } catch (err) {
      this.log('could not answer %p - %e', from, err)
    }
  }

  /** The handler of the request's type from the dispatch map, or an error for a type it lacks. */
  private async dispatch (request: KvRequest, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    const handler = this.init.handlers[request.type] as KvMessageHandler | undefined
    if (handler == null) throw new InvalidParametersError(`this peer does not answer ${request.type} requests`)
    return handler.handle(request, from, options)
  }
}

/** The flow control of libp2p's AbstractMessageStream (a yamux stream has it; the Stream interface does not name it). */
interface FlowControl {
  sendPause(): void
  sendResume(): void
}

/**
 * The pacing of one inbound kv stream: its requests in flight, and holding its sender back while
 * a request waits for room, in the stream or in the peer's quotas. Held back is flow control only
 * (the muxer's `sendPause()`: yamux sends no window updates, so the sender stops within the window
 * it was granted): what was granted still arrives and is read into the frame reader's buffer,
 * where the inbound budget counts it. libp2p's `stream.pause()` would stop that too, and leave up
 * to a window per stream outside the budget; it is the fallback for a stream without `sendPause`.
 */
class StreamPacer {
  readonly signal: AbortSignal
  private readonly stream: Stream
  private readonly reader: FrameReader
  private readonly maxInFlight: number
  private inFlight = 0
  private paused = false
  private freed?: () => void

  constructor (stream: Stream, reader: FrameReader, maxInFlight: number, signal: AbortSignal) {
    this.stream = stream
    this.reader = reader
    this.maxInFlight = maxInFlight
    this.signal = signal
  }

  /**
   * Holds the sender back until the current wait ends. A handler only gets its stream once
   * protocol negotiation answered on it, so a yamux stream is established here (its ACK sent).
   */
  pause (): void {
    if (this.paused || this.stream.readStatus !== 'readable') return
    const flow = this.stream as Stream & Partial<FlowControl>
    if (typeof flow.sendPause === 'function') flow.sendPause()
    else this.stream.pause()
    this.paused = true
  }

  /**
   * Waits for a slot in flight, then for `quota` (paused while either waits), and counts the
   * request in flight. Rejects when the stream closes or the peer stops.
   */
  async room<T>(quota: () => Promise<T>): Promise<T> {
    try {
      while (this.full()) {
        this.pause()
        await this.slot()
      }
      const ticket = await quota()
      this.inFlight++
      return ticket
    } finally {
      if (this.paused) {
        this.paused = false
        const flow = this.stream as Stream & Partial<FlowControl>
        if (this.stream.readStatus === 'paused') this.stream.resume()
        else if (this.stream.readStatus === 'readable' && typeof flow.sendResume === 'function') flow.sendResume()
        // the wait was ours, not the peer being idle
        this.reader.refresh()
      }
    }
  }

  /** A request counted by `room` was answered. */
  ended (): void {
    this.inFlight--
    const freed = this.freed
    this.freed = undefined
    freed?.()
  }

  private full (): boolean {
    return this.inFlight >= this.maxInFlight
  }

  private async slot (): Promise<void> {
    const signal = this.signal
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      this.freed = () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
