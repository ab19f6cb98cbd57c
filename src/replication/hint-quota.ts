import { mergeSiblingSets } from '../clock/index.ts'
import { QuotaExceededError } from '../errors.ts'
import { shortPeer } from './quorum.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { PeerMetrics } from '../metrics/index.ts'
import type { Engine, StoredRecord } from '../storage/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'

/** What the hinted-storage quota uses. */
export interface HintQuotaComponents {
  logger: ComponentLogger
  engine: Engine
  /** where refused hinted copies are counted (`p2pstore_hints_refused_total`). @default not counted */
  metrics?: Pick<PeerMetrics, 'hintsRefused'>
}

/** Options of the hinted-storage quota. */
export interface HintQuotaInit {
  /** most bytes of hinted copies one peer may make this one hold (`hintedBytesPerPeer`) */
  perPeer: number
  /** most bytes of hinted copies held for all other peers together (`hintedBytesTotal`) */
  total: number
}

/** The bytes a hinted copy counts for: its key and its values. */
export function hintBytes (key: Uint8Array, set: SiblingSet): number {
  return set.siblings.reduce((sum, s) => sum + s.value.byteLength, key.byteLength)
}

/** One hinted copy held, and whom it counts against. */
interface HeldHint {
  /** the sending peer (peer id string), or undefined for a copy this peer's own client wrote */
  from?: string
  bytes: number
}

/**
 * The storage one peer may make this one hold for others (issue #19): every hinted copy records
 * the peer that sent it (`hintFrom` in the record), and what the copies of one peer add up to —
 * key and value bytes — may not pass `perPeer`, nor the copies of all peers `total`. A hinted
 * store that would pass either is refused with a `QuotaExceededError` (its coordinator then tries
 * another fallback, as for any replica that failed). The bytes are released when the hint goes:
 * delivered and deleted by hinted handoff, or turned into a replica; the accounting follows the
 * store's change listener and is rebuilt from the stored hints on start. Hinted copies this peer's
 * own clients wrote (no sender) count towards nobody's share and are never refused.
 */
export class HintQuota implements Startable {
  readonly init: HintQuotaInit
  private readonly components: HintQuotaComponents
  private readonly log: Logger
  /** hinted copies held, by key (hex) */
  private readonly held = new Map<string, HeldHint>()
  /** bytes held, by sending peer */
  private readonly byPeer = new Map<string, number>()
  /** bytes held for other peers, in total */
  private heldTotal = 0
  /** bytes of stores admitted and not yet written, by sending peer, and in total */
  private readonly reserved = new Map<string, number>()
  private reservedTotal = 0
  private unsubscribe?: () => void

  constructor (components: HintQuotaComponents, init: HintQuotaInit) {
    if (init.total < init.perPeer) throw new RangeError(`total (${init.total}) must be at least perPeer (${init.perPeer})`)
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('p2pstore:replication:hint-quota')
  }

  /** Follows the store and counts the hinted copies it holds already (call after the engine opened, before the rpc serves). */
  async start (options: AbortOptions = {}): Promise<void> {
    if (this.unsubscribe != null) return
    const changed = new Set<string>()
    this.unsubscribe = this.components.engine.onChange((key, record) => {
      const id = hexOf(key)
      changed.add(id)
      this.note(id, key, record)
    })
    this.held.clear()
    this.byPeer.clear()
    this.heldTotal = 0
    // a damaged record is not a hinted copy we can count; it must not keep the daemon from starting
    // (reading it answers IntegrityError for that key alone, and anti-entropy restores it)
    const onDamaged = (key: Uint8Array, err: Error): void => { this.log.error('skipping unreadable record %s while counting hinted copies - %e', hexOf(key), err) }
    for await (const { key, record } of this.components.engine.entries({ ...options, onDamaged })) {
      const id = hexOf(key)
      // the listener saw a newer state of this key during the scan
      if (!changed.has(id)) this.note(id, key, record)
    }
    changed.clear()
    if (this.held.size > 0) this.log('%d hinted copies held, %d bytes for other peers', this.held.size, this.heldTotal)
  }

  stop (): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  /** Bytes of hinted copies held now that `peer` sent. */
  usedBy (peer: PeerId | string): number {
    return this.byPeer.get(peer.toString()) ?? 0
  }

  /** Bytes of hinted copies held now for other peers, in total. */
  get used (): number {
    return this.heldTotal
  }

  /**
   * Admits a hinted store of `state` under `key` from `from`, or refuses it. What it may add is
   * counted against the copy's sender (the first one: a copy keeps its sender) until the write is
   * done (`release()`); from then on the store's change listener holds the exact figure.
   *
   * @throws QuotaExceededError when it would take the sender past `perPeer` or everyone past `total`
   */
  async admit (key: Uint8Array, state: SiblingSet, from: PeerId, options: AbortOptions = {}): Promise<() => void> {
    const current = await this.components.engine.get(key, options)
    // a copy held as a replica stays one: nothing to count
    if (current != null && (current.hintFor == null || current.hintFor.length === 0)) return () => {}
    const sender = current == null ? from.toString() : current.hintFrom
    const adds = current == null
      ? hintBytes(key, state)
      : Math.max(0, hintBytes(key, mergeSiblingSets(current.set, state)) - hintBytes(key, current.set))
    // our own client's copy grows with its owner's writes: never refused
    if (sender == null || adds === 0) return () => {}
    const peerWould = this.usedBy(sender) + (this.reserved.get(sender) ?? 0) + adds
    const totalWould = this.heldTotal + this.reservedTotal + adds
    if (peerWould > this.init.perPeer || totalWould > this.init.total) {
      this.components.metrics?.hintsRefused.inc()
      const which = peerWould > this.init.perPeer
        ? `${shortPeer(sender)} would have ${peerWould} bytes of hinted copies here, over its share of ${this.init.perPeer} (hintedBytesPerPeer)`
        : `hinted copies for other peers would take ${totalWould} bytes here, over the total of ${this.init.total} (hintedBytesTotal)`
      throw new QuotaExceededError(`hinted copy of ${adds} bytes refused: ${which}; another fallback may take it, or deliver the hints held first`)
    }
    this.reserve(sender, adds)
    let released = false
    return () => {
      if (released) return
      released = true
      this.reserve(sender, -adds)
    }
  }

  private reserve (sender: string, bytes: number): void {
    const now = (this.reserved.get(sender) ?? 0) + bytes
    if (now === 0) this.reserved.delete(sender)
    else this.reserved.set(sender, now)
    this.reservedTotal += bytes
  }

  /** Keeps the accounting in step with one key's record (undefined: deleted). */
  private note (id: string, key: Uint8Array, record: StoredRecord | undefined): void {
    const before = this.held.get(id)
    if (before != null) {
      this.held.delete(id)
      this.count(before, -1)
    }
    if (record?.hintFor == null || record.hintFor.length === 0) return
    const hint: HeldHint = { from: record.hintFrom, bytes: hintBytes(key, record.set) }
    this.held.set(id, hint)
    this.count(hint, 1)
  }

  private count (hint: HeldHint, sign: 1 | -1): void {
    if (hint.from == null) return
    const now = (this.byPeer.get(hint.from) ?? 0) + sign * hint.bytes
    if (now <= 0) this.byPeer.delete(hint.from)
    else this.byPeer.set(hint.from, now)
    this.heldTotal += sign * hint.bytes
  }
}

function hexOf (key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}
