import type { MemberUpdate } from '../protocol/index.ts'

interface Queued {
  update: MemberUpdate
  transmits: number
}

/**
 * Infection-style dissemination (SWIM section 4.1): each update rides piggybacked on outgoing
 * messages until it has been sent `retransmitMult × ceil(log10(n + 1))` times — enough for it to
 * reach everyone with high probability. Newer news about a member replaces older news about it;
 * the least-sent updates go first.
 */
export class Dissemination {
  private readonly queue = new Map<string, Queued>()
  private readonly retransmitMult: number

  constructor (retransmitMult: number) {
    this.retransmitMult = retransmitMult
  }

  /** Queues news about a member, replacing older news about the same member. */
  enqueue (update: MemberUpdate): void {
    this.queue.set(update.peerId.toString(), { update, transmits: 0 })
  }

  /** Up to `max` updates to piggyback on a message to a group of `members`, counting them sent. */
  take (max: number, members: number): MemberUpdate[] {
    const limit = this.retransmitMult * Math.ceil(Math.log10(members + 1))
    const picked = [...this.queue.values()].sort((a, b) => a.transmits - b.transmits).slice(0, max)
    for (const item of picked) {
      item.transmits++
      if (item.transmits >= limit) this.queue.delete(item.update.peerId.toString())
    }
    return picked.map(item => item.update)
  }

  /** how many updates wait to be sent */
  get size (): number {
    return this.queue.size
  }
}
