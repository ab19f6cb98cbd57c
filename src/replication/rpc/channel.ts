import { InvalidMessageError, TimeoutError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeResponse, encodeRequest } from '../../protocol/index.ts'
import type { KvLimits, KvRequest, KvResponse } from '../../protocol/index.ts'
import type { AbortOptions, Logger, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

interface Pending {
  resolve(response: KvResponse): void
  reject(err: Error): void
}

/**
 * One outbound long-lived `/p2pstore/kv/1.0.0` stream to one peer, carrying many requests at once.
 * Requests get increasing ids; a single read loop hands each response to the request with its id.
 * When the stream fails every pending request fails with the cause and the channel is `closed`;
 * the owner then opens a new one on the next request.
 */
export class Channel {
  readonly peer: PeerId
  private readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly pending = new Map<bigint, Pending>()
  private readonly log: Logger
  private readonly limits: KvLimits
  private nextId = 1n
  private failure?: Error

  constructor (peer: PeerId, stream: Stream, maxMessageBytes: number, limits: KvLimits, log: Logger) {
    this.peer = peer
    this.limits = limits
    this.stream = stream
    this.log = log
    // a whole frame may sit in the read buffer before it is decoded
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 2 * maxMessageBytes)
    this.lp = lpStream(stream, { maxDataLength: maxMessageBytes })
    void this.readLoop()
  }

  /** true once the stream failed or closed; the channel takes no more requests */
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
  async request (request: KvRequest, options: AbortOptions & { timeout?: number } = {}): Promise<KvResponse> {
    if (this.failure != null) throw this.failure
    const signal = options.signal
    signal?.throwIfAborted()
    const id = this.nextId++
    const { promise, resolve, reject } = Promise.withResolvers<KvResponse>()
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
        reject(new TimeoutError(`no answer to a ${request.type} request from ${this.peer} within ${options.timeout} ms`))
      }, options.timeout)
    try {
      const written = this.lp.write(encodeRequest(id, request), signal == null ? undefined : { signal })
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

  /** Closes the stream (pending requests fail). */
  close (err: Error): void {
    this.fail(err)
    this.stream.abort(err)
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const frame = await this.lp.read()
        const { id, response } = decodeResponse(frame, this.limits)
        const waiter = this.pending.get(id)
        if (waiter == null) {
          // aborted by its caller, or an id we never sent: only the latter is a protocol error
          if (id >= this.nextId) throw new InvalidMessageError(`response to unknown request id ${id}`)
          continue
        }
        this.pending.delete(id)
        waiter.resolve(response)
      }
    } catch (err) {
      if (this.failure == null) {
        this.log('kv channel to %p ended - %e', this.peer, err)
        if ((err as Error).name === 'InvalidMessageError') this.stream.abort(err as Error)
      }
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    this.failure ??= err
    for (const waiter of this.pending.values()) waiter.reject(this.failure)
    this.pending.clear()
  }
}
