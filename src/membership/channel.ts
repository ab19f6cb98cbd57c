import { TimeoutError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeMembershipMessage, encodeMembershipMessage } from '../protocol/index.ts'
import type { MembershipMessage } from '../protocol/index.ts'
import type { AbortOptions, Logger, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** A reply and the size of its frame (for the traffic counters). */
export interface ChannelReply {
  reply: MembershipMessage
  bytes: number
}

interface Pending {
  resolve(reply: ChannelReply): void
  reject(err: Error): void
}

/** Largest id before it wraps to 1 (the wire's uint32; 0 means "one exchange per stream"). */
const MAX_ID = 2 ** 32 - 1

/**
 * One outbound long-lived `/p2pstore/membership/1.0.0` stream to one member, carrying its probes,
 * indirect probes, push-pulls and leave. Requests get ids 1, 2, …; one read loop hands each
 * response to the request with its id. A response with id 0 comes from a peer that answers one
 * exchange per stream (version 0.1.0, or a tool): it goes to the oldest request in flight, and the
 * stream then ends. When the stream fails or ends every pending request fails with the cause and
 * the channel is `closed`; the owner opens a new one on the next request. A channel unused for
 * `idleTimeout` ms closes itself (its member was not probed for that long).
 *
 * A request that times out leaves the channel open: a paused member (SIGSTOP) still holds its
 * connection, and the replies it sends once resumed are dropped by id.
 */
export class MemberChannel {
  readonly peer: PeerId
  private readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly pending = new Map<number, Pending>()
  private readonly log: Logger
  private readonly idle: ReturnType<typeof setTimeout>
  private nextId = 1
  private failure?: Error

  constructor (peer: PeerId, stream: Stream, init: { maxFrame: number, idleTimeout: number, log: Logger }) {
    this.peer = peer
    this.stream = stream
    this.log = init.log
    // a whole frame may sit in the read buffer before it is decoded
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 2 * init.maxFrame)
    this.lp = lpStream(stream, { maxDataLength: init.maxFrame })
    this.idle = setTimeout(() => {
      this.fail(new TimeoutError(`membership channel to ${peer} idle for ${init.idleTimeout} ms`))
      // half-close: the member's read loop ends cleanly
      void this.stream.close().catch(() => { this.stream.abort(new TimeoutError('membership channel idle')) })
    }, init.idleTimeout)
    this.idle.unref()
    void this.readLoop()
  }

  /** true once the stream failed, ended or idled out; the channel takes no more requests */
  get closed (): boolean {
    return this.failure != null
  }

  /**
   * Sends one request and resolves with its response within `timeout` ms (TimeoutError after). The
   * signal aborts only this request; a late response is dropped by id.
   */
  async request (message: MembershipMessage, options: AbortOptions & { timeout: number, onSent?: (bytes: number) => void }): Promise<ChannelReply> {
    if (this.failure != null) throw this.failure
    const signal = options.signal
    signal?.throwIfAborted()
    this.idle.refresh()
    const id = this.nextId
    this.nextId = this.nextId >= MAX_ID ? 1 : this.nextId + 1
    const { promise, resolve, reject } = Promise.withResolvers<ChannelReply>()
    // the channel may fail while the write is pending: observed through `promise` below
    promise.catch(() => {})
    this.pending.set(id, { resolve, reject })
    const onAbort = (): void => {
      this.pending.delete(id)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => {
      this.pending.delete(id)
      reject(new TimeoutError(`no answer to a membership ${message.type} from ${this.peer} within ${options.timeout} ms`))
    }, options.timeout)
    try {
      const frame = encodeMembershipMessage({ ...message, id })
      options.onSent?.(frame.byteLength)
      const written = this.lp.write(frame, signal == null ? undefined : { signal })
      // a failed write fails the channel, and with it this request
      written.catch(() => {})
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
        const reply = decodeMembershipMessage(frame)
        const id = reply.id ?? 0
        // id 0: a peer answering one exchange per stream; the oldest request is the one it read
        const key = id === 0 ? this.pending.keys().next().value : id
        const waiter = key == null ? undefined : this.pending.get(key)
        if (key == null || waiter == null) {
          // timed out or aborted by its caller: dropped
          continue
        }
        this.pending.delete(key)
        waiter.resolve({ reply, bytes: frame.byteLength })
      }
    } catch (err) {
      if (this.failure == null) {
        this.log.trace('membership channel to %p ended - %e', this.peer, err)
        if ((err as Error).name === 'InvalidMessageError') this.stream.abort(err as Error)
      }
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    clearTimeout(this.idle)
    this.failure ??= err
    for (const waiter of this.pending.values()) waiter.reject(this.failure)
    this.pending.clear()
  }
}

/** Whether `err` is the clean end of a stream between frames (not worth an error log). */
export function isEndOfStream (stream: Stream, err: Error): boolean {
  return err.name === 'UnexpectedEOFError' && stream.readStatus !== 'readable'
}
