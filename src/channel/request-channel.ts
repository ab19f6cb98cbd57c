import { InvalidMessageError, TimeoutError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { frameOffence } from './penalty.ts'
import { WriteGuard } from './write-guard.ts'
import type { BudgetWatch, InboundBudget } from './inbound-budget.ts'
import type { Penaliser } from './penalty.ts'
import type { WriteGuardInit } from './write-guard.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** How a protocol frames its requests and unframes its responses, and how the channel reports. */
export interface RequestChannelInit<Req, Res> {
  /** the protocol's name in errors and logs ("kv", "membership") */
  name: string
  /** one request framed with its id (the frame goes out length-prefixed) */
  encode(id: number, request: Req): Uint8Array
  /** one response frame; throws on a malformed frame (an InvalidMessageError resets the stream) */
  decode(frame: Uint8ArrayList): { id: number, response: Res }
  /** the request in a timeout message: "a get request", "a membership ping" */
  describe(request: Req): string
  /** largest frame sent or accepted */
  maxFrame: number
  /** where the end of the stream is logged */
  log(formatter: string, ...args: unknown[]): void
  /**
   * a channel unused this long (no request sent) ends: its stream is half-closed and it takes no
   * more requests. @default never
   */
  idleTimeout?: number
  /** ids run 1…maxId, then wrap to 1. @default Number.MAX_SAFE_INTEGER */
  maxId?: number
  /**
   * A response with id 0 answers the oldest request in flight: the rule of a peer that answers one
   * exchange per stream and knows no ids (membership's 0.1.0). @default false (id 0 is dropped)
   */
  zeroIsOldest?: boolean
  /**
   * A response to an id this channel never sent (before ids wrapped) is a protocol error: the
   * stream is reset with an InvalidMessageError. With `false` it is dropped like a late reply.
   * @default true
   */
  rejectUnknownIds?: boolean
  /** where the bytes of responses still arriving count. @default not counted */
  budget?: InboundBudget
  /**
   * what requests written may leave unsent before they wait, and when a peer that reads none has
   * the stream reset, failing the channel (issue #19). @default unbounded
   */
  writeGuard?: WriteGuardInit
  /** where a peer that answers with a malformed or oversized frame is penalised (issue #19). @default none */
  standing?: Penaliser
}

/** Options of one request. */
export interface RequestOptions extends AbortOptions {
  /** its deadline in ms (TimeoutError after). @default none */
  timeout?: number
  /** told the size of the request's frame once it is encoded */
  onSent?(bytes: number): void
}

interface Pending<Res> {
  resolve(response: Res): void
  reject(err: Error): void
}

/**
 * One outbound long-lived stream to one peer carrying many requests at once: requests get ids 1, 2,
 * …; one read loop hands each response to the request with its id. When the stream fails or ends
 * every pending request fails with the cause and the channel is `closed`; its owner opens a new one
 * on the next request (see ChannelPool).
 *
 * A request that times out or is aborted leaves the channel open: its late reply is dropped by id
 * (a paused peer still holds its connection, and answers once resumed). A failed write fails the
 * channel, and with it the request.
 */
export class RequestChannel<Req, Res> {
  readonly peer: PeerId
  private readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly init: RequestChannelInit<Req, Res>
  private readonly pending = new Map<number, Pending<Res>>()
  private readonly maxId: number
  private readonly idle?: ReturnType<typeof setTimeout>
  private nextId = 1
  /** ids wrapped at least once: any id may then be a late reply */
  private wrapped = false
  private failure?: Error
  private readonly watch?: BudgetWatch
  private readonly guard?: WriteGuard

  constructor (peer: PeerId, stream: Stream, init: RequestChannelInit<Req, Res>) {
    this.peer = peer
    this.stream = stream
    this.init = init
    // before lpStream listens, so that no chunk goes uncounted
    this.watch = init.budget?.watch(stream, peer)
    this.maxId = init.maxId ?? Number.MAX_SAFE_INTEGER
    // a whole frame may sit in the read buffer before it is decoded, and so it may in the byte
    // stream under lpStream, whose own buffer stops at 4 MiB unless told otherwise: a frame larger
    // than that (a sibling set of five 1 MiB values) reset the stream (issue #19)
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 2 * init.maxFrame)
    this.lp = lpStream(stream, { maxDataLength: init.maxFrame, maxBufferSize: 2 * init.maxFrame })
    if (init.writeGuard != null) this.guard = new WriteGuard(stream, init.writeGuard, peer)
    const idleTimeout = init.idleTimeout
    if (idleTimeout != null) {
      this.idle = setTimeout(() => {
        this.fail(new TimeoutError(`${init.name} channel to ${peer} idle for ${idleTimeout} ms`))
        // half-close: the peer's read loop ends cleanly
        void this.stream.close().catch(() => { this.stream.abort(new TimeoutError(`${init.name} channel idle`)) })
      }, idleTimeout)
      this.idle.unref()
    }
    void this.readLoop()
  }

  /** true once the stream failed, ended or idled out; the channel takes no more requests */
  get closed (): boolean {
    return this.failure != null
  }

  /** how many requests wait for their response */
  get inFlight (): number {
    return this.pending.size
  }

  /**
   * Sends one request and resolves with its response within `timeout` ms (TimeoutError after). The
   * signal aborts only this request: its late response, if any, is dropped by id.
   */
  async request (request: Req, options: RequestOptions = {}): Promise<Res> {
    if (this.failure != null) throw this.failure
    const signal = options.signal
    signal?.throwIfAborted()
    this.idle?.refresh()
    const id = this.nextId
    if (id >= this.maxId) {
      this.nextId = 1
      this.wrapped = true
    } else {
      this.nextId = id + 1
    }
    const { promise, resolve, reject } = Promise.withResolvers<Res>()
    // the channel may fail while the write below is still pending: the rejection must not count as
    // unhandled in that window (it would crash the process); it is still awaited below
    promise.catch(() => {})
    this.pending.set(id, { resolve, reject })
    const onAbort = (): void => {
      this.pending.delete(id)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = options.timeout == null
      ? undefined
      : setTimeout(() => {
        this.pending.delete(id)
        reject(new TimeoutError(`no answer to ${this.init.describe(request)} from ${this.peer} within ${options.timeout} ms`))
      }, options.timeout)
    try {
      const frame = this.init.encode(id, request)
      options.onSent?.(frame.byteLength)
      const written = this.guard != null ? this.guard.write(frame) : this.lp.write(frame, signal == null ? undefined : { signal })
      // a failed write fails the channel, and with it this request: observed through `promise`
      written.catch(() => {})
      // the deadline covers a write held up by backpressure too
      await Promise.race([written, promise])
      return await promise
    } catch (err) {
      this.pending.delete(id)
      throw err
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Ends the stream at once (pending requests fail with `err`). */
  close (err: Error): void {
    this.fail(err)
    this.stream.abort(err)
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const frame = await this.lp.read()
        this.watch?.consumed(frame.byteLength)
        const { id, response } = this.init.decode(frame)
        // id 0 from a peer answering one exchange per stream: the oldest request is the one it read
        const key = id === 0 && this.init.zeroIsOldest === true ? this.pending.keys().next().value : id
        const waiter = key == null ? undefined : this.pending.get(key)
        if (key == null || waiter == null) {
          // timed out or aborted by its caller, or an id we never sent: only the latter is a protocol error
          if (this.init.rejectUnknownIds !== false && !this.wrapped && id >= this.nextId) {
            throw new InvalidMessageError(`response to unknown request id ${id}`)
          }
          continue
        }
        this.pending.delete(key)
        waiter.resolve(response)
      }
    } catch (err) {
      if (this.failure == null) {
        this.init.log('%s channel to %p ended - %e', this.init.name, this.peer, err)
        const offence = frameOffence(err)
        if (offence != null) this.init.standing?.penalise(this.peer, offence.reason, offence.points)
        if ((err as Error).name === 'InvalidMessageError') this.stream.abort(err as Error)
        // the remote closed its side: close ours too, so that a graceful close of the connection
        // (the connection budget trimming it) does not wait for this stream until its timeout
        else if (isEndOfStream(this.stream, err as Error)) void this.stream.close().catch(() => { this.stream.abort(err as Error) })
      }
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    clearTimeout(this.idle)
    this.guard?.close()
    this.watch?.close()
    this.failure ??= err
    for (const waiter of this.pending.values()) waiter.reject(this.failure)
    this.pending.clear()
  }
}

/** Whether `err` is the clean end of a stream between frames (the remote closed its side; not worth an error log). */
export function isEndOfStream (stream: Stream, err: Error): boolean {
  return err.name === 'UnexpectedEOFError' && stream.readStatus !== 'readable'
}
