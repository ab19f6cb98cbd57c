/**
 * Joining the network: dial the bootstrap peers, then look up our own id in Kademlia so that the
 * peers nearest to us learn about us and we about them (the join procedure of the Kademlia paper,
 * section 2.3). Membership joins as soon as a bootstrap peer answered (`join:connected`), without
 * waiting for the lookup. While no bootstrap peer answers it retries with exponential backoff,
 * forever, and says so through `join:retry` events; once joined it watches the connection count
 * and joins again when the peer has become isolated (every neighbour restarted, a network outage).
 *
 * @packageDocumentation
 */

import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { RepeatingTask } from '../tasks/index.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

/** Events a `Joiner` emits on its `events` target. */
export interface JoinEvents {
  /** no bootstrap peer answered; the next attempt is in `delayMs` */
  'join:retry': CustomEvent<{ attempt: number, delayMs: number, errors: string[] }>
  /**
   * at least one bootstrap peer answered (`via`); the self-lookup starts now. Membership joins
   * here: SWIM needs only a live member, and a lookup can take seconds on a busy network.
   */
  'join:connected': CustomEvent<{ attempt: number, via: string[] }>
  /** at least one bootstrap peer answered and the self-lookup ran */
  'join:joined': CustomEvent<{ attempt: number, via: string[], discovered: number }>
  /** the peer lost every connection; it will join again */
  'join:isolated': CustomEvent<Record<string, never>>
}

/** What the joiner needs from libp2p. */
export interface JoinerComponents {
  logger: ComponentLogger
  peerId: PeerId
  /** dials and reports connections (a libp2p node fits) */
  network: {
    dial(addr: Multiaddr, options?: AbortOptions): Promise<Connection>
    getConnections(): Connection[]
  }
  /** Kademlia lookups (kad-dht fits) */
  dht: {
    getClosestPeers(key: Uint8Array, options?: AbortOptions): AsyncIterable<{ name: string }>
  }
  events: TypedEventTarget<JoinEvents>
}

/** Options of the joiner. */
export interface JoinerInit {
  /** bootstrap peers; with none the peer simply waits to be found by others */
  bootstrap: Multiaddr[]
  /** first retry delay, doubled per failed attempt. @default 1_000 */
  retryMin: number
  /** retry delay ceiling. @default 60_000 */
  retryMax: number
  /** deadline of one bootstrap dial. @default 10_000 */
  dialTimeout: number
  /** deadline of the self-lookup. @default 30_000 */
  lookupTimeout: number
  /** how often an already joined peer checks that it is not isolated. @default 30_000 */
  checkInterval: number
}

/** Joins through bootstrap peers with backoff and rejoins when isolated. */
export class Joiner implements Startable {
  private readonly components: JoinerComponents
  private readonly init: JoinerInit
  private readonly log: Logger
  private readonly task: RepeatingTask
  private joinedOnce = false
  /** the next wait after a failed attempt (doubled each time, up to retryMax) */
  private delay: number
  /** failed attempts since the last join */
  private attempt = 0
  /** connected at the last check: losing every connection since means isolated */
  private wasConnected = false

  constructor (components: JoinerComponents, init: JoinerInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('p2pstore:join')
    this.delay = init.retryMin
    // each run is one attempt or one check and returns the wait before the next
    this.task = new RepeatingTask(async ({ signal }) => this.step(signal ?? new AbortController().signal), {
      interval: init.checkInterval, runImmediately: true, log: this.log, name: 'join loop'
    })
  }

  /** true once a bootstrap peer answered (or this peer was found by others). */
  get joined (): boolean {
    return this.joinedOnce || this.components.network.getConnections().length > 0
  }

  start (): void {
    this.task.start()
  }

  /** Stops the loop; a later `start()` begins a fresh one (no backoff kept). */
  async stop (): Promise<void> {
    await this.task.stop()
    this.delay = this.init.retryMin
    this.attempt = 0
    this.wasConnected = false
  }

