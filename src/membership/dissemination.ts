import { MAX_GOSSIP_QUEUE } from '../constants.ts'
import type { MemberUpdate } from '../protocol/index.ts'

interface Queued {
  id: string
  update: MemberUpdate
  /** its size on the wire (memberUpdateSize) */
  bytes: number
  transmits: number
}

/** What `take()` picked. */
export interface Piggyback {
  updates: MemberUpdate[]
  /** their size on the wire */
  bytes: number
}

/**
 * Infection-style dissemination (SWIM section 4.1): each update rides on outgoing messages until
 * it has been sent `retransmitMult × ceil(log10(n + 1))` times — enough for it to reach everyone
 * with high probability. Newer news about a member replaces older news about it; the least-sent
 * updates go first (oldest first among equals), as in memberlist's TransmitLimitedQueue.
 *
 * The queue is kept by transmit count, so `take()` costs O(what it returns), not a sort of the
 * whole queue: a peer that just learned 10 000 members must not sort them on every probe.
 * It holds at most `maxSize` updates: past it, the most-sent one makes room (issue #19).
 */
export class Dissemination {
  private readonly byId = new Map<string, Queued>()
  /** queued updates by how often they were sent; each level in the order they arrived */
  private readonly levels: Array<Set<Queued>> = []
  private readonly retransmitMult: number
  private readonly maxSize: number

  constructor (retransmitMult: number, maxSize: number = MAX_GOSSIP_QUEUE) {
    this.retransmitMult = retransmitMult
    this.maxSize = maxSize
  }

  /** Queues news about a member (of `bytes` on the wire), replacing older news about the same member. */
  enqueue (update: MemberUpdate, bytes: number): void {
    const id = update.peerId.toString()
    const old = this.byId.get(id)
    if (old != null) this.levels[old.transmits]?.delete(old)
    else if (this.byId.size >= this.maxSize) this.evictMostSent()
    const item: Queued = { id, update, bytes, transmits: 0 }
    this.byId.set(id, item)
    this.level(0).add(item)
  }

  /**
   * Up to `max` updates, together at most `maxBytes` on the wire, to send in a group of `members`;
   * they count as sent once more. An update larger than `maxBytes` on its own can never be sent
   * and is dropped.
   */
  take (max: number, maxBytes: number, members: number): Piggyback {
    const limit = this.retransmitMult * Math.ceil(Math.log10(members + 1))
    const { picked, bytes } = this.pick(max, maxBytes)
    for (const item of picked) {
      this.levels[item.transmits]?.delete(item)
      item.transmits++
      if (item.transmits >= limit) this.byId.delete(item.id)
      else this.level(item.transmits).add(item)
    }
    return { updates: picked.map(item => item.update), bytes }
  }

  /** how many updates wait to be sent */
  get size (): number {
    return this.byId.size
  }

  /** the least-sent updates that fit `max` and `maxBytes`; O(what it returns + 2 × max) */
  private pick (max: number, maxBytes: number): { picked: Queued[], bytes: number } {
    const picked: Queued[] = []
    let bytes = 0
    // how many candidates too large for the bytes left to look past: bounds the work per message
    let skips = 2 * max
    for (const level of this.levels) {
      if (level == null) continue
      for (const item of level) {
        if (picked.length >= max || skips <= 0) return { picked, bytes }
        if (item.bytes > maxBytes) {
          this.remove(item)
        } else if (bytes + item.bytes > maxBytes) {
          skips--
        } else {
          picked.push(item)
          bytes += item.bytes
        }
      }
    }
    return { picked, bytes }
  }

  /** drops the update sent most often (the oldest among those): it has done most of its work */
  private evictMostSent (): void {
    for (let t = this.levels.length - 1; t >= 0; t--) {
      const level = this.levels[t]
      const first = level?.values().next()
      if (first?.done === false) {
        this.remove(first.value)
        return
      }
    }
  }

  private remove (item: Queued): void {
    this.levels[item.transmits]?.delete(item)
    this.byId.delete(item.id)
  }

  private level (transmits: number): Set<Queued> {
    let level = this.levels[transmits]
    if (level == null) {
      level = new Set()
      this.levels[transmits] = level
    }
    return level
  }
}
