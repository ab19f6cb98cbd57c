import { peerIdFromString } from '@libp2p/peer-id'
import { ANTI_ENTROPY_CONCURRENCY, ANTI_ENTROPY_INTERVAL, ANTI_ENTROPY_QUIET_ROUNDS, ANTI_ENTROPY_SWEEP_RETRY, DEFAULT_N } from '../../constants.ts'
import { viewFingerprint } from '../../routing/index.ts'
import { RepeatingTask, expected } from '../../tasks/index.ts'
import { mergeIntoLocal } from '../local-store.ts'
import { expectOk } from '../rpc/index.ts'
import { MerkleIndex, differingBuckets } from './merkle.ts'
import type { PeerMetrics } from '../../metrics/index.ts'
import type { KeyDigest } from '../../protocol/index.ts'
import type { Placement } from '../../routing/index.ts'
import type { Engine } from '../../storage/index.ts'
import type { KvRpc } from '../rpc/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

/** Sweeps kept for `stats.recentSweeps`. */
const RECENT_SWEEPS = 32

/** What anti-entropy uses. */
export interface AntiEntropyComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'fromView'>
  /**
   * the live members placement ranks: read only when `version` moved (or, without one, on every
   * refresh) to tell whether placement's view really changed
   */
  members: {
    list(): Array<{ peerId: PeerId, capacity?: number, zone?: string }>
    /** changes whenever the view may have. @default the member list is read on every round */
    readonly version?: number
  }
  /** where sweeps and their partners are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'antiEntropySweeps' | 'antiEntropySweepPartners'>
}

/** Options of anti-entropy. */
export interface AntiEntropyInit {
  /** replicas per key. @default 3 */
  n?: number
  /** one round with one member this often. @default ANTI_ENTROPY_INTERVAL (30 s) */
  interval?: number
  /** keys transferred at once. @default ANTI_ENTROPY_CONCURRENCY (4) */
  concurrency?: number
  /**
   * Told of every round that ran to its end, with whether every differing key was transferred
   * (`complete`): the evidence health counts a replica's copies as confirmed by (issue #18).
   * @default none
   */
  onRound?: (round: AntiEntropyRound, complete: boolean) => void
  /**
   * a member whose last round found every leaf equal is skipped, while nothing changed here and
   * the view is the same, for up to this many intervals. @default ANTI_ENTROPY_QUIET_ROUNDS (10)
   */
  quietRounds?: number
}

/** A sweep: the rounds run after placement's view changed (a member joined, died or left). */
export interface AntiEntropySweep {
  /** peers a round was run with: those that became a home replica of a key held here */
  partners: number
  /** peers this peer shares keys with, as of the sweep (the plain rounds' circle) */
  sharing: number
  /** members in the view, this peer included (what a sweep with every member would have cost) */
  members: number
  at: number
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

/**
 * Active anti-entropy between replicas (Dynamo section 4.7): two members compare two-level Merkle
 * summaries of the keys they should share (see merkle.ts), then the key digests of the leaves that
 * differ, and exchange only those keys — both ways, driven by the initiator with ordinary STORE and
 * READ requests. Replicas converge even for keys nobody reads, a newcomer receives what it now
 * owns, and after a death the survivors restore N copies on the next-closest peers.
 *
 * Scoped to the neighbourhood (issue #16): plain rounds go round the peers this peer shares keys
 * with (a home replica of a key held here), never round every member; a sweep after a membership
 * change runs rounds only with the peers that became a home replica of a key held here — the
 * joiner, or the next-closest peers after a death — so its cost per event is O(N) rounds whatever
 * the network's size, and a peer that shares nothing with the change runs none. A peer that only
 * lost keys to a newcomer has nothing to receive (the newcomer gained them and is swept by every
 * holder). A peer starting up sweeps every peer it shares keys with, once.
 *
 * The summaries are kept up to date by the engine's change listener (`MerkleIndex`, filled by one
 * scan at start): a round reads no records and ranks no keys, so its cost no longer grows with
 * the store. Transfers run at most `concurrency` at a time, so foreground requests keep the
 * network first.
 */
export class AntiEntropy implements Startable {
  private readonly components: AntiEntropyComponents
  private readonly log: Logger
  private readonly n: number
  private readonly concurrency: number
  private readonly onRound?: (round: AntiEntropyRound, complete: boolean) => void
  private readonly index: MerkleIndex
  private readonly task: RepeatingTask
  private loading?: Promise<void>
  private unsubscribe?: () => void
  private sweepRequested = false
  /** the wait before a failed sweep round is tried again (0: none failed); doubles up to the interval */
  private sweepRetry = 0
  /** the next sweep only retries the failed rounds of the last one (no `sweep()` since) */
  private retrying = false
  private cursor = 0
  private lastRound?: AntiEntropyRound
  private rounds = 0
  private readonly interval: number
  private readonly quietRounds: number
  /** writes and deletes of the local store since start (the engine's change listener counts them) */
  private changes = 0
  /** per member: the local changes and view (the index's epoch) as of its last round that found every leaf equal */
  private readonly quiet = new Map<string, { changes: number, view: number, at: number }>()
  private sweeps = 0
  /** the most partners one sweep ran rounds with, since start */
  private maxSweepPartners = 0
  /** the last RECENT_SWEEPS sweeps, oldest first */
  private readonly recentSweeps: AntiEntropySweep[] = []
  /** the index's epoch at the last sweep: a sweep counts as a membership event only if it moved */
  private sweptEpoch = -1

