import { ConnectionClosedError, KEEP_ALIVE } from '@libp2p/interface'
import { CONNECTION_CLOSE_TIMEOUT, CONNECTION_GRACE_PERIOD, CONNECTION_IDLE_AFTER, CONNECTION_LOW_WATER, CONNECTION_PROTECT_TAG, CONNECTION_PROTECT_VALUE, CONNECTION_PROTECTED_SHARE, CONNECTION_TRIM_INTERVAL, DEFAULT_N } from '../constants.ts'
import { neighbourhood } from '../routing/index.ts'
import { chooseToTrim } from './choose.ts'
import type { TrimCandidate } from './choose.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { PlacedPeer, PlacementTable } from '../routing/index.ts'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerData, PeerId, Peer as StoredPeer, Startable, TypedEventTarget } from '@libp2p/interface'

/** What the budget needs: libp2p's connections, peer store and events, and the placement table. */
export interface ConnectionBudgetComponents {
  logger: ComponentLogger
  peerId: PeerId
  /** libp2p's connections (a libp2p node fits) */
  connectionManager: { getConnections(peer?: PeerId): Connection[] }
  /** where the KEEP_ALIVE tags live that make libp2p redial a peer */
  peerStore: {
    get(peer: PeerId, options?: AbortOptions): Promise<StoredPeer>
    merge(peer: PeerId, data: PeerData, options?: AbortOptions): Promise<StoredPeer>
  }
  events: TypedEventTarget<{ 'connection:open': CustomEvent<Connection>, 'connection:close': CustomEvent<Connection> }>
  /** the member view's placement table (rebuilt, as a new object, when the view changes) */
  placement: { table(): PlacementTable<PlacedPeer> }
  /** where connections open, trimmed and protected are shown. @default undefined (not shown) */
  metrics?: Pick<PeerMetrics, 'connectionsOpen' | 'connectionsTrimmed' | 'connectionsProtected'>
}

/** Options of the connection budget. */
export interface ConnectionBudgetInit {
  /**
   * Most connections kept open; libp2p's own cap is set to the same number (it refuses inbound
   * connections there). Idle ones are trimmed down to `lowWater`.
   *
   * @default DEFAULT_MAX_CONNECTIONS (64)
   */
  maxConnections: number
  /** the low watermark idle connections are trimmed down to. @default floor(maxConnections × CONNECTION_LOW_WATER), at least 1 */
  lowWater?: number
  /** how many XOR neighbours are protected (tagged, never trimmed here). @default floor(maxConnections × CONNECTION_PROTECTED_SHARE), at least 1 */
  protect?: number
  /** replicas per key: how much of each position's preference list makes a neighbour. @default DEFAULT_N */
  n?: number
  /** a new connection not used by a request yet is not trimmed for this long (ms). @default CONNECTION_GRACE_PERIOD */
  gracePeriod?: number
  /** a connection whose peer's last request ended less than this long ago is not trimmed (ms). @default CONNECTION_IDLE_AFTER */
  idleAfter?: number
  /** how often idle connections are looked for besides on open and release (ms). @default CONNECTION_TRIM_INTERVAL */
  trimInterval?: number
}

/**
 * A connection budget in the manner of go-libp2p's connection manager (low and high watermarks, a
 * grace period, protected peers), for p2pstore: it keeps open connections at most
 * `maxConnections` by closing idle, unprotected ones, least recently used first, down to a low
 * watermark — headroom below libp2p's cap, which refuses inbound connections (a refused SWIM probe
 * would be a false suspicion). Protected are the XOR neighbourhood (the members this peer shares
 * the most replica sets with, recomputed when the member view changes, and tagged, so that
 * libp2p's own pruner spares them too; not redialled when the other side trims them) and every peer with work in flight (`acquire()` around each
 * request, outbound or inbound). Before it closes a peer's last connection it removes that peer's
 * KEEP_ALIVE tags (kad-dht tags its 20 closest): libp2p would redial it at once otherwise.
 * Allow-listed addresses are trimmed like any other (libp2p itself spares them).
 */
