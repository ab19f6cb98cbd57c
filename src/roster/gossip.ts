import { lpStream } from '@libp2p/utils'
import { setMaxListeners } from 'main-event'
import { PROTOCOL_ROSTER, ROSTER_EXCHANGE_TIMEOUT, ROSTER_GOSSIP_INTERVAL } from '../constants.ts'
import { MAX_ROSTER_BYTES, decodeRosterExchange, encodeRosterExchange } from '../protocol/index.ts'
import { expected } from '../tasks/index.ts'
import type { Admission } from './admission.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** What roster gossip needs from libp2p (a libp2p node fits) and the admission it feeds. */
export interface RosterGossipComponents {
  logger: ComponentLogger
  admission: Admission
  network: {
    handle(protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
    dialProtocol(peer: PeerId, protocol: string, options?: AbortOptions): Promise<Stream>
    getConnections(peer?: PeerId): Connection[]
    hangUp(peer: PeerId, options?: AbortOptions): Promise<void>
  }
  events: TypedEventTarget<{ 'peer:connect': CustomEvent<PeerId> }>
}

/** Timing of roster gossip. */
export interface RosterGossipInit {
  /** an exchange with one random connected member this often. @default ROSTER_GOSSIP_INTERVAL (30 s) */
  interval?: number
  /** deadline of one exchange. @default ROSTER_EXCHANGE_TIMEOUT (5 s) */
  timeout?: number
}

/**
 * `/p2pstore/roster/1.0.0`: keeps every member on the newest signed roster. On every new
 * connection, and with one random member per interval, the two peers swap their rosters (one
 * request, one response); each adopts the other's if it verifies and is newer. A roster adopted
 * here or through `Admission.offer()` is pushed to every connected member at once, and every
 * connection with a peer it no longer names is closed — revocation takes one push round.
 *
 * The handler does not re-check membership: only connections the admission gater let through
 * reach it, and a peer that holds no roster yet must be able to receive one from the peer it dialled.
 */
export class RosterGossip implements Startable {
  private readonly components: RosterGossipComponents
  private readonly interval: number
  private readonly timeout: number
  private readonly log: Logger
  private shutdown = new AbortController()
  private timer?: ReturnType<typeof setInterval>
  private running = false
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    if (!this.components.admission.admits(evt.detail) && this.components.admission.roster != null) return
    void this.exchange(evt.detail).catch(err => { this.log.trace('roster exchange with %p failed - %e', evt.detail, err) })
  }

  private readonly onUpdate = (evt: CustomEvent<{ removed: string[] }>): void => {
    void this.enforce(evt.detail.removed).catch(err => { this.log.error('enforcing the new roster failed - %e', err) })
  }

  constructor (components: RosterGossipComponents, init: RosterGossipInit = {}) {
    this.components = components
    this.interval = init.interval ?? ROSTER_GOSSIP_INTERVAL
    this.timeout = init.timeout ?? ROSTER_EXCHANGE_TIMEOUT
    this.log = components.logger.forComponent('p2pstore:roster:gossip')
  }

  /** Serves the protocol; exchanges rosters on new connections and periodically. */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    await this.components.network.handle(PROTOCOL_ROSTER, (stream, connection) => {
      void this.serve(stream, connection.remotePeer)
    })
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.admission.addEventListener('roster:update', this.onUpdate)
    this.timer = setInterval(() => {
      const peers = this.connectedMembers()
      const peer = peers[Math.floor(Math.random() * peers.length)]
      if (peer != null) void this.exchange(peer).catch(err => { this.log.trace('periodic roster exchange with %p failed - %e', peer, err) })
    }, this.interval)
    this.timer.unref()
  }

  /** Stops serving and gossiping; idempotent. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.shutdown.abort()
    clearInterval(this.timer)
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.admission.removeEventListener('roster:update', this.onUpdate)
    await this.components.network.unhandle(PROTOCOL_ROSTER)
  }

  /**
   * Swaps rosters with `peer` and adopts its roster if newer. Resolves with whether it adopted one.
   * A stale, invalid or missing roster from the peer changes nothing.
   */
  async exchange (peer: PeerId, options: AbortOptions = {}): Promise<boolean> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeout), ...(options.signal == null ? [] : [options.signal])])
    setMaxListeners(Infinity, signal)
    const stream = await this.components.network.dialProtocol(peer, PROTOCOL_ROSTER, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_ROSTER_BYTES + 64 })
      await lp.write(encodeRosterExchange(this.components.admission.roster?.bytes), { signal })
      const theirs = decodeRosterExchange(await lp.read({ signal }))
      await stream.close({ signal }).catch(expected(this.log.trace, 'closing a roster stream'))
      return theirs == null ? false : await this.adopt(theirs, peer)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Closes every connection with a peer the roster no longer admits. */
  private async enforce (removed: string[]): Promise<void> {
    const { admission, network } = this.components
    const gone = new Map<string, PeerId>()
    for (const connection of network.getConnections()) {
      if (!admission.admits(connection.remotePeer)) gone.set(connection.remotePeer.toString(), connection.remotePeer)
    }
    await Promise.all([...gone.values()].map(async peer => {
      this.log('hanging up on %p: no longer on the roster', peer)
      await network.hangUp(peer, { signal: AbortSignal.timeout(this.timeout) }).catch(expected(this.log, 'hanging up on a removed member'))
    }))
    if (removed.length > 0 || gone.size > 0) this.log('roster enforced: %d removed, %d disconnected', removed.length, gone.size)
    // push the news to every member still connected: they adopt it in one round trip
    await Promise.allSettled(this.connectedMembers().map(async peer => this.exchange(peer)))
  }

  private connectedMembers (): PeerId[] {
    const seen = new Map<string, PeerId>()
    for (const c of this.components.network.getConnections()) {
      if (this.components.admission.admits(c.remotePeer)) seen.set(c.remotePeer.toString(), c.remotePeer)
    }
    return [...seen.values()]
  }

  private async adopt (bytes: Uint8Array, from: PeerId): Promise<boolean> {
    try {
      await this.components.admission.offer(bytes)
      this.log('adopted a newer roster from %p', from)
      return true
    } catch (err) {
      const name = (err as Error).name
      if (name === 'StaleRosterError') return false
      if (name === 'InvalidRosterError') {
        this.log.error('invalid roster from %p - %e', from, err)
        return false
      }
      throw err
    }
  }

  private async serve (stream: Stream, from: PeerId): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeout)])
    setMaxListeners(Infinity, signal)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_ROSTER_BYTES + 64 })
      const theirs = decodeRosterExchange(await lp.read({ signal }))
      // answer with what we held when asked: the asker adopts it if it is newer than its own
      await lp.write(encodeRosterExchange(this.components.admission.roster?.bytes), { signal })
      await stream.close({ signal }).catch(expected(this.log.trace, 'closing a roster stream'))
      if (theirs != null) await this.adopt(theirs, from)
    } catch (err) {
      if (!this.shutdown.signal.aborted) this.log.trace('roster exchange from %p failed - %e', from, err)
      stream.abort(err as Error)
    }
  }
}
