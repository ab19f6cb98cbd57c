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
 * Room one answer holds in its stream's bound (and its peer's share of the outbound budget) from
 * before it is made until the stream takes it (see `WriteGuard.room`).
 */
export interface AnswerRoom {
  /**
   * Writes the answer made with its varint length prefix, at once — its room was granted before it
   * was made — and resolves once the stream has taken it; its bytes then count as unsent. An answer
   * larger than its room is still written (it is counted at its size, and holds back the next
   * rooms). Rejects if the stream ended first; the room is given back either way.
   */
  write(body: Uint8Array | Uint8ArrayList): Promise<void>
  /** No answer will be written: gives the room back. A no-op once written, and a second time. */
  release(): void
}

/** Options of `WriteGuard.room`. */
export interface RoomOptions {
  /** gives up the wait (an AbortError, or the signal's reason) */
  signal?: AbortSignal
  /** told once if the room is not there at once (the server then holds its sender back) */
  onWait?(): void
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
 *
 * A server takes a `room()` before it starts making each answer, so that what a stream that cannot
 * drain makes us hold is bounded as a whole, not only its unsent part: rooms of answers being made
 * (at the size the server expects), answers made and not yet taken, and unsent bytes together stay
 * within `maxBuffered` (one answer goes whatever its size when the stream holds nothing), and count
 * against the peer's share and the total of `init.outbound`. A server that waits for a room before
 * it reads on holds the peer back by flow control instead of queueing its answers.
 */
export class WriteGuard {
  private readonly stream: Stream
  private readonly init: WriteGuardInit
  private turn: Promise<void> = Promise.resolve()
  /** the room judged before the next */
  private roomTurn: Promise<void> = Promise.resolve()
  private timer?: ReturnType<typeof setTimeout>
  private closed = false
  private watching = false
  /** the stream's part of `init.outbound`, released when the stream ends */
  private readonly share?: OutboundShare
  /** aborted when the stream ends or the guard closes: a write waiting for the budget gives up */
  private readonly ended = new AbortController()
  /** bytes of rooms not yet taken by the stream: answers being made (their room), or made (their size) */
  private pending = 0
  /** told when the stream may hold less: a drain, its buffer emptying, a room given back, its end */
  private readonly wakers = new Set<() => void>()
  /** the most unsent bytes the stream held after a write (tests, metrics) */
  mostBuffered = 0
  /** the most bytes the stream held at once: unsent, and rooms of answers made or being made (tests, metrics) */
  mostHeld = 0

  /** `peer` is the stream's remote peer, whose share of `init.outbound` it charges. */
  constructor (stream: Stream, init: WriteGuardInit, peer?: PeerId | string) {
    this.stream = stream
    this.init = init
    const wake = (): void => { this.wake() }
    // a drain makes the stream send again in a microtask: room is judged after that
    const wakeAfterDrain = (): void => { queueMicrotask(wake) }
    stream.addEventListener('idle', wake)
    stream.addEventListener('drain', wakeAfterDrain)
    stream.addEventListener('close', () => {
      stream.removeEventListener('idle', wake)
      stream.removeEventListener('drain', wakeAfterDrain)
      wake()
    }, { once: true })
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

  /** bytes the stream holds now: unsent, and rooms of answers made or being made */
  get held (): number {
    return this.stream.writeBufferLength + this.pending
  }

  /**
   * Waits until an answer of about `bytes` fits beside what the stream holds (unsent, and the
   * rooms of answers made or being made) under `maxBuffered` — or the stream holds nothing — and
   * then for room in the peer's share and the total of `init.outbound`; holds that room until the
   * answer is written or the room given back. Rooms are granted in order. Rejects if the stream
   * ends, or `options.signal` aborts, first.
   */
  async room (bytes: number, options: RoomOptions = {}): Promise<AnswerRoom> {
    // rooms are granted in order, one judged at a time
    const mine = this.roomTurn.then(async () => this.grantRoom(bytes, options))
    this.roomTurn = mine.then(() => {}, () => {})
    return mine
  }

  private async grantRoom (bytes: number, options: RoomOptions): Promise<AnswerRoom> {
    const { signal, onWait } = options
    let told = false
    const wait = (): void => {
      if (told) return
      told = true
      onWait?.()
    }
    while (this.held > 0 && this.held + bytes > this.init.maxBuffered) {
      wait()
      await this.change(signal)
    }
    signal?.throwIfAborted()
    if (this.stream.status !== 'open') throw new StreamStateError(`the stream is ${this.stream.status}`)
    if (this.share != null) await this.share.reserve(bytes, signal == null ? this.ended.signal : AbortSignal.any([signal, this.ended.signal]), wait)
    if (this.stream.status !== 'open') {
      this.share?.hold(-bytes)
      throw new StreamStateError(`the stream is ${this.stream.status}`)
    }
    this.pending += bytes
    this.mostHeld = Math.max(this.mostHeld, this.held)
    return this.answerRoom(bytes)
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

  /** The room of one answer, holding `bytes` until it is written or given back. */
  private answerRoom (reserved: number): AnswerRoom {
    // what the room holds now: its reservation, then the answer's size
    let holds = reserved
    let done = false
    const giveBack = (): void => {
      if (done) return
      done = true
      this.pending -= holds
      this.share?.hold(-holds)
      this.wake()
    }
    return {
      write: async body => {
        if (done) throw new StreamStateError('the room was given back')
        const frame = new Uint8ArrayList(varint(body.byteLength), body)
        // made: it holds its size now (more than its room holds back the next rooms)
        const delta = frame.byteLength - holds
        holds = frame.byteLength
        this.pending += delta
        this.share?.hold(delta)
        this.mostHeld = Math.max(this.mostHeld, this.held)
        if (delta < 0) this.wake()
        const mine = this.turn.then(() => {
          if (done) throw new StreamStateError('the room was given back')
          let more: boolean
          try {
            more = this.stream.send(frame)
          } finally {
            // taken (or not, the stream ended): its bytes count as unsent from here — counted
            // there before its room is given back, or a waiter let in between would overshoot
            this.share?.set(this.stream.writeBufferLength)
            giveBack()
          }
          this.mostBuffered = Math.max(this.mostBuffered, this.stream.writeBufferLength)
          if (!more) this.watchDrain()
        })
        this.turn = mine.catch(() => {})
        return mine
      },
      release: giveBack
    }
  }

  /** Resolves on the next change that may have freed room; rejects once the stream ended or `signal` aborted. */
  private async change (signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.stream.status !== 'open') throw new StreamStateError(`the stream is ${this.stream.status}`)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.wakers.delete(woken)
        reject(signal?.reason)
      }
      const woken = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.wakers.add(woken)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private wake (): void {
    if (this.wakers.size === 0) return
    const wakers = [...this.wakers]
    this.wakers.clear()
    for (const woken of wakers) woken()
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
        // taken (or the stream ended): it counts as unsent from here (before it stops being held
        // apart, so that no waiter is let in on room that is not there)
        this.share.set(this.stream.writeBufferLength)
        this.share.hold(-frame.byteLength)
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
