import { StreamBufferError } from '@libp2p/interface'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Options of an InboundBudget. */
export interface InboundBudgetInit {
  /** most bytes of frames still arriving, over every stream and peer together */
  total: number
  /** most bytes of frames still arriving from one peer, over all its streams (at most `total`) */
  perPeer: number
}

/** What one watched stream reports to the budget. */
export interface BudgetWatch {
  /** a frame of `bytes` (its body; the length prefix is added) was read: it no longer counts */
  consumed(bytes: number): void
  /** the stream ended: whatever it still held no longer counts */
  close(): void
}

/**
 * The memory that frames still arriving may hold (issue #19), as go-libp2p's resource manager
 * scopes it: every byte received on a watched stream counts against its peer's share and the
 * total until the frame it belongs to has been read whole. A stream whose next chunk would take
 * its peer past `perPeer`, or everyone past `total`, is reset with a `StreamBufferError` — so one
 * peer cannot hold more than its share however many streams and connections it opens, and no
 * group of peers more than the total. Honest traffic holds a frame or two per stream for a moment;
 * the largest kv frame (MAX_KV_MESSAGE_BYTES) must fit in `perPeer`.
 */
export class InboundBudget {
  readonly init: InboundBudgetInit
  private held = 0
  private readonly byPeer = new Map<string, number>()

  constructor (init: InboundBudgetInit) {
    if (init.perPeer > init.total) throw new RangeError(`perPeer (${init.perPeer}) must be at most total (${init.total})`)
    this.init = init
  }

  /** bytes held now, over every peer */
  get used (): number {
    return this.held
  }

  /** bytes held now for `peer` */
  usedBy (peer: PeerId): number {
    return this.byPeer.get(peer.toString()) ?? 0
  }

  /**
   * Counts what arrives on `stream` from `peer` from now on. Call it before anything else listens
   * to the stream's messages (lpStream), so no chunk is missed.
   */
  watch (stream: Stream, peer: PeerId): BudgetWatch {
    const id = peer.toString()
    let pending = 0
    let closed = false
    const add = (bytes: number): void => {
      pending += bytes
      this.held += bytes
      const now = (this.byPeer.get(id) ?? 0) + bytes
      if (now === 0) this.byPeer.delete(id)
      else this.byPeer.set(id, now)
    }
    const onMessage = (evt: Event): void => {
      if (closed) return
      const bytes = (evt as Event & { data: Uint8Array | Uint8ArrayList }).data.byteLength
      const peerHeld = (this.byPeer.get(id) ?? 0) + bytes
      if (peerHeld > this.init.perPeer || this.held + bytes > this.init.total) {
        const which = peerHeld > this.init.perPeer
          ? `${peerHeld} bytes of frames in progress from ${id}, over its share of ${this.init.perPeer}`
          : `${this.held + bytes} bytes of frames in progress from all peers, over the total of ${this.init.total}`
        release()
        stream.abort(new StreamBufferError(`inbound budget exceeded: ${which}`))
        return
      }
      add(bytes)
    }
    const release = (): void => {
      if (closed) return
      closed = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', release)
      add(-pending)
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', release)
    return {
      consumed: (bytes: number) => {
        if (closed) return
        // a frame may have arrived before the watch began: never count below zero
        add(-Math.min(pending, bytes + varintLength(bytes)))
      },
      close: release
    }
  }
}

/** The bytes of the unsigned varint that prefixes a frame of `n` bytes. */
function varintLength (n: number): number {
  let length = 1
  for (let rest = Math.floor(n / 128); rest > 0; rest = Math.floor(rest / 128)) length++
  return length
}
