/**
 * The simulated network: every membership request and reply is a message with its own latency
 * (uniform in [min, max] ms) and its own chance of being lost, between peers that may be up or
 * crashed. Sizes are the real protobuf encoding (`encodeMembershipMessage`), so the byte counts
 * are what the daemon would send (without Noise, Yamux and length-prefix framing).
 *
 * The connection model: a pair of peers holds a connection while it exchanged a message within
 * `idleWindow`, or while one of them protects the other (its XOR neighbourhood); each peer holds at
 * most `maxConnections`, pruning its least recently used unprotected connection beyond that. A
 * request between two peers that hold no connection needs a new one (counted; its dial costs one
 * extra round trip of latency before the request leaves).
 */

import { setMaxListeners } from 'node:events'
import { AbortError, TimeoutError } from '@libp2p/interface'
import { encodeMembershipMessage } from '../../src/protocol/index.ts'
import type { Random } from './random.ts'
import type { Scheduler } from './scheduler.ts'
import type { MembershipMessage } from '../../src/protocol/index.ts'

/** Parameters of the network model. */
export interface NetworkInit {
  /** one-way latency bounds, ms (uniform). @default { min: 1, max: 30 } */
  latency?: { min: number, max: number }
  /** probability that one message (a request or a reply) is lost. @default 0 */
  loss?: number
  /** a connection unused this long is closed (ms). @default 60_000 */
  idleWindow?: number
  /** most connections one peer holds. @default 64 */
  maxConnections?: number
}

/** What a peer does with an inbound request: answer it (or never, by not settling). */
export interface RequestHandler {
  /** the reply to `message` (of `bytes` on the wire) from peer `from` */
  handle(from: number, message: MembershipMessage, bytes: number): Promise<MembershipMessage>
  /** told the size of each reply it sent */
  sent?(reply: MembershipMessage, bytes: number): void
}

/** A reply and its size on the wire. */
export interface SimReply {
  reply: MembershipMessage
  bytes: number
}

/** Traffic counters of one peer. */
export interface NodeTraffic {
  bytesSent: number
  bytesReceived: number
  messagesSent: number
  messagesReceived: number
}

interface Node {
  up: boolean
  /** bumped on every start: replies addressed to an earlier life are dropped */
  life: number
  handler?: RequestHandler
  traffic: NodeTraffic
  /** peer index → last time a message crossed the connection */
  connections: Map<number, number>
  /** peers whose connection this one keeps whatever their use (its XOR neighbourhood) */
  protects: Set<number>
}

/** Network-wide counters. */
export interface NetworkCounters {
  requests: number
  lost: number
  /** requests to a peer that was down when they arrived */
  undeliverable: number
  /** requests that needed a new connection */
  newConnections: number
  /** connections pruned because a peer was at its limit */
  pruned: number
  /** bytes sent, by message type */
  bytesByType: Partial<Record<MembershipMessage['type'], number>>
}

const encoder = { size: (message: MembershipMessage): number => encodeMembershipMessage(message).byteLength }

/** The simulated network between `n` peer slots (indices). */
export class Network {
  private readonly scheduler: Scheduler
  private readonly random: Random
  private readonly nodes: Node[] = []
  readonly latency: { min: number, max: number }
  readonly loss: number
  readonly idleWindow: number
  readonly maxConnections: number
  readonly counters: NetworkCounters = { requests: 0, lost: 0, undeliverable: 0, newConnections: 0, pruned: 0, bytesByType: {} }
  /** message sizes are computed by this (the real encoder unless a test replaces it) */
  sizeOf: (message: MembershipMessage) => number = encoder.size
  /** a test hook: when set, decides per message whether it is delivered (after the loss draw) */
  filter?: (from: number, to: number, message: MembershipMessage) => boolean

