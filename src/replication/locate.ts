import { contextIncludes, emptySiblingSet, mergeSiblingSets } from '../clock/index.ts'
import { DEFAULT_N, MAX_KEY_BYTES, MAX_N } from '../constants.ts'
import { KeyTooLargeError } from '../errors.ts'
import { keyId, placedPreferenceList } from '../routing/index.ts'
import { remoteError } from './rpc/index.ts'
import type { KvRpc } from './rpc/index.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { Placement, PlacedPeer } from '../routing/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** What `Locator` reads: the store, the replica RPC, placement and the member view. */
export interface LocatorComponents {
  peerId: PeerId
  engine: Pick<Engine, 'get'>
  rpc: Pick<KvRpc, 'request'>
  placement: Pick<Placement, 'preferenceList'>
  /** every member that has not left, dead ones included, this peer too (a dead home replica is shown as such) */
  members: { notLeft(): Array<{ peerId: PeerId, kadId: Uint8Array, capacity?: number, zone?: string, state: string }> }
}

/** Options of `Locator`. */
export interface LocatorInit {
  /** replicas per key. @default DEFAULT_N */
  n?: number
  /**
   * Places beyond the N home replicas that are asked too: the fallbacks a sloppy write may have
   * left a hinted copy on (the coordinator takes them from the same preference list).
   *
   * @default MAX_N
   */
  fallbacks?: number
}

/** Options of one `locate()`. */
export interface LocateOptions extends AbortOptions {
  /** replicas the key should have. @default the peer's N */
  n?: number
}

/** One peer's copy of a key, summarised: how many versions, its clock, whether it has seen everything the others have. */
export interface LocatedCopy {
  /** live values (not tombstones) */
  siblings: number
  /** delete markers among the versions */
  tombstones: number
  /** its version vector: actor (hex) → the writes of that actor it has seen */
  clock: Record<string, number>
  /** dots it knows beyond the vector (the "dot cloud"), usually 0 */
  cloud: number
  /** the newest version's coordinator timestamp (ms since the epoch) */
  latest?: number
  /** it has seen every version any other answering peer has (false: read repair or anti-entropy will bring it the rest) */
  current: boolean
  /** the home replicas this copy stands in for (a hinted copy); only known for the answering peer's own store */
  hintFor?: string[]
}

/** One peer in a key's placement, and what it answered. */
export interface LocatedPeer {
  peerId: string
  /** 1-based rank in the preference list (home replicas first, then fallbacks); displaced home replicas keep their rank among all members */
  place: number
  /**
   * `home`: one of the N home replicas in this peer's live view; `fallback`: beyond them (a copy
   * here is hinted, or waits for handoff); `displaced`: a dead member that would be a home
   * replica if it were alive (not asked)
   */
  role: 'home' | 'fallback' | 'displaced'
  /** its membership state as this peer sees it */
  state: string
  zone?: string
  /** the peer that answered the locate */
  self: boolean
  /** `holds` a copy, `missing` (answered: no copy), `unreachable` (no answer in time, or an error), `not-asked` (dead) */
  answer: 'holds' | 'missing' | 'unreachable' | 'not-asked'
  /** why it is unreachable */
  error?: string
  copy?: LocatedCopy
}

/** Where a key lives, as one peer sees it (`GET /v1/locate/:key`, `p2pstore locate`). */
export interface KeyLocation {
  /** the replicas the key should have */
  n: number
  /** the peer that answered */
  peerId: string
  /** home replicas in order, then the fallbacks asked that hold a copy, then displaced (dead) home replicas */
  peers: LocatedPeer[]
  /** home replicas that hold a copy */
  homeCopies: number
  /** copies outside the home replicas (hinted, or awaiting handoff) */
  otherCopies: number
  /** live values in the merge of every copy found */
  siblings: number
}

/**
 * Answers "where does this key live?" without changing anything: the key's preference list in
 * this peer's view (the N home replicas, then the fallbacks a sloppy write may use), what each of
 * them holds — asked with the replica READ request, each call under the RPC's deadline joined with
 * the caller's signal — and the dead members that would be home replicas if they were alive.
 * No read repair, no hint delivery: a diagnostic read.
 */
export class Locator {
  private readonly components: LocatorComponents
  private readonly n: number
  private readonly fallbacks: number

  constructor (components: LocatorComponents, init: LocatorInit = {}) {
    this.components = components
    this.n = init.n ?? DEFAULT_N
    this.fallbacks = init.fallbacks ?? MAX_N
  }

