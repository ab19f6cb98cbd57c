import { ANTI_ENTROPY_CONCURRENCY, ANTI_ENTROPY_INTERVAL, DEFAULT_N } from '../../constants.ts'
import { mergeIntoLocal } from '../local-store.ts'
import { RepeatingTask } from '../repeating-task.ts'
import { Summary, differingBuckets } from './merkle.ts'
import type { KeyDigest, KvRequest, KvResponse } from '../../protocol/index.ts'
import type { Placement } from '../../routing/index.ts'
import type { Engine } from '../../storage/index.ts'
import type { KvRpc } from '../rpc/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

/** What anti-entropy uses. */
export interface AntiEntropyComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'fromView'>
  /** the live members to compare with */
  members: { list(): Array<{ peerId: PeerId }> }
}

/** Options of anti-entropy. */
export interface AntiEntropyInit {
  /** replicas per key. @default 3 */
  n?: number
  /** one round with one member this often. @default ANTI_ENTROPY_INTERVAL (30 s) */
  interval?: number
  /** keys transferred at once. @default ANTI_ENTROPY_CONCURRENCY (4) */
  concurrency?: number
}

/** The outcome of one round. */
export interface AntiEntropyRound {
  peer: string
  /** keys compared (held here for which the peer is a home replica) */
  keys: number
  /** leaves that differed */
  differing: number
  /** states sent to the peer */
  pushed: number
  /** states fetched from the peer */
  pulled: number
  at: number
  ms: number
}

const SUMMARY_CACHE_MS = 5_000

/**
 * Active anti-entropy between replicas (Dynamo section 4.7): two members compare two-level Merkle
 * summaries of the keys they should share (see merkle.ts), then the key digests of the leaves that
 * differ, and exchange only those keys — both ways, driven by the initiator with ordinary STORE and
 * READ requests. Replicas converge even for keys nobody reads, a newcomer receives what it now
 * owns, and after a death the survivors restore N copies on the next-closest peers.
 *
 * Transfers run at most `concurrency` at a time, so foreground requests keep the network first.
 */
export class AntiEntropy implements Startable {
  private readonly components: AntiEntropyComponents
  private readonly log: Logger
  private readonly n: number
  private readonly concurrency: number
  private readonly cache = new Map<string, { at: number, summary: Summary }>()
  private readonly task: RepeatingTask
  private sweepRequested = false
  private cursor = 0
  private lastRound?: AntiEntropyRound
  private rounds = 0

  constructor (components: AntiEntropyComponents, init: AntiEntropyInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:anti-entropy')
    this.n = init.n ?? DEFAULT_N
    this.concurrency = init.concurrency ?? ANTI_ENTROPY_CONCURRENCY
    this.task = new RepeatingTask(async signal => { await this.tick(signal) }, init.interval ?? ANTI_ENTROPY_INTERVAL, this.log)
  }

  start (): void {
    this.task.start()
  }

  async stop (): Promise<void> {
    await this.task.stop()
  }

  /** Compares with every member soon (membership changed). */
  sweep (): void {
    this.sweepRequested = true
    this.task.wake()
  }

  /** The last round, and how many ran. */
  get stats (): { rounds: number, last?: AntiEntropyRound } {
    return { rounds: this.rounds, last: this.lastRound }
  }

  /** Answers SUMMARY and DIGESTS requests from `from`. */
  async handle (request: Extract<KvRequest, { type: 'summary' | 'digests' }>, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    // a SUMMARY is always fresh; the DIGESTS that follow it in the same round reuse it
    const summary = await this.summaryFor(from, options, request.type === 'digests')
    if (request.type === 'summary') return { status: 'ok', leaves: summary.leaves() }
    const digests: KeyDigest[] = []
    for (const b of new Set(request.buckets)) digests.push(...(summary.buckets[b] ?? []))
    return { status: 'ok', digests }
  }