  constructor (components: AntiEntropyComponents, init: AntiEntropyInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:anti-entropy')
    this.n = init.n ?? DEFAULT_N
    this.concurrency = init.concurrency ?? ANTI_ENTROPY_CONCURRENCY
    this.onRound = init.onRound
    this.interval = init.interval ?? ANTI_ENTROPY_INTERVAL
    this.quietRounds = init.quietRounds ?? ANTI_ENTROPY_QUIET_ROUNDS
    this.task = new RepeatingTask(async ({ signal }) => this.tick(signal), { interval: this.interval, log: this.log, name: 'anti-entropy round' })
    const self = components.peerId.toString()
    this.index = new MerkleIndex({
      self,
      homesOf: key => this.components.placement.fromView(key, this.n).map(p => p.peerId.toString()),
      // placement ranks `members.list()`: its ids, capacities and zones are the view's fingerprint,
      // built only when membership's version moved (O(members) per membership change, not per round)
      viewFingerprint: () => viewFingerprint(this.components.members.list()),
      viewVersion: () => this.components.members.version
    })
  }

  /** Follows the store's changes, fills the summaries with one scan, and starts the rounds. */
  start (): void {
    if (this.unsubscribe != null) return
    // subscribe before the scan starts: whatever changes during the scan wins over the scan
    this.unsubscribe = this.components.engine.onChange((key, record) => {
      this.changes++
      this.index.apply(key, record)
    })
    const begin = Date.now()
    this.loading = this.index.load(this.components.engine.entries())
      .then(() => { this.log('indexed %d keys in %d ms', this.index.size, Date.now() - begin) })
    this.loading.catch(err => { this.log.error('indexing the store failed - %e', err) })
    this.task.start()
  }

  async stop (): Promise<void> {
    await this.task.stop()
    this.unsubscribe?.()
    this.unsubscribe = undefined
    // its failure was logged in start()
    await this.loading?.catch(() => {})
  }

  /**
   * Compares soon with the peers that became a home replica of a key held here (membership
   * changed): none when placement's view is the same (a suspicion) or the change shares nothing
   * with this peer.
   */
  sweep (): void {
    this.sweepRequested = true
    this.retrying = false
    this.task.wake()
  }

  /** how many keys this peer holds, as its summaries know them (kept up to date by every change) */
  get keys (): number {
    return this.index.size
  }

  /**
   * Rounds run and the last one; sweeps after a membership change, the last one, and the most
   * partners one sweep had.
   */
  get stats (): { rounds: number, last?: AntiEntropyRound, sweeps: number, lastSweep?: AntiEntropySweep, recentSweeps: AntiEntropySweep[], maxSweepPartners: number } {
    return { rounds: this.rounds, last: this.lastRound, sweeps: this.sweeps, lastSweep: this.recentSweeps.at(-1), recentSweeps: [...this.recentSweeps], maxSweepPartners: this.maxSweepPartners }
  }

  /** The Merkle leaves of the keys shared with `peer` (the SUMMARY handler). */
  async leavesFor (peer: PeerId, options: AbortOptions = {}): Promise<Uint8Array[]> {
    await this.ready(options)
    return this.index.leavesFor(peer.toString())
  }

  /** The key digests of `buckets` among the keys shared with `peer` (the DIGESTS handler). */
  async digestsFor (peer: PeerId, buckets: number[], options: AbortOptions = {}): Promise<KeyDigest[]> {
    await this.ready(options)
    return this.index.digestsFor(peer.toString(), buckets)
  }

  /** One round with `peer`; resolves with what it exchanged. */
  async round (peer: PeerId, options: AbortOptions = {}): Promise<AntiEntropyRound> {
    const begin = Date.now()
    await this.ready(options)
    const id = peer.toString()
    // as of the summary: a change from here on makes the next round with this member run
    const asOf = { changes: this.changes, view: this.index.epoch }
    const keys = this.index.sizeFor(id)
    const mine = this.index.leavesFor(id)
    const summary = expectOk(await this.components.rpc.request(peer, { type: 'summary' }, options), peer)
    const differing = differingBuckets(mine, summary.leaves ?? [])
    let pushed = 0
    let pulled = 0
    let complete = true
    if (differing.length > 0) {
      const answer = expectOk(await this.components.rpc.request(peer, { type: 'digests', buckets: differing }, options), peer)
      // our digests as of now: a write since the summary only makes a key look different
      const theirs = new Map((answer.digests ?? []).map(d => [hex(d.key), d]))
      const ours = new Map(this.index.digestsFor(id, differing).map(d => [hex(d.key), d]))
      const toPush = [...ours.values()].filter(d => !sameHash(theirs.get(hex(d.key))?.hash, d.hash))
      const toPull = [...theirs.values()].filter(d => !sameHash(ours.get(hex(d.key))?.hash, d.hash))
      pushed = await this.each(toPush, async d => this.push(peer, d.key, options))
      pulled = await this.each(toPull, async d => this.pull(peer, d.key, options))
      complete = pushed === toPush.length && pulled === toPull.length
    }
    if (differing.length === 0) this.quiet.set(id, { ...asOf, at: Date.now() })
    else this.quiet.delete(id)
    const round = { peer: id, keys, differing: differing.length, pushed, pulled, at: Date.now(), ms: Date.now() - begin }
    this.lastRound = round
    this.rounds++
    this.onRound?.(round, complete)
    if (pushed + pulled > 0) this.log('round with %p: %d leaves differed, %d keys sent, %d fetched in %d ms', peer, differing.length, pushed, pulled, round.ms)
    return round
  }

