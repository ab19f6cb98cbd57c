import { siblingSetsEqual } from '../clock/index.ts'
import { DEFAULT_N, HANDOFF_INTERVAL, HANDOFF_MARGIN, TOMBSTONE_GRACE } from '../constants.ts'
import { keyId, preferenceList } from '../routing/index.ts'
import { deleteIfUnchanged } from './local-store.ts'
import { RepeatingTask } from './repeating-task.ts'
import type { KvRpc } from './rpc/index.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { Placement, PlacedPeer } from '../routing/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

/** What the handoff pass uses. */
export interface HandoffComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'fromView'>
  /** every member that has not left, dead ones included (who must confirm a tombstone GC) */
  members: { notLeft(): Array<{ peerId: PeerId, kadId: Uint8Array, state: string }> }
}

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
 *   key's current home replicas — the named owners when they are back, or whoever owns the key now
 *   if an owner was declared dead — and deleted once every one of them acknowledged;
 * - a copy of a key this peer **no longer owns** (a newcomer took its place, farther than N +
 *   margin) is sent to the new owners and deleted once they all acknowledged.
 *
 * - a **tombstone** old enough is garbage-collected on every replica (see `collect`).
 *
 * Deleting is conditional: the record goes only if it is still exactly what was delivered, so a
 * write that arrived meanwhile is never lost. Unreachable owners keep the copy for the next pass.
 */
export class Handoff implements Startable {
  private readonly components: HandoffComponents
  private readonly log: Logger
  private readonly n: number
  private readonly margin: number
  private readonly grace: number
  private readonly task: RepeatingTask
  /** membership changed since the last pass */
  private dirty = true
  private ticks = 0
  private last: HandoffStats = { pendingHints: 0, handedOff: 0, collected: 0, tombstones: 0, at: 0 }

  constructor (components: HandoffComponents, init: HandoffInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:handoff')
    this.n = init.n ?? DEFAULT_N
    this.margin = init.margin ?? HANDOFF_MARGIN
    this.grace = init.tombstoneGrace ?? TOMBSTONE_GRACE
    this.task = new RepeatingTask(async signal => { await this.tick(signal) }, init.interval ?? HANDOFF_INTERVAL, this.log)
  }

  start (): void {
    this.task.start()
  }

  async stop (): Promise<void> {
    await this.task.stop()
  }

  /** Runs the next pass now (membership changed). */
  trigger (): void {
    this.dirty = true
    this.task.wake()
  }

  /** What the last pass found. */
  get stats (): HandoffStats {
    return this.last
  }

  private async tick (signal: AbortSignal): Promise<void> {
    // a pass walks the whole store: only when membership changed, hints wait, a tombstone may be
    // due, or every tenth interval as a safety net — never as a steady background load
    this.ticks++
    if (!this.dirty && this.last.pendingHints === 0 && this.last.tombstones === 0 && this.ticks % 10 !== 0) return
    this.dirty = false
    this.last = await this.pass({ signal })
    if (this.last.handedOff > 0 || this.last.pendingHints > 0 || this.last.collected > 0) {
      this.log('handoff pass: %d copies handed off, %d hints pending, %d tombstones collected', this.last.handedOff, this.last.pendingHints, this.last.collected)
    }
  }

  /** One pass over the store; exported for tests through `Peer`. */
  async pass (options: AbortOptions = {}): Promise<HandoffStats> {
    let pendingHints = 0
    let handedOff = 0
    let collected = 0
    let tombstones = 0
    let seen = 0
    for await (const { key, record } of this.components.engine.entries(options)) {
      // yield now and then: a big store must not hold the event loop from foreground requests
      if (++seen % 500 === 0) await new Promise(resolve => setImmediate(resolve))
      const placed = this.components.placement.fromView(key, this.n + this.margin)
      const home = placed.slice(0, this.n)
      const selfIsHome = home.some(p => p.peerId.equals(this.components.peerId))
      const hinted = record.hintFor != null && record.hintFor.length > 0
      const keep = hinted ? selfIsHome : placed.some(p => p.peerId.equals(this.components.peerId))
      if (keep) {
        // a hinted copy on a peer that became a home replica is simply a replica now
        if (hinted) await this.components.engine.update(key, cur => cur == null ? undefined : { set: cur.set, actor: cur.actor }, options)
        const isTombstone = record.set.siblings.length > 0 && record.set.siblings.every(s => s.deleted)
        if (isTombstone && home[0]?.peerId.equals(this.components.peerId) === true && await this.collect(key, record.set, options)) collected++
        else if (isTombstone) tombstones++
        continue
      }
      const owners = home.filter(p => !p.peerId.equals(this.components.peerId))
      if (owners.length > 0 && await this.deliver(key, record.set, owners, options)) {
        const deleted = await deleteIfUnchanged(this.components.engine, key, record.set, options)
        if (deleted) handedOff++
        else if (hinted) pendingHints++
      } else if (hinted) {
        pendingHints++
      }
    }
    return { pendingHints, handedOff, collected, tombstones, at: Date.now() }
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
    if (state.siblings.length === 0 || state.siblings.some(s => !s.deleted)) return false
    if (state.siblings.some(s => Date.now() - s.timestamp < this.grace)) return false
    // everyone who may hold a copy: the N home replicas and the margin beyond them
    const confirmers = preferenceList(keyId(key), this.components.members.notLeft()).slice(0, this.n + this.margin)
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
      const response = await this.components.rpc.request(owner.peerId, { type: 'store', key, state }, options)
      if (response.status !== 'ok') throw new Error(response.status === 'error' ? response.errorMessage : response.status)
    }))
    return results.every(r => r.status === 'fulfilled')
  }
}