export class ConnectionBudget implements Startable {
  private readonly components: ConnectionBudgetComponents
  private readonly log: Logger
  readonly maxConnections: number
  readonly lowWater: number
  readonly protectCount: number
  private readonly n: number
  private readonly gracePeriod: number
  private readonly idleAfter: number
  private readonly trimInterval: number
  /** requests in flight per peer */
  private readonly inFlight = new Map<string, number>()
  /** when work with a peer last began or ended */
  private readonly lastUsed = new Map<string, number>()
  /** the protected neighbourhood, by peer id string */
  private protectedPeers = new Map<string, PeerId>()
  private table?: PlacementTable<PlacedPeer>
  /** connections being closed by the budget */
  private readonly closing = new Set<Connection>()
  private timer?: ReturnType<typeof setTimeout>
  /** when `timer` fires */
  private due = 0
  private interval?: ReturnType<typeof setInterval>
  private running?: Promise<void>
  private again = false
  private started = false
  private trimmedTotal = 0

  constructor (components: ConnectionBudgetComponents, init: ConnectionBudgetInit) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:connections:budget')
    this.maxConnections = init.maxConnections
    this.lowWater = init.lowWater ?? Math.max(1, Math.floor(init.maxConnections * CONNECTION_LOW_WATER))
    this.protectCount = init.protect ?? Math.max(1, Math.floor(init.maxConnections * CONNECTION_PROTECTED_SHARE))
    this.n = init.n ?? DEFAULT_N
    this.gracePeriod = init.gracePeriod ?? CONNECTION_GRACE_PERIOD
    this.idleAfter = init.idleAfter ?? CONNECTION_IDLE_AFTER
    this.trimInterval = init.trimInterval ?? CONNECTION_TRIM_INTERVAL
    this.onOpen = this.onOpen.bind(this)
    this.onClose = this.onClose.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.interval = setInterval(() => { this.schedule() }, this.trimInterval)
    this.interval.unref()
    this.schedule()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    clearInterval(this.interval)
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  /**
   * Marks work with `peer` in flight until the returned function is called (once; later calls do
   * nothing): its connections are not trimmed meanwhile. Callers wrap each request in it, sent or
   * served.
   */
  acquire (peer: PeerId): () => void {
    const key = peer.toString()
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    this.lastUsed.set(key, Date.now())
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.inFlight.get(key) ?? 1) - 1
      this.lastUsed.set(key, Date.now())
      if (left > 0) {
        this.inFlight.set(key, left)
        return
      }
      this.inFlight.delete(key)
      if (this.components.connectionManager.getConnections().length > this.lowWater) this.schedule(this.idleAfter)
    }
  }

  /** The protected XOR neighbourhood now (peer ids, heaviest first). */
  protectedPeerIds (): PeerId[] {
    return [...this.protectedPeers.values()]
  }

  /** How many connections the budget closed since it was created. */
  get trimmed (): number {
    return this.trimmedTotal
  }

  /** Runs one trim pass now (tests, tools); resolves once it has closed what it chose. */
  async trim (): Promise<void> {
    if (this.running != null) {
      this.again = true
      await this.running
      return
    }
    this.running = this.pass()
      .catch(err => { this.log.error('trimming connections failed - %e', err) })
      .finally(() => {
        this.running = undefined
        if (this.again && this.started) {
          this.again = false
          this.schedule()
        }
      })
    await this.running
  }

  private onOpen (): void {
    this.showOpen()
    if (this.components.connectionManager.getConnections().length > this.lowWater) this.schedule(this.gracePeriod)
  }

  private onClose (evt: CustomEvent<Connection>): void {
    this.closing.delete(evt.detail)
    this.showOpen()
    const key = evt.detail.remotePeer.toString()
    // forget peers this peer is no longer connected to and has no work with
    if (!this.inFlight.has(key) && this.components.connectionManager.getConnections(evt.detail.remotePeer).length === 0) this.lastUsed.delete(key)
  }

  private showOpen (): void {
    this.components.metrics?.connectionsOpen.set(this.components.connectionManager.getConnections().length)
  }

  /** A pass in `delay` ms (or sooner, if one is already due sooner). */
  private schedule (delay = 0): void {
    if (!this.started) return
    const due = Date.now() + delay
    if (this.timer != null) {
      if (this.due <= due) return
      clearTimeout(this.timer)
    }
    this.due = due
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.trim()
    }, delay)
    this.timer.unref()
  }

  private async pass (): Promise<void> {
    await this.refreshNeighbourhood()
    const connections = this.components.connectionManager.getConnections().filter(c => !this.closing.has(c) && c.status === 'open')
    this.components.metrics?.connectionsOpen.set(connections.length)
    if (connections.length <= this.lowWater) return
    const now = Date.now()
    // per peer, the connection that keeps it: the one with the most streams, then the oldest
    const keeper = new Map<string, Connection>()
    for (const c of connections) {
      const peer = c.remotePeer.toString()
      const kept = keeper.get(peer)
      if (kept == null || c.streams.length > kept.streams.length || (c.streams.length === kept.streams.length && c.timeline.open < kept.timeline.open)) keeper.set(peer, c)
    }
    const candidates: Array<TrimCandidate<Connection>> = connections.map(connection => {
      const peer = connection.remotePeer.toString()
      return {
        spare: keeper.get(peer) !== connection && connection.streams.length === 0,
        connection,
        peer,
        opened: connection.timeline.open,
        lastUsed: this.lastUsed.get(peer) ?? 0,
        inFlight: this.inFlight.get(peer) ?? 0,
        protected: this.protectedPeers.has(peer)
      }
    })
    const { close, retryAt } = chooseToTrim(candidates, this.lowWater, now, this.gracePeriod, this.idleAfter)
    if (retryAt != null) this.schedule(Math.max(1, retryAt - now))
    if (close.length === 0) return
    // a peer whose last connection closes loses its KEEP_ALIVE tags first: libp2p would redial it
    const lastOfPeer = new Map<string, PeerId>()
    for (const c of close) {
      const peer = c.remotePeer
      const remaining = this.components.connectionManager.getConnections(peer).filter(x => !close.includes(x) && !this.closing.has(x))
      if (remaining.length === 0) lastOfPeer.set(peer.toString(), peer)
    }
    await Promise.all([...lastOfPeer.values()].map(async peer => { await this.untag(peer) }))
    this.log('trimming %d of %d connections (low watermark %d, cap %d)', close.length, connections.length, this.lowWater, this.maxConnections)
    await Promise.all(close.map(async connection => {
      // check again after async work: work may have begun with the peer meanwhile
      const peer = connection.remotePeer.toString()
      const spare = keeper.get(peer) !== connection && connection.streams.length === 0
      if (!spare && (this.inFlight.has(peer) || Date.now() - (this.lastUsed.get(peer) ?? 0) < this.idleAfter)) return
      this.closing.add(connection)
      this.trimmedTotal++
      this.components.metrics?.connectionsTrimmed.inc()
      try {
        await connection.close({ signal: AbortSignal.timeout(CONNECTION_CLOSE_TIMEOUT) })
      } catch (err) {
        this.log.trace('closing the connection to %s gracefully failed, aborting it - %e', peer, err)
        connection.abort(new ConnectionClosedError(`connection to ${peer} trimmed by the connection budget`))
      }
    }))
  }

  /** Removes every KEEP_ALIVE tag of `peer` (kad-dht's among them). */
  private async untag (peer: PeerId): Promise<void> {
    try {
      const stored = await this.components.peerStore.get(peer)
      const tags: Record<string, undefined> = {}
      for (const name of stored.tags.keys()) if (name.startsWith(KEEP_ALIVE)) tags[name] = undefined
      if (Object.keys(tags).length > 0) await this.components.peerStore.merge(peer, { tags })
    } catch (err) {
      if ((err as Error).name !== 'NotFoundError') this.log.error('could not remove the keep-alive tags of %p - %e', peer, err)
    }
  }

  /** Recomputes the protected neighbourhood when the placement table changed, and retags. */
  private async refreshNeighbourhood (): Promise<void> {
    const table = this.components.placement.table()
    if (table === this.table) return
    this.table = table
    const self = table.members.find(m => m.peerId.equals(this.components.peerId))
    const next = new Map<string, PeerId>()
    if (self != null) {
      for (const { member } of neighbourhood(table, self, this.n, this.protectCount)) next.set(member.peerId.toString(), member.peerId)
    }
    const added = [...next].filter(([key]) => !this.protectedPeers.has(key)).map(([, id]) => id)
    const removed = [...this.protectedPeers].filter(([key]) => !next.has(key)).map(([, id]) => id)
    this.protectedPeers = next
    this.components.metrics?.connectionsProtected.set(next.size)
    if (added.length > 0 || removed.length > 0) this.log('neighbourhood: %d protected (+%d, -%d)', next.size, added.length, removed.length)
    await Promise.all([
      ...added.map(async peer => this.tag(peer, { [CONNECTION_PROTECT_TAG]: { value: CONNECTION_PROTECT_VALUE } })),
      ...removed.map(async peer => this.tag(peer, { [CONNECTION_PROTECT_TAG]: undefined }))
    ])
  }

  private async tag (peer: PeerId, tags: PeerData['tags']): Promise<void> {
    await this.components.peerStore.merge(peer, { tags }).catch(err => { this.log.error('could not tag %p - %e', peer, err) })
  }
}