  /**
   * One round with the next peer this peer shares keys with, or, after a membership change, a
   * sweep over the peers that became a home replica of a key held here. No member list is read:
   * the index names both, so a round costs the same among 10 or 10 000 members.
   */
  private async tick (signal?: AbortSignal): Promise<number | undefined> {
    await this.ready({ signal })
    if (!this.sweepRequested) {
      const partners = this.index.partners()
      const next = partners.length === 0 ? undefined : partners[this.cursor++ % partners.length]
      // a plain round may find it has no need
      if (next != null && !this.isQuiet(next)) await this.roundWith(next, signal)
    }
    // a membership change noted while a round ran is swept now, not an interval later (waking the
    // task while it runs does nothing)
    const failed: string[] = []
    while (this.sweepRequested && !isAborted(signal)) {
      this.sweepRequested = false
      await this.ready({ signal })
      const targets = this.index.takeGained()
      // a retry of failed rounds is no membership event
      if (!this.retrying) this.noteSweep(targets.length)
      this.retrying = false
      for (const target of targets) {
        if (isAborted(signal)) return
        if (!await this.roundWith(target, signal)) failed.push(target)
      }
    }
    if (failed.length === 0 || isAborted(signal)) {
      this.sweepRetry = 0
      return
    }
    // a sweep's round that failed (the peer busy, just joined, its connection cut) is tried again
    // soon, backing off, not only when the plain rounds come round to it, an interval per partner later
    this.index.regain(failed)
    this.sweepRequested = true
    this.retrying = true
    this.sweepRetry = Math.min(this.interval, this.sweepRetry === 0 ? ANTI_ENTROPY_SWEEP_RETRY : 2 * this.sweepRetry)
    return this.sweepRetry
  }

  /** A round run by the task: false when it failed (logged); a plain round's partner comes round again, a sweep's is retried. */
  private async roundWith (target: string, signal?: AbortSignal): Promise<boolean> {
    return this.round(peerIdFromString(target), { signal }).then(() => true, (err: unknown) => {
      if (signal?.aborted !== true) expected(this.log, `round with ${target}`)(err)
      return false
    })
  }

  /** Counts a sweep's partners, if placement's view changed since the last sweep (a membership event). */
  private noteSweep (partners: number): void {
    const epoch = this.index.epoch
    if (epoch === this.sweptEpoch && partners === 0) return
    this.sweptEpoch = epoch
    this.sweeps++
    const sweep = { partners, sharing: this.index.partners().length, members: this.components.members.list().length, at: Date.now() }
    this.recentSweeps.push(sweep)
    if (this.recentSweeps.length > RECENT_SWEEPS) this.recentSweeps.shift()
    this.maxSweepPartners = Math.max(this.maxSweepPartners, partners)
    this.components.metrics?.antiEntropySweeps.inc()
    this.components.metrics?.antiEntropySweepPartners.inc(partners)
    if (partners > 0) this.log('sweep after a membership change: %d of %d members share new keys with this peer', partners, sweep.members)
  }

  /**
   * Whether the round with `peer` can be skipped: the last one found every leaf equal, nothing was
   * written or deleted here since, the view is the same, and that was less than `quietRounds`
   * intervals ago. A change on the member's side is repaired by the member's own rounds: its
   * store changed, so it skips none. At 2 s test-net intervals, empty rounds were most of what an
   * idle peer's anti-entropy did.
   */
  private isQuiet (peer: string): boolean {
    const last = this.quiet.get(peer)
    return last != null && last.changes === this.changes && Date.now() - last.at < this.quietRounds * this.interval && last.view === this.index.epoch
  }

  /** Waits until the index holds the store and its leaves match the current member view. */
  private async ready (options: AbortOptions): Promise<void> {
    options.signal?.throwIfAborted()
    await this.loading
    await this.index.refresh()
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
        // a key that failed to transfer is tried again next round
        if (await fn(item).catch((err: unknown) => { expected(this.log.trace, 'a key transfer')(err); return false })) done++
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker))
    return done
  }
}

/** Read anew each time: a signal aborts while rounds await. */
function isAborted (signal?: AbortSignal): boolean {
  return signal?.aborted === true
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function sameHash (a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a != null && Buffer.compare(a, b) === 0
}
