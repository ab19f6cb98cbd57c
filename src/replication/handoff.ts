import { performance } from 'node:perf_hooks'
import { siblingSetsEqual } from '../clock/index.ts'
import { DEFAULT_N, HANDOFF_INTERVAL, HANDOFF_MARGIN, TOMBSTONE_GRACE } from '../constants.ts'
import { PlacementTable, keyId, placedPreferenceList, viewFingerprint } from '../routing/index.ts'
import { RepeatingTask } from '../tasks/index.ts'
import { deleteIfUnchanged } from './local-store.ts'
import { expectOk } from './rpc/index.ts'
import type { KvRpc } from './rpc/index.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { Placement, PlacedPeer } from '../routing/index.ts'
import type { Engine, StoredRecord } from '../storage/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

/** What the handoff pass uses. */
export interface HandoffComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'fromView'>
  /**
   * every member that has not left, dead ones included (who must confirm a tombstone GC), and
   * membership's version: the ranking of those members is rebuilt only when it moved
   */
  members: {
    notLeft(): NotLeftMember[]
    /** changes whenever a member's state, capacity or zone may have. @default the members are ranked anew for every tombstone */
    readonly version?: number
  }
  /** where deliveries and transfers are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'hintsDelivered' | 'hintsFailed' | 'transferKeys' | 'transferBytes' | 'transferFailures'>
}

/** A member as tombstone GC ranks it: dead ones included. */
export interface NotLeftMember { peerId: PeerId, kadId: Uint8Array, capacity?: number, zone?: string, state: string }

/** Options of the handoff pass. */
export interface HandoffInit {
  /** replicas per key. @default 3 */
  n?: number
  /** how often the pass runs. @default HANDOFF_INTERVAL (10 s) */
  interval?: number
  /** places beyond N within which a non-hinted copy is kept. @default HANDOFF_MARGIN (1) */
  margin?: number
  /** a tombstone older than this may be collected. @default TOMBSTONE_GRACE (1 h) */
  tombstoneGrace?: number
}

/** The outcome of one pass, for status and tests. */
export interface HandoffStats {
  /** hinted copies still held after the pass */
  pendingHints: number
  /** copies delivered to their home replicas and deleted here */
  handedOff: number
  /** tombstones garbage-collected on every home replica by this peer as GC leader */
  collected: number
  /** tombstones still held here (a later pass may collect them) */
  tombstones: number
  /** when the pass ended (ms since the epoch) */
  at: number
}

/**
 * Hinted handoff and ownership handoff (Dynamo sections 4.6 and 4.9), as one periodic pass over the
 * local store:
 *
 * - a **hinted copy** (held for home replicas that could not take a write) is delivered to the
 *   owners it names, and only to them, while they are home replicas still — or, once one of them
 *   no longer is (declared dead, or displaced by a newcomer), to whoever owns the key now — and
 *   deleted once every one of them acknowledged;
 * - a copy of a key this peer **no longer owns** (a newcomer took its place, farther than N +
 *   margin) is sent to the new owners and deleted once they all acknowledged.
 *
 * - a **tombstone** old enough is garbage-collected on every replica (see `collect`).
 *
 * Deleting is conditional: the record goes only if it is still exactly what was delivered, so a
 * write that arrived meanwhile is never lost. Unreachable owners keep the copy for the next pass.
 *
 * Only a membership change that changes placement's view (a member joined, died or left — not a
 * suspicion), and the first pass after start, walks the whole store, since only then can
 * ownership move for keys nobody wrote. Other passes take their work from the engine's
 * change listener: the keys written or deleted since the last pass (checked by ranking alone,
 * without a read, unless this peer is no longer among their places), the hinted copies and the
 * tombstones due. Every pass yields to the event loop after each ~2 ms of work.
 *
 * Nothing here grows with the network (issue #16): a pass talks only to the home replicas of the
 * keys it moves (the intended owners of a hint, the new owners of a transferred copy, the N +
 * margin places of a tombstone), ranks members only through placement's table and a table of the
 * not-left members, both rebuilt once per membership change, and builds the view's fingerprint
 * only after a membership change, not on every pass.
 */