  /** One round with `peer`; resolves with what it exchanged. */
  async round (peer: PeerId, options: AbortOptions = {}): Promise<AntiEntropyRound> {
    const begin = Date.now()
    const mine = await this.summaryFor(peer, options, false)
    const summary = await this.components.rpc.request(peer, { type: 'summary' }, options)
    if (summary.status !== 'ok') throw new Error(`summary refused by ${peer}`)
    const differing = differingBuckets(mine.leaves(), summary.leaves ?? [])
    let pushed = 0
    let pulled = 0
    if (differing.length > 0) {
      const answer = await this.components.rpc.request(peer, { type: 'digests', buckets: differing }, options)
      if (answer.status !== 'ok') throw new Error(`digests refused by ${peer}`)
      const theirs = new Map((answer.digests ?? []).map(d => [hex(d.key), d]))
      const ours = new Map(differing.flatMap(b => mine.buckets[b] ?? []).map(d => [hex(d.key), d]))
      const toPush = [...ours.values()].filter(d => !sameHash(theirs.get(hex(d.key))?.hash, d.hash))
      const toPull = [...theirs.values()].filter(d => !sameHash(ours.get(hex(d.key))?.hash, d.hash))
      pushed = await this.each(toPush, async d => this.push(peer, d.key, options))
      pulled = await this.each(toPull, async d => this.pull(peer, d.key, options))
    }
    const round = { peer: peer.toString(), keys: mine.size, differing: differing.length, pushed, pulled, at: Date.now(), ms: Date.now() - begin }
    this.lastRound = round
    this.rounds++
    if (pushed + pulled > 0) this.log('round with %p: %d leaves differed, %d keys sent, %d fetched in %d ms', peer, differing.length, pushed, pulled, round.ms)
    return round
  }

  /** One round with the next member, or a sweep over all of them after a membership change. */
  private async tick (signal: AbortSignal): Promise<void> {
    const others = this.components.members.list().filter(m => !m.peerId.equals(this.components.peerId))
    if (others.length === 0) return
    const targets = this.sweepRequested ? others : [others[this.cursor++ % others.length] as { peerId: PeerId }]
    this.sweepRequested = false
    for (const target of targets) {
      if (signal.aborted) return
      await this.round(target.peerId, { signal }).catch(err => {
        if (!signal.aborted) this.log('round with %p failed - %e', target.peerId, err)
      })
    }
  }

  /** Keys held here for which `peer` is a home replica. Responders cache it briefly (SUMMARY then DIGESTS). */
  private async summaryFor (peer: PeerId, options: AbortOptions, cached: boolean): Promise<Summary> {
    const id = peer.toString()
    const hit = this.cache.get(id)
    if (cached && hit != null && Date.now() - hit.at < SUMMARY_CACHE_MS) return hit.summary
    const summary = new Summary()
    let seen = 0
    for await (const { key, record } of this.components.engine.entries(options)) {
      if (this.components.placement.fromView(key, this.n).some(p => p.peerId.equals(peer))) summary.add(key, record.set)
      // yield now and then: a big store must not block the event loop for foreground requests
      if (++seen % 1000 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    this.cache.set(id, { at: Date.now(), summary })
    return summary
  }

  private async push (peer: PeerId, key: Uint8Array, options: AbortOptions): Promise<boolean> {
    const record = await this.components.engine.get(key, options)
    if (record == null) return false
    const response = await this.components.rpc.request(peer, { type: 'store', key, state: record.set }, options)
    return response.status === 'ok'
  }

  private async pull (peer: PeerId, key: Uint8Array, options: AbortOptions): Promise<boolean> {
    const response = await this.components.rpc.request(peer, { type: 'read', key }, options)
    if (response.status !== 'ok' || response.state == null) return false
    await mergeIntoLocal(this.components.engine, key, response.state, options)
    return true
  }

  /** Runs `fn` over items at most `concurrency` at a time; resolves with how many returned true. */
  private async each<T> (items: T[], fn: (item: T) => Promise<boolean>): Promise<number> {
    let done = 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++] as T
        if (await fn(item).catch(() => false)) done++
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker))
    return done
  }
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function sameHash (a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a != null && Buffer.compare(a, b) === 0
}