  /** One check or join attempt; resolves with the ms to wait before the next. */
  private async step (signal: AbortSignal): Promise<number | undefined> {
    const connected = this.components.network.getConnections().length > 0
    if (connected || this.init.bootstrap.length === 0) {
      this.wasConnected ||= connected
      return this.init.checkInterval
    }
    if (this.wasConnected) {
      this.wasConnected = false
      this.log('isolated: no connections left, joining again')
      this.components.events.dispatchEvent(new CustomEvent('join:isolated', { detail: {} }))
    }

    this.attempt++
    const attempt = this.attempt
    const { via, errors } = await this.dialBootstrap(signal)
    if (signal.aborted) return undefined

    if (via.length > 0) {
      this.components.events.dispatchEvent(new CustomEvent('join:connected', { detail: { attempt, via } }))
      const discovered = await this.selfLookup(signal)
      this.joinedOnce = true
      this.wasConnected = true
      this.log('joined via %s after %d attempt(s), lookup found %d peers', via.join(', '), attempt, discovered)
      this.components.events.dispatchEvent(new CustomEvent('join:joined', { detail: { attempt, via, discovered } }))
      this.attempt = 0
      this.delay = this.init.retryMin
      // check again at once: connected now, the next wait is the check interval
      return 0
    }

    const delay = this.delay
    this.log('no bootstrap peer answered (attempt %d, %d tried), retrying in %d ms', attempt, this.init.bootstrap.length, delay)
    this.components.events.dispatchEvent(new CustomEvent('join:retry', { detail: { attempt, delayMs: delay, errors } }))
    this.delay = Math.min(delay * 2, this.init.retryMax)
    return delay
  }

  private async dialBootstrap (signal: AbortSignal): Promise<{ via: string[], errors: string[] }> {
    const self = this.components.peerId.toString()
    const results = await Promise.allSettled(this.init.bootstrap.map(async addr => {
      if (addr.getComponents().some(c => c.name === 'p2p' && c.value === self)) {
        throw new Error('is this peer itself')
      }
      const dialSignal = anySignal([signal, AbortSignal.timeout(this.init.dialTimeout)])
      setMaxListeners(Infinity, dialSignal)
      try {
        const conn = await this.components.network.dial(addr, { signal: dialSignal })
        return conn.remotePeer.toString()
      } finally {
        dialSignal.clear()
      }
    }))

    const via: string[] = []
    const errors: string[] = []
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') via.push(result.value)
      else errors.push(`${this.init.bootstrap[i]?.toString()}: ${explainDialError(result.reason)}`)
    })
    return { via, errors }
  }

  private async selfLookup (signal: AbortSignal): Promise<number> {
    const lookupSignal = anySignal([signal, AbortSignal.timeout(this.init.lookupTimeout)])
    setMaxListeners(Infinity, lookupSignal)
    let found = 0
    try {
      for await (const event of this.components.dht.getClosestPeers(this.components.peerId.toMultihash().bytes, { signal: lookupSignal })) {
        if (event.name === 'FINAL_PEER') found++
      }
    } catch (err) {
      // a failed lookup does not undo the join: the bootstrap connection stands and the DHT's own
      // refresh will fill the routing table later
      if (!signal.aborted) this.log.error('self-lookup after join failed - %e', err)
    } finally {
      lookupSignal.clear()
    }
    return found
  }
}

/**
 * libp2p's words for a failed dial, plus what they usually mean when they are cryptic. With a swarm
 * key (pnet) on both sides but different keys, each side decrypts the other's bytes to noise and
 * the handshake fails on a nonsense length ("Message length too long - 8205 > 1024") or a failed
 * decryption; one side without a key sees the other reset the connection.
 */
export function explainDialError (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  if (SWARM_KEY_MISMATCH.test(text)) {
    return `${text} (the swarm keys probably differ: every peer of a private network needs the same --swarm-key file, and a public peer none)`
  }
  return text
}

const SWARM_KEY_MISMATCH = /Message length too long|decrypt|invalid (?:mac|tag)/i