export class Handoff implements Startable {
  private readonly components: HandoffComponents
  private readonly log: Logger
  private readonly n: number
  private readonly margin: number
  private readonly grace: number
  private readonly task: RepeatingTask
  /** membership changed (or the peer started) since the last full pass */
  private dirty = true
  /** keys written or deleted since the last pass: their ownership is checked by the next one */
  private changed = new Map<string, Uint8Array>()
  /** keys whose record is a hinted copy */
  private readonly hinted = new Map<string, Uint8Array>()
  /** when each hinted copy became one (ms since the epoch), for the oldest hint's age */
  private readonly hintedSince = new Map<string, number>()
  /** a pass is running */
  private passing = false
  /** keys whose record is a tombstone, with when it may first be collected */
  private readonly tombstones = new Map<string, { key: Uint8Array, due: number }>()
  private unsubscribe?: () => void
  /** the live members (placement's view) at the last full pass */
  private fullPassView?: string
  /** the members that have not left, ranked (tombstone GC's confirmers), for membership `version` */
  private notLeftTable?: { version: number, table: PlacementTable<NotLeftMember> }
  private last: HandoffStats = { pendingHints: 0, handedOff: 0, collected: 0, tombstones: 0, at: 0 }

  constructor (components: HandoffComponents, init: HandoffInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:handoff')
    this.n = init.n ?? DEFAULT_N
    this.margin = init.margin ?? HANDOFF_MARGIN
    this.grace = init.tombstoneGrace ?? TOMBSTONE_GRACE
    this.task = new RepeatingTask(async ({ signal }) => { await this.tick(signal) }, { interval: init.interval ?? HANDOFF_INTERVAL, log: this.log, name: 'handoff pass' })
  }

  /** Follows the store's changes and starts the passes (the first one is full). */
  start (): void {
    if (this.unsubscribe != null) return
    this.unsubscribe = this.components.engine.onChange((key, record) => { this.noteChange(key, record) })
    this.dirty = true
    this.task.start()
  }