  constructor (scheduler: Scheduler, random: Random, init: NetworkInit = {}) {
    this.scheduler = scheduler
    this.random = random
    this.latency = init.latency ?? { min: 1, max: 30 }
    this.loss = init.loss ?? 0
    this.idleWindow = init.idleWindow ?? 60_000
    this.maxConnections = init.maxConnections ?? 64
  }

  /** Adds a peer slot (down until `up()`), returning its index. */
  add (): number {
    this.nodes.push({ up: false, life: 0, traffic: { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 }, connections: new Map(), protects: new Set() })
    return this.nodes.length - 1
  }

  get size (): number {
    return this.nodes.length
  }

  /** Starts a peer's new life with `handler` serving its inbound requests. */
  up (index: number, handler: RequestHandler): void {
    const node = this.node(index)
    node.up = true
    node.life++
    node.handler = handler
    // a restarted peer reconnects to its neighbourhood
    if (node.protects.size > 0) this.protect(index, node.protects)
  }

  /** Crashes (or stops) a peer: it answers nothing more, and its connections close. */
  down (index: number): void {
    const node = this.node(index)
    node.up = false
    node.handler = undefined
    for (const peer of node.connections.keys()) this.nodes[peer]?.connections.delete(index)
    node.connections.clear()
  }

  isUp (index: number): boolean {
    return this.node(index).up
  }

  /**
   * Sets the peers `index` keeps connected whatever their use: they hold a connection from now on
   * (counted against both peers' limits, never pruned).
   */
  protect (index: number, peers: Iterable<number>): void {
    const node = this.node(index)
    node.protects = new Set(peers)
    const now = this.scheduler.now()
    for (const peer of node.protects) {
      const other = this.nodes[peer]
      if (other == null || !other.up || !node.up) continue
      node.connections.set(peer, now)
      other.connections.set(index, now)
    }
    this.enforce(index)
    for (const peer of node.protects) this.enforce(peer)
  }

  traffic (index: number): NodeTraffic {
    return this.node(index).traffic
  }

