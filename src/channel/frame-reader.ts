import { lpStream } from '@libp2p/utils'
import { setMaxListeners } from 'main-event'
import { WriteGuard } from './write-guard.ts'
import type { InboundBudget, BudgetWatch } from './inbound-budget.ts'
import type { WriteGuardInit } from './write-guard.ts'
import type { PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Options of a FrameReader. */
export interface FrameReaderInit {
  /** largest frame read or written */
  maxFrame: number
  /** a read fails once no frame came for this long */
  idleTimeout: number
  /** what that read fails with */
  idleError(): Error
  /** the owner is stopping (it aborts its streams itself): a read then fails with the stream's own error */
  shutdown: AbortSignal
  /** where the bytes of frames still arriving count, with the peer they come from. @default not counted */
  budget?: { budget: InboundBudget, peer: PeerId }
  /** what the answers written may leave unsent before they wait, and when a peer that reads none is reset (issue #19). @default unbounded */
  writeGuard?: WriteGuardInit
  /** the stream's remote peer, whose share of `writeGuard.outbound` its answers charge. @default `budget.peer` */
  peer?: PeerId
}

/**
 * The serving side of a request channel: reads length-prefixed frames from one inbound stream, with
 * one idle timer per stream pushed back by every frame (a timeout signal per read cost more than
 * decoding a kv request). `lp` writes the answers. `close()` stops the timer.
 */
export class FrameReader {
  readonly lp: LengthPrefixedStream<Stream>
  private readonly init: FrameReaderInit
  private readonly idle = new AbortController()
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly watch?: BudgetWatch
  /** where `write()` goes when a write guard is configured */
  readonly guard?: WriteGuard

  constructor (stream: Stream, init: FrameReaderInit) {
    this.init = init
    // before lpStream listens, so that no chunk goes uncounted
    this.watch = init.budget?.budget.watch(stream, init.budget.peer)
    // a whole frame may sit in the read buffer before it is decoded, and so it may in the byte
    // stream under lpStream, whose own buffer stops at 4 MiB unless told otherwise: a frame larger
    // than that (a sibling set of five 1 MiB values) reset the stream (issue #19)
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 2 * init.maxFrame)
    this.lp = lpStream(stream, { maxDataLength: init.maxFrame, maxBufferSize: 2 * init.maxFrame })
    if (init.writeGuard != null) this.guard = new WriteGuard(stream, init.writeGuard, init.peer ?? init.budget?.peer)
    setMaxListeners(Infinity, this.idle.signal)
    this.timer = setTimeout(() => { this.idle.abort() }, init.idleTimeout)
  }

  /** The next frame; fails with `idleError()` after `idleTimeout` without one. */
  async read (): Promise<Uint8ArrayList> {
    let frame
    try {
      frame = await this.lp.read({ signal: this.idle.signal })
    } catch (err) {
      if (this.idle.signal.aborted && !this.init.shutdown.aborted) throw this.init.idleError()
      throw err
    }
    this.timer.refresh()
    this.watch?.consumed(frame.byteLength)
    return frame
  }

  /**
   * Pushes the idle timer back, as a frame does: the owner held the stream back itself (a peer
   * over its quota is not read), which is not the peer being idle.
   */
  refresh (): void {
    this.timer.refresh()
  }

  /** Writes one answer frame: through the write guard when there is one, else straight to `lp`. */
  async write (frame: Uint8Array | Uint8ArrayList): Promise<void> {
    if (this.guard != null) {
      await this.guard.write(frame)
      return
    }
    await this.lp.write(frame)
  }

  /** Stops the idle timer (the stream is the owner's to close). */
  close (): void {
    clearTimeout(this.timer)
    this.guard?.close()
    this.watch?.close()
  }
}
