import { AbortError } from '@libp2p/interface'
import type { PeerId } from '@libp2p/interface'

/** Options of an OutboundBudget. */
export interface OutboundBudgetInit {
  /** most unsent bytes over every write-guarded stream of every peer together */
  total: number
  /** most unsent bytes over the write-guarded streams of one peer (at most `total`) */
  perPeer: number
}

/** One stream's part of the budget: what its write guard charges and releases. */
export interface OutboundShare {
  /** bytes charged to this stream now */
  readonly charged: number
  /**
   * Waits until `bytes` more fit under its peer's share and the total, then charges them (before
   * it resolves, so nothing else takes the room). A frame goes alone whatever its size once
   * nothing else of its peer is charged and the total has room for it, or nothing at all is
   * charged. Rejects with an AbortError when `signal` aborts first.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void>
  /** the stream holds `bytes` unsent now (after a send, a drain, the buffer emptying) */
  set(bytes: number): void
  /** the stream ended: nothing of it counts any more, and it takes no more charges */
  release(): void
}

interface Waiter {
  peer: string
  bytes: number
  grant(): void
}

/**
 * The memory unsent answers and requests may hold (issue #19), as `InboundBudget` bounds what
 * arrives: every write-guarded stream charges the bytes it holds unsent to its peer's share and
 * the total, so a peer that opens many streams and reads none makes us hold at most `perPeer`
 * (or one frame larger than that), and all peers together at most `total`. A write that does not
 * fit waits — the slow-reader timeout of the stream that holds the bytes still resets it, which
 * releases them. Waiting for the total is first come, first served (a large frame is not starved
 * by small ones); waiting for a peer's own share holds back only that peer's writes.
 */
export class OutboundBudget {
  readonly init: OutboundBudgetInit
  private held = 0
  private readonly byPeer = new Map<string, number>()
  private readonly waiters: Waiter[] = []
  /** the most bytes charged at once, over every peer (tests, metrics) */
  mostUsed = 0

  constructor (init: OutboundBudgetInit) {
    if (!(init.perPeer > 0) || !(init.total > 0)) throw new RangeError(`perPeer (${init.perPeer}) and total (${init.total}) must be positive`)
    if (init.perPeer > init.total) throw new RangeError(`perPeer (${init.perPeer}) must be at most total (${init.total})`)
    this.init = init
  }

  /** bytes charged now, over every peer */
  get used (): number {
    return this.held
  }

  /** writes waiting for room now */
  get waiting (): number {
    return this.waiters.length
  }

  /** bytes charged now for `peer` */
  usedBy (peer: PeerId | string): number {
    return this.byPeer.get(peer.toString()) ?? 0
  }

  /** The share of one new stream to `peer`. */
  share (peer: PeerId | string): OutboundShare {
    const id = peer.toString()
    let charged = 0
    let released = false
    const change = (delta: number): void => {
      charged += delta
      this.add(id, delta)
    }
    const share: OutboundShare = {
      get charged () { return charged },
      reserve: async (bytes, signal) => {
        if (released) throw new AbortError('the stream ended')
        signal?.throwIfAborted()
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            const at = this.waiters.indexOf(waiter)
            if (at >= 0) this.waiters.splice(at, 1)
            reject(signal?.reason ?? new AbortError('the stream ended'))
            // a waiter gone from the head of the queue may unblock the next
            this.grant()
          }
          const waiter: Waiter = {
            peer: id,
            bytes,
            grant: () => {
              signal?.removeEventListener('abort', onAbort)
              if (released) {
                reject(new AbortError('the stream ended'))
                return
              }
              change(bytes)
              resolve()
            }
          }
          signal?.addEventListener('abort', onAbort, { once: true })
          this.waiters.push(waiter)
          this.grant()
        })
      },
      set: bytes => {
        if (released || bytes === charged) return
        const less = bytes < charged
        change(bytes - charged)
        if (less) this.grant()
      },
      release: () => {
        if (released) return
        released = true
        if (charged !== 0) change(-charged)
        this.grant()
      }
    }
    return share
  }

  /** whether `bytes` more for `peer` may be charged now */
  private fits (peer: string, bytes: number): { peer: boolean, total: boolean } {
    const mine = this.byPeer.get(peer) ?? 0
    return {
      peer: mine === 0 || mine + bytes <= this.init.perPeer,
      total: this.held === 0 || this.held + bytes <= this.init.total
    }
  }

  /** Grants the waiters that fit now, in order; the first one waiting for the total holds back those behind it. */
  private grant (): void {
    for (let i = 0; i < this.waiters.length;) {
      const waiter = this.waiters[i]
      if (waiter == null) return
      const fits = this.fits(waiter.peer, waiter.bytes)
      if (fits.peer && fits.total) {
        this.waiters.splice(i, 1)
        waiter.grant()
        continue
      }
      if (fits.peer) return
      i++
    }
  }

  private add (peer: string, delta: number): void {
    this.held += delta
    const now = (this.byPeer.get(peer) ?? 0) + delta
    if (now === 0) this.byPeer.delete(peer)
    else this.byPeer.set(peer, now)
    this.mostUsed = Math.max(this.mostUsed, this.held)
  }
}
