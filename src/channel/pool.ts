import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** What the pool needs of a channel (a RequestChannel fits). */
export interface PooledChannel {
  /** true once the channel takes no more requests */
  readonly closed: boolean
  /** ends the channel at once */
  close(err: Error): void
}

/** Options of `ChannelPool.open()`. */
export interface ChannelOpenOptions {
  /** deadline of the open (the dial) in ms */
  timeout: number
  /** any of these aborts the open as well */
  signals?: Array<AbortSignal | undefined>
}

/**
 * One channel per peer, opened on demand by `dial`: concurrent opens to one peer share one dial; a
 * failed dial is forgotten (the next request dials again), and so is a channel once it is closed.
 */
export class ChannelPool<C extends PooledChannel> {
  private readonly dial: (peer: PeerId, options: AbortOptions) => Promise<C>
  /** channels by peer, while they open or once open */
  private readonly channels = new Map<string, Promise<C>>()
  /** the channels of `channels` that opened, for the synchronous fast path of `get()` */
  private readonly opened = new Map<string, C>()

  /**
   * @param dial - opens a stream to the peer and wraps it in a channel (it may return a channel it
   * closed already, e.g. when its owner began stopping meanwhile: that one is not kept)
   */
  constructor (dial: (peer: PeerId, options: AbortOptions) => Promise<C>) {
    this.dial = dial
  }

  /** The open channel to `peer`, if there is one that has not failed. */
  get (peer: PeerId): C | undefined {
    const channel = this.opened.get(peer.toString())
    return channel != null && !channel.closed ? channel : undefined
  }

  /** The channel to `peer`: the open one, or one being opened, or a new one, within `timeout`. */
  async open (peer: PeerId, options: ChannelOpenOptions): Promise<C> {
    const deadline = anySignal([...(options.signals ?? []), AbortSignal.timeout(options.timeout)])
    setMaxListeners(Infinity, deadline)
    try {
      return await this.channel(peer, { signal: deadline })
    } finally {
      deadline.clear()
    }
  }

  /** Closes the channel to `peer`, open or opening, with `err`; the next `open()` dials again. */
  drop (peer: PeerId, err: Error): void {
    const key = peer.toString()
    const pending = this.channels.get(key)
    this.channels.delete(key)
    this.opened.delete(key)
    void pending?.then(c => { c.close(err) }, () => {})
  }

  /** Closes every channel with `err`. */
  closeAll (err: Error): void {
    // a channel that never opened has nothing to close (its dial failure was its requests' error)
    for (const pending of this.channels.values()) void pending.then(c => { c.close(err) }, () => {})
    this.channels.clear()
    this.opened.clear()
  }

  private async channel (peer: PeerId, options: AbortOptions): Promise<C> {
    const key = peer.toString()
    const existing = this.channels.get(key)
    if (existing != null) {
      const channel = await existing.catch(() => undefined)
      // check again after async work: it may have failed meanwhile
      if (channel != null && !channel.closed) return channel
      if (this.channels.get(key) === existing) {
        this.channels.delete(key)
        if (this.opened.get(key) === channel) this.opened.delete(key)
      }
    }
    let opening = this.channels.get(key)
    if (opening == null) {
      opening = this.dial(peer, options)
        .then(channel => {
          if (!channel.closed) this.opened.set(key, channel)
          return channel
        })
      this.channels.set(key, opening)
      opening.catch(() => { if (this.channels.get(key) === opening) this.channels.delete(key) })
    }
    return opening
  }
}
