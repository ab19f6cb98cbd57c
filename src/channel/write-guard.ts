import { StreamStateError, TimeoutError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { OutboundBudget, OutboundShare } from './outbound-budget.ts'
import type { PeerId, Stream } from '@libp2p/interface'

/** Options of a WriteGuard. */
export interface WriteGuardInit {
  /**
   * Most unsent bytes the stream may hold: a frame waits until it fits (an empty buffer always
   * takes one frame, however large). @default DEFAULT_STREAM_WRITE_BUFFER (4 MiB)
   */
  maxBuffered: number
  /** the stream is reset when unsent bytes have waited this long without the peer reading any. @default DEFAULT_SLOW_READER_TIMEOUT (10 s) */
  slowReaderTimeout: number
  /** called once, when the guard resets the stream for its peer not reading */
  onSlowReader?(err: Error): void
  /**
   * where the stream's unsent bytes count with its peer's other streams and every peer's: a frame
   * waits until it fits there too (see OutboundBudget). @default not counted
   */
  outbound?: OutboundBudget
}

/**
 * Every length-prefixed frame written to one stream goes through its guard (issue #19): a peer
 * that does not read (a paused stream, a window never reopened) makes us hold at most
 * `maxBuffered` unsent bytes on the stream, or one frame if that is larger, instead of every
 * answer it asked for; writers wait their turn in order. Once the unsent bytes have waited
 * `slowReaderTimeout` for the stream to drain, the stream is reset with a `TimeoutError` and
 * `onSlowReader` is told. libp2p's own write buffer is unbounded unless set. With
 * `init.outbound` the unsent bytes also count against the remote peer's share and the total of an
 * OutboundBudget, and a frame waits for room there too.
 */
export class WriteGuard {
  private readonly stream: Stream
  private readonly init: WriteGuardInit
  private turn: Promise<void> = Promise.resolve()
  private timer?: ReturnType<typeof setTimeout>
  private closed = false
  private watching = false
  /** the stream's part of `init.outbound`, released when the stream ends */
  private readonly share?: OutboundShare
  /** aborted when the stream ends or the guard closes: a write waiting for the budget gives up */
  private readonly ended = new AbortController()
  /** the most unsent bytes the stream held after a write (tests, metrics) */
  mostBuffered = 0

  /** `peer` is the stream's remote peer, whose share of `init.outbound` it charges. */
  constructor (stream: Stream, init: WriteGuardInit, peer?: PeerId | string) {
    this.stream = stream
    this.init = init
    if (init.outbound != null) {
      const share = this.share = init.outbound.share(peer ?? 'unknown peer')
      const sync = (): void => { share.set(stream.writeBufferLength) }
      // a drain makes the stream send again in a microtask: what is left after that counts
      const onDrain = (): void => { queueMicrotask(sync) }
      const onClose = (): void => {
        stream.removeEventListener('idle', sync)
        stream.removeEventListener('drain', onDrain)
        share.release()
        this.ended.abort(new StreamStateError('the stream closed with answers unsent'))
      }
      stream.addEventListener('idle', sync)
      stream.addEventListener('drain', onDrain)
      stream.addEventListener('close', onClose, { once: true })
      if (stream.status !== 'open') onClose()
    }
  }

  /** unsent bytes the stream holds now */
  get buffered (): number {
    return this.stream.writeBufferLength
  }

  /**
   * Writes `body` with its varint length prefix once there is room, and resolves once the stream
   * has taken it (not once it is sent); rejects if the stream ends first.
   */
  async write (body: Uint8Array | Uint8ArrayList): Promise<void> {
    const frame = new Uint8ArrayList(varint(body.byteLength), body)
    const mine = this.turn.then(async () => this.send(frame))
    // the next writer waits for this one, whether it succeeds or not
    this.turn = mine.catch(() => {})
    return mine
  }

  /** Stops the timer (the stream is the owner's to close). */
  close (): void {
    this.closed = true
    this.disarm()
    // writes still waiting for the budget give up; bytes already taken count until they are sent
    // or the stream ends
    this.ended.abort(new StreamStateError('the write guard closed'))
    if (this.share != null && (this.stream.status !== 'open' || this.stream.writeBufferLength === 0)) this.share.release()
  }

  private async send (frame: Uint8ArrayList): Promise<void> {
    // an empty buffer takes any frame; otherwise the frame must fit under the bound
    while (this.stream.writeBufferLength > 0 && this.stream.writeBufferLength + frame.byteLength > this.init.maxBuffered) {
      await this.drained()
    }
    let more: boolean
    if (this.share == null) {
      more = this.stream.send(frame)
    } else {
      await this.share.reserve(frame.byteLength, this.ended.signal)
      try {
        more = this.stream.send(frame)
      } finally {
        this.share.set(this.stream.writeBufferLength)
      }
    }
    this.mostBuffered = Math.max(this.mostBuffered, this.stream.writeBufferLength)
    // bytes left unsent: the slow-reader timer runs until the stream drains
    if (!more) this.watchDrain()
  }

  /** Waits for the stream to drain, with the slow-reader timer running meanwhile. */
  private async drained (): Promise<void> {
    this.watchDrain()
    await this.nextDrain()
  }

  /** Arms the slow-reader timer until the stream next drains (or ends). */
  private watchDrain (): void {
    this.arm()
    if (this.watching) return
    this.watching = true
    const done = (): void => {
      this.watching = false
      this.disarm()
      // a drain event says the stream can send again, and it sends in a microtask: what is still
      // unsent after that is watched afresh (the peer read some, then stopped)
      queueMicrotask(() => {
        if (!this.closed && this.stream.status === 'open' && this.stream.writeBufferLength > 0) this.watchDrain()
      })
    }
    this.nextDrain().then(done, done)
  }

  /**
   * The stream's next 'drain' event, or its end (rejected). Not `onDrain()`: that resolves at once
   * whenever the stream does not flag itself as needing a drain, which a stream that is not
   * writable (half-closed by us, or still opening) does not — and a waiting writer would spin.
   */
  private async nextDrain (): Promise<void> {
    const stream = this.stream
    if (stream.status !== 'open') throw new StreamStateError(`the stream is ${stream.status}`)
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        stream.removeEventListener('close', onClose)
        resolve()
      }
      const onClose = (): void => {
        stream.removeEventListener('drain', onDrain)
        reject(new StreamStateError('the stream closed with answers unsent'))
      }
      stream.addEventListener('drain', onDrain, { once: true })
      stream.addEventListener('close', onClose, { once: true })
    })
  }

  private arm (): void {
    if (this.timer != null || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      const err = new TimeoutError(`the peer read none of the ${this.stream.writeBufferLength} bytes waiting for it for ${this.init.slowReaderTimeout} ms: a slow reader`)
      this.stream.abort(err)
      this.init.onSlowReader?.(err)
    }, this.init.slowReaderTimeout)
    this.timer.unref?.()
  }

  private disarm (): void {
    if (this.timer == null) return
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** The unsigned varint of `n` (a frame's length prefix). */
function varint (n: number): Uint8Array {
  const out: number[] = []
  let rest = n
  while (rest >= 128) {
    out.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
  return Uint8Array.from(out)
}