  /**
   * Sends `message` from `from` to `to` and resolves with the reply, or rejects with a
   * `TimeoutError` after `timeout` ms (the request or its reply was lost, or `to` is down) or an
   * `AbortError` when `signal` aborts. `onSent` is told the request's size.
   */
  async request (from: number, to: number, message: MembershipMessage, timeout: number, signal?: AbortSignal, onSent?: (bytes: number) => void): Promise<SimReply> {
    signal?.throwIfAborted()
    // one listener per request in flight on a core's shutdown signal
    if (signal != null) setMaxListeners(Infinity, signal)
    const sender = this.node(from)
    if (!sender.up) throw new AbortError('the sending peer is down')
    const life = sender.life
    this.counters.requests++
    const fresh = this.touch(from, to)
    return new Promise<SimReply>((resolve, reject) => {
      let settled = false
      const finish = (): void => {
        settled = true
        timer.cancel()
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => {
        if (settled) return
        finish()
        reject(new AbortError('the request was aborted'))
      }
      const timer = this.scheduler.setTimeout(() => {
        if (settled) return
        finish()
        reject(new TimeoutError(`no reply from peer ${to} within ${timeout} ms`))
      }, timeout)
      signal?.addEventListener('abort', onAbort, { once: true })
      // a new connection costs a round trip (the dial) before the request leaves
      const dial = fresh ? 2 * this.delay() : 0
      const size = this.send(from, to, message, dial, () => {
        const target = this.node(to)
        const handler = target.handler
        if (handler == null) return
        const targetLife = target.life
        handler.handle(from, message, size).then(reply => {
          // a reply from a peer that crashed or restarted meanwhile never leaves
          if (!target.up || target.life !== targetLife) return
          const bytes = this.send(to, from, reply, 0, () => {
            if (settled || !sender.up || sender.life !== life) return
            finish()
            resolve({ reply, bytes })
          })
          handler.sent?.(reply, bytes)
        }, () => {
          // a handler that failed answers nothing: the request times out
        })
      })
      onSent?.(size)
    })
  }

  /** Whether `a` holds a connection to `b` now (used within the idle window, or protected). */
  isConnected (a: number, b: number): boolean {
    const node = this.node(a)
    if (node.protects.has(b)) return true
    const last = node.connections.get(b)
    return last != null && this.scheduler.now() - last <= this.idleWindow
  }

  /**
   * One message on the wire: counted as sent, lost with probability `loss`, else delivered after
   * its latency (plus `extra` ms) unless the receiver is down by then. Returns its size.
   */
  private send (from: number, to: number, message: MembershipMessage, extra: number, deliver: () => void): number {
    const size = this.sizeOf(message)
    const sender = this.node(from)
    sender.traffic.bytesSent += size
    sender.traffic.messagesSent++
    this.counters.bytesByType[message.type] = (this.counters.bytesByType[message.type] ?? 0) + size
    if ((this.loss > 0 && this.random.next() < this.loss) || (this.filter != null && !this.filter(from, to, message))) {
      this.counters.lost++
      return size
    }
    this.scheduler.setTimeout(() => {
      const receiver = this.node(to)
      if (!receiver.up) {
        this.counters.undeliverable++
        return
      }
      receiver.traffic.bytesReceived += size
      receiver.traffic.messagesReceived++
      this.touch(to, from)
      deliver()
    }, extra + this.delay())
    return size
  }

  private delay (): number {
    return this.random.uniform(this.latency.min, this.latency.max)
  }

  /** Marks the connection between `a` and `b` used now; true when it had to be opened. */
  private touch (a: number, b: number): boolean {
    const now = this.scheduler.now()
    const na = this.node(a)
    const nb = this.node(b)
    const last = na.connections.get(b)
    const fresh = last == null || (now - last > this.idleWindow && !na.protects.has(b) && !nb.protects.has(a))
    if (fresh) this.counters.newConnections++
    na.connections.set(b, now)
    if (nb.up) nb.connections.set(a, now)
    if (fresh) {
      this.enforce(a)
      if (nb.up) this.enforce(b)
    }
    return fresh
  }

  /** Closes idle connections of `index`, then its least recently used unprotected ones beyond the limit. */
  private enforce (index: number): void {
    const node = this.node(index)
    if (node.connections.size <= this.maxConnections) return
    const now = this.scheduler.now()
    for (const [peer, last] of node.connections) {
      if (now - last > this.idleWindow && !node.protects.has(peer)) this.close(index, peer)
    }
    while (node.connections.size > this.maxConnections) {
      let oldest = -1
      let oldestAt = Infinity
      for (const [peer, last] of node.connections) {
        if (last < oldestAt && !node.protects.has(peer) && !(this.nodes[peer]?.protects.has(index) ?? false)) {
          oldest = peer
          oldestAt = last
        }
      }
      if (oldest < 0) break
      this.close(index, oldest)
      this.counters.pruned++
    }
  }

  private close (a: number, b: number): void {
    this.node(a).connections.delete(b)
    this.nodes[b]?.connections.delete(a)
  }

  /**
   * Connections each up peer holds now: the pairs that exchanged a message within the idle window
   * and the protected pairs (not capped here: more protected pairs than the limit would show).
   */
  connectionCounts (): number[] {
    const now = this.scheduler.now()
    const out: number[] = []
    for (const [index, node] of this.nodes.entries()) {
      if (!node.up) continue
      let open = 0
      for (const [peer, last] of node.connections) {
        if (now - last <= this.idleWindow || node.protects.has(peer) || (this.nodes[peer]?.protects.has(index) ?? false)) open++
      }
      out.push(open)
    }
    return out
  }

  private node (index: number): Node {
    const node = this.nodes[index]
    if (node == null) throw new RangeError(`no peer ${index} in the simulated network`)
    return node
  }
}