  async stop (): Promise<void> {
    await this.task.stop()
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  /** Runs the next pass now, over the whole store if placement's view changed (membership changed). */
  trigger (): void {
    this.dirty = true
    this.task.wake()
  }

  /** What the last pass found. */
  get stats (): HandoffStats {
    return this.last
  }

  /** Hinted copies held now, and when the oldest became one (for the metrics). */
  hintStats (): { pending: number, oldestSince?: number } {
    let oldest: number | undefined
    for (const since of this.hintedSince.values()) if (oldest == null || since < oldest) oldest = since
    return { pending: this.hinted.size, oldestSince: oldest }
  }

  /** Whether a pass runs now, and the changed keys queued for the next one (for the metrics). */
  transferStats (): { active: boolean, backlog: number } {
    return { active: this.passing, backlog: this.changed.size }
  }

  private async tick (signal?: AbortSignal): Promise<void> {
    // the whole store only when membership changed (or at start, for hints and tombstones kept
    // across a restart); otherwise just what changed since, the hints, and the tombstones due
    // placement ranks alive and suspect members alike: a suspicion or a refutation moves nothing.
    // The view's fingerprint costs O(members): built only after a membership change
    let full = false
    if (this.dirty) {
      const view = viewFingerprint(this.components.members.notLeft().filter(m => m.state === 'alive' || m.state === 'suspect'))
      full = view !== this.fullPassView
      if (full) this.fullPassView = view
    }
    this.dirty = false
    this.passing = true
    try {
      this.last = full ? await this.pass({ signal }) : await this.incrementalPass({ signal })
    } finally {
      this.passing = false
    }
    if (this.last.handedOff > 0 || this.last.pendingHints > 0 || this.last.collected > 0) {
      this.log('%s handoff pass: %d copies handed off, %d hints pending, %d tombstones collected', full ? 'full' : 'incremental', this.last.handedOff, this.last.pendingHints, this.last.collected)
    }
  }

  /** One pass over the whole store; exported for tests through `Peer`. */
  async pass (options: AbortOptions = {}): Promise<HandoffStats> {
    options.signal?.throwIfAborted()
    const outcome = { handedOff: 0, collected: 0 }
    // keys changed from here on are checked again by the next pass
    this.changed = new Map()
    const slice = new TimeSlice()
    for await (const { key, record } of this.components.engine.entries(options)) {
      await slice.yieldIfDue()
      // hints and tombstones kept from before a restart join the work lists here
      this.track(hexOf(key), key.slice(), record)
      await this.visit(key, record, outcome, options)
    }
    return this.summary(outcome)
  }

  /** One pass over the keys changed since the last one, the hinted copies and the tombstones due. */
  async incrementalPass (options: AbortOptions = {}): Promise<HandoffStats> {
    options.signal?.throwIfAborted()
    const outcome = { handedOff: 0, collected: 0 }
    const now = Date.now()
    const work = this.changed
    this.changed = new Map()
    for (const [id, key] of this.hinted) work.set(id, key)
    for (const [id, t] of this.tombstones) if (t.due <= now) work.set(id, t.key)
    const slice = new TimeSlice()
    for (const [id, key] of work) {
      await slice.yieldIfDue()
      options.signal?.throwIfAborted()
      // a changed copy that is neither hinted nor a tombstone needs a record read only when this
      // peer is no longer among its places: ranking alone settles the usual case
      if (!this.hinted.has(id) && !this.tombstones.has(id) && this.keeps(key, false)) continue
      const record = await this.components.engine.get(key, options)
      // the record as it is now: a hint or tombstone a full pass listed may be gone meanwhile
      this.track(id, key, record)
      if (record != null) await this.visit(key, record, outcome, options)
    }
    return this.summary(outcome)
  }

  private summary (outcome: { handedOff: number, collected: number }): HandoffStats {
    return { pendingHints: this.hinted.size, handedOff: outcome.handedOff, collected: outcome.collected, tombstones: this.tombstones.size, at: Date.now() }
  }

  /** Keeps the work lists in step with the store (the engine's change listener). */
  private noteChange (key: Uint8Array, record: StoredRecord | undefined): void {
    const id = hexOf(key)
    const copy = key.slice()
    this.changed.set(id, copy)
    this.track(id, copy, record)
  }

  /** Lists or unlists `key` as a hinted copy and as a tombstone, as `record` says. */
  private track (id: string, key: Uint8Array, record: StoredRecord | undefined): void {
    if (record?.hintFor != null && record.hintFor.length > 0) {
      this.hinted.set(id, key)
      if (!this.hintedSince.has(id)) this.hintedSince.set(id, Date.now())
    } else {
      this.hinted.delete(id)
      this.hintedSince.delete(id)
    }
    if (record != null && isTombstone(record.set)) {
      const newest = Math.max(...record.set.siblings.map(s => s.timestamp))
      this.tombstones.set(id, { key, due: newest + this.grace })
    } else {
      this.tombstones.delete(id)
    }
  }

  /** Whether this peer keeps a copy of `key`: a home replica, or (not hinted) within the margin. */
  private keeps (key: Uint8Array, hinted: boolean): boolean {
    const placed = this.components.placement.fromView(key, this.n, hinted ? this.n : this.n + this.margin)
    return placed.some(p => p.peerId.equals(this.components.peerId))
  }

  /** What a pass does with one record: hand it off, drop its hint, or collect its tombstone. */
  private async visit (key: Uint8Array, record: StoredRecord, outcome: { handedOff: number, collected: number }, options: AbortOptions): Promise<void> {
    const placed = this.components.placement.fromView(key, this.n, this.n + this.margin)
    const home = placed.slice(0, this.n)
    const selfIsHome = home.some(p => p.peerId.equals(this.components.peerId))
    const hinted = record.hintFor != null && record.hintFor.length > 0
    const keep = hinted ? selfIsHome : placed.some(p => p.peerId.equals(this.components.peerId))
    if (keep) {
      // a hinted copy on a peer that became a home replica is simply a replica now
      if (hinted) await this.components.engine.update(key, cur => cur == null ? undefined : { set: cur.set, actor: cur.actor }, options)
      if (isTombstone(record.set) && home[0]?.peerId.equals(this.components.peerId) === true && await this.collect(key, record.set, options)) outcome.collected++
      return
    }
    const owners = this.recipients(home, hinted ? record.hintFor : undefined)
    const metrics = this.components.metrics
    if (owners.length > 0 && await this.deliver(key, record.set, owners, options)) {
      if (hinted) {
        metrics?.hintsDelivered.inc()
      } else if (metrics != null) {
        metrics.transferKeys.inc()
        metrics.transferBytes.inc(record.set.siblings.reduce((sum, s) => sum + s.value.byteLength, 0))
      }
      // a record changed meanwhile is listed again by the change listener
      if (await deleteIfUnchanged(this.components.engine, key, record.set, options)) outcome.handedOff++
    } else {
      if (owners.length > 0) (hinted ? metrics?.hintsFailed : metrics?.transferFailures)?.inc()
      // an owner could not take it: the next pass tries again
      this.changed.set(hexOf(key), key.slice())
    }
  }

  /**
   * Who receives a copy this peer does not keep: the home replicas other than this peer, or, for a
   * hinted copy whose named owners are all home replicas still, those owners alone (the other
   * home replicas took the write themselves, or hold hints of their own elsewhere).
   */
  private recipients (home: PlacedPeer[], hintFor?: string[]): PlacedPeer[] {
    const owners = home.filter(p => !p.peerId.equals(this.components.peerId))
    if (hintFor == null || hintFor.length === 0) return owners
    const named = owners.filter(p => hintFor.includes(p.peerId.toString()))
    return named.length === hintFor.length ? named : owners
  }

  /** The first `limit` places of `key` among the members that have not left, dead ones included. */
  private notLeftPlaces (key: Uint8Array, limit: number): NotLeftMember[] {
    const { members } = this.components
    const version = members.version
    if (version == null) return placedPreferenceList(keyId(key), members.notLeft(), this.n, limit)
    if (this.notLeftTable?.version !== version) this.notLeftTable = { version, table: new PlacementTable(members.notLeft()) }
    return this.notLeftTable.table.preferenceList(keyId(key), this.n, limit)
  }

  /**
   * Tombstone GC, led by the key's first home replica: when every version is a tombstone older
   * than the grace period, and every member among the key's first N + margin places (everyone who
   * may hold a copy) — dead ones included — answers with exactly this state, each of them is told to purge it (conditionally, so a newer
   * write survives), then this peer purges its own. A member that cannot confirm (down, or not
   * holding the tombstone yet) keeps everyone's tombstone for a later pass: no replica can then
   * bring the old value back.
   */
  private async collect (key: Uint8Array, state: SiblingSet, options: AbortOptions): Promise<boolean> {
    if (!isTombstone(state)) return false
    if (state.siblings.some(s => Date.now() - s.timestamp < this.grace)) return false
    // everyone who may hold a copy: the N home replicas and the margin beyond them
    const confirmers = this.notLeftPlaces(key, this.n + this.margin)
    const others = confirmers.filter(m => !m.peerId.equals(this.components.peerId))
    if (others.some(m => m.state !== 'alive')) return false
    const answers = await Promise.allSettled(others.map(async m => this.components.rpc.request(m.peerId, { type: 'read', key }, options)))
    const confirmed = answers.every(a => a.status === 'fulfilled' && a.value.status === 'ok' && a.value.state != null && siblingSetsEqual(a.value.state, state))
    if (!confirmed) return false
    const purges = await Promise.allSettled(others.map(async m => this.components.rpc.request(m.peerId, { type: 'purge', key, state }, options)))
    if (purges.some(p => p.status === 'rejected')) return false
    const purged = await deleteIfUnchanged(this.components.engine, key, state, options)
    if (purged) this.log('tombstone of %k collected on %d replicas', key, confirmers.length)
    return purged
  }

  /** Sends the state to every owner; true when all acknowledged. */
  private async deliver (key: Uint8Array, state: SiblingSet, owners: PlacedPeer[], options: AbortOptions): Promise<boolean> {
    const results = await Promise.allSettled(owners.map(async owner => {
      expectOk(await this.components.rpc.request(owner.peerId, { type: 'store', key, state }, options), owner.peerId)
    }))
    return results.every(r => r.status === 'fulfilled')
  }
}

function hexOf (key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}

/** Every version is a delete. */
function isTombstone (state: SiblingSet): boolean {
  return state.siblings.length > 0 && state.siblings.every(s => s.deleted)
}

/** Most a pass runs before it lets the event loop serve foreground requests. */
const SLICE_MS = 2

/** Yields to the event loop once `SLICE_MS` of synchronous work has gone by. */
class TimeSlice {
  private since = performance.now()

  async yieldIfDue (): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return
    await new Promise(resolve => setImmediate(resolve))
    this.since = performance.now()
  }
}