  async locate (key: Uint8Array, options: LocateOptions = {}): Promise<KeyLocation> {
    if (key.byteLength === 0) throw new KeyTooLargeError('the key is empty: keys are 1 byte to 1 KiB')
    if (key.byteLength > MAX_KEY_BYTES) throw new KeyTooLargeError(`key of ${key.byteLength} bytes is longer than the limit of ${MAX_KEY_BYTES} bytes`)
    options.signal?.throwIfAborted()
    const n = options.n ?? this.n
    const self = this.components.peerId
    const preference = await this.components.placement.preferenceList(key, { n, limit: n + this.fallbacks, signal: options.signal })
    const asked = await Promise.all(preference.map(async (placed, i) => {
      const role = i < n ? 'home' : 'fallback'
      return { placed, role: role as LocatedPeer['role'], place: i + 1, ...await this.ask(placed, key, options) }
    }))
    options.signal?.throwIfAborted()

    const states = asked.map(a => a.state).filter((s): s is SiblingSet => s != null)
    const merged = states.reduce<SiblingSet>((acc, s) => mergeSiblingSets(acc, s), emptySiblingSet())
    const peers: LocatedPeer[] = asked
      // a fallback matters only when it holds a copy (or could not say)
      .filter(a => a.role === 'home' || a.answer === 'holds')
      .map(a => ({
        peerId: a.placed.peerId.toString(),
        place: a.place,
        role: a.role,
        state: a.placed.peerId.equals(self) ? 'alive' : a.placed.state ?? 'alive',
        zone: a.placed.zone,
        self: a.placed.peerId.equals(self),
        answer: a.answer,
        error: a.error,
        copy: a.state == null ? undefined : summarise(a.state, merged, a.hintFor)
      }))

    // dead members among the first N places of every member not left: home replicas if alive
    const live = new Set(preference.map(p => p.peerId.toString()))
    const all = placedPreferenceList(keyId(key), this.components.members.notLeft(), n, n)
    all.forEach((m, i) => {
      if (m.state !== 'dead' || live.has(m.peerId.toString())) return
      peers.push({ peerId: m.peerId.toString(), place: i + 1, role: 'displaced', state: m.state, zone: m.zone, self: false, answer: 'not-asked' })
    })

    return {
      n,
      peerId: self.toString(),
      peers,
      homeCopies: peers.filter(p => p.role === 'home' && p.answer === 'holds').length,
      otherCopies: peers.filter(p => p.role === 'fallback' && p.answer === 'holds').length,
      siblings: merged.siblings.filter(s => !s.deleted).length
    }
  }

  /** One place's answer: this peer's own store, else a replica READ (its deadline is the RPC's). */
  private async ask (placed: PlacedPeer, key: Uint8Array, options: AbortOptions): Promise<{ answer: LocatedPeer['answer'], state?: SiblingSet, hintFor?: string[], error?: string }> {
    if (placed.peerId.equals(this.components.peerId)) {
      const record = await this.components.engine.get(key, options)
      return record == null ? { answer: 'missing' } : { answer: 'holds', state: record.set, hintFor: record.hintFor }
    }
    try {
      const response = await this.components.rpc.request(placed.peerId, { type: 'read', key }, options)
      if (response.status === 'not-found') return { answer: 'missing' }
      if (response.status === 'ok' && response.state != null) return { answer: 'holds', state: response.state }
      return { answer: 'unreachable', error: remoteError(response, placed.peerId).message }
    } catch (err) {
      options.signal?.throwIfAborted()
      const e = err as Error & { code?: string }
      return { answer: 'unreachable', error: `${e.name}: ${e.message}` }
    }
  }
}

function summarise (state: SiblingSet, merged: SiblingSet, hintFor: string[] | undefined): LocatedCopy {
  const timestamps = state.siblings.map(s => s.timestamp)
  return {
    siblings: state.siblings.filter(s => !s.deleted).length,
    tombstones: state.siblings.filter(s => s.deleted).length,
    clock: Object.fromEntries([...state.context.vv.entries()].sort(([a], [b]) => a.localeCompare(b))),
    cloud: state.context.cloud.length,
    latest: timestamps.length === 0 ? undefined : Math.max(...timestamps),
    current: contextIncludes(state.context, merged.context),
    ...(hintFor != null && hintFor.length > 0 ? { hintFor: [...hintFor] } : {})
  }
}
