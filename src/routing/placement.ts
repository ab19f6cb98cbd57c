import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { DEFAULT_N, MAX_N, PLACEMENT_LOOKUP_TIMEOUT, PLACEMENT_SYNC_PEERS } from '../constants.ts'
import { PlacementTable, placedPreferenceList } from './positions.ts'
import { keyId, peerKadId } from './xor.ts'
import type { PlacedMember } from './positions.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

/** A peer placed in the key space, with its capacity weight and zone. */
export interface PlacedPeer extends PlacedMember {
  peerId: PeerId
  /** its membership state when known ('suspect' members stay placed but are written around) */
  state?: string
}

/** What placement reads: the member view and, for a partial view, Kademlia. */
export interface PlacementComponents {
  peerId: PeerId
  /** the members this peer knows, itself included */
  members: {
    list(): PlacedPeer[]
    readonly size: number
    /** changes whenever the view may have (placement rebuilds its table only then). @default the table is rebuilt when ids, capacities or zones differ */
    readonly version?: number
  }
  /**
   * kad-dht's lookup: FINAL_PEER events name the k closest peers to sha256(key). Its routing table,
   * when readable, tells whether a lookup can find anything at all (an empty one waits for a first
   * peer until the caller's deadline).
   */
  dht: Pick<KadDHT, 'getClosestPeers'> & { routingTable?: { readonly size: number } }
  /**
   * Whether the member view may be partial: bootstrap peers are configured but membership has not
   * synced with the network yet. Only then is Kademlia asked.
   *
   * @default () => false (the view is complete: a lone peer, or one that synced)
   */
  viewPartial?(): boolean
  /**
   * Asks `peers` (members a Kademlia lookup found near a key) for their member view and adopts it
   * — a SWIM full-state sync. With positions on every member, the peers nearest a key by kad id
   * need not be its home replicas; once their complete view is here, it names the preference list
   * exactly as theirs does.
   *
   * @default none: what the lookup found is ranked as it is
   */
  syncView?(peers: PeerId[], options: AbortOptions): Promise<void>
}

/**
 * The part of a member view placement ranks — ids, capacities and zones — as one string: two views
 * with the same fingerprint place every key alike (O(members log members): build it only when the
 * view may have changed).
 */
export function viewFingerprint (members: Iterable<{ peerId: PeerId, capacity?: number, zone?: string }>): string {
  return [...members].map(m => `${m.peerId.toString()}:${m.capacity ?? 1}:${m.zone ?? ''}`).sort().join(',')
}

/** Options of a placement lookup. */
export interface PlacementOptions extends AbortOptions {
  /** longest wait on a Kademlia lookup before the view decides. @default PLACEMENT_LOOKUP_TIMEOUT */
  lookupTimeout?: number
}

/** Options of a preference-list lookup. */
export interface PreferenceListOptions extends PlacementOptions {
  /** how many home replicas the list starts with (they span min(n, zones) zones). @default DEFAULT_N */
  n?: number
  /** longest list returned (home replicas, then fallbacks). @default n + MAX_N */
  limit?: number
}

/**
 * Finds a key's home replicas (DESIGN §2). A peer whose view is complete — it synced membership, or
 * it has no bootstrap peers (the first peer of a network) — answers from the view in zero hops,
 * also when it knows fewer than N members: a lone peer decides at once that it is the only replica.
 * Only while the view may be partial (bootstrap peers configured, membership not synced yet) and
 * holds fewer than N members does it ask Kademlia (`getClosestPeers`, which hashes the key with
 * sha256 exactly as `keyId` does), and then never for long: not at all with an empty routing table,
 * and at most `PLACEMENT_LOOKUP_TIMEOUT`. The members it found are then asked for their view
 * (`syncView`, a SWIM full-state sync): with virtual positions the peers nearest a key by kad id
 * need not be its home replicas, but their complete view names the list exactly as they would.
 * Without an answer, what the lookup found is ranked together with the view. On a settled network
 * both paths name the same N peers (tested).
 */
export class Placement {
  private readonly components: PlacementComponents
  private cached?: { version: number, table: PlacementTable<PlacedPeer>, shares?: Map<number, Map<string, number>> }

  constructor (components: PlacementComponents) {
    this.components = components
  }

  /** The key's `n` home replicas (see `PlacementTable`: nearest positions, zones spread). */
  async homeReplicas (key: Uint8Array, n: number, options: PlacementOptions = {}): Promise<PlacedPeer[]> {
    if (!this.needsLookup(n)) return this.fromView(key, n)
    return placedPreferenceList(keyId(key), await this.viewAndLookup(key, options), n, n)
  }

  /**
   * The preference list: the `n` home replicas, then fallbacks (zones without a home replica
   * first), at most `limit` in all — from the view or, while the view may be partial and is
   * smaller than `n`, the view together with what a short Kademlia lookup finds.
   */
  async preferenceList (key: Uint8Array, options: PreferenceListOptions = {}): Promise<PlacedPeer[]> {
    const n = options.n ?? DEFAULT_N
    const limit = options.limit ?? n + MAX_N
    if (!this.needsLookup(n)) return this.fromView(key, n, limit)
    return placedPreferenceList(keyId(key), await this.viewAndLookup(key, options), n, limit)
  }

  /**
   * The placement table of the member view, rebuilt only when the view changed: every member's
   * positions, for lookups and for exact expected ownership (`status`, `ring`).
   */
  table (): PlacementTable<PlacedPeer> {
    const { members } = this.components
    const version = members.version
    if (version != null && this.cached?.version === version) return this.cached.table
    const table = new PlacementTable(members.list())
    if (version != null) this.cached = { version, table }
    return table
  }

  /** Exact expected ownership of each member of the view (peer id → fraction of keys it is a home replica of). */
  ownership (n: number = DEFAULT_N): Map<string, number> {
    const table = this.table()
    const cached = this.cached?.table === table ? this.cached : undefined
    const hit = cached?.shares?.get(n)
    if (hit != null) return hit
    const shares = table.ownership(n)
    const out = new Map(table.members.map((m, i) => [m.peerId.toString(), shares[i] ?? 0]))
    if (cached != null) (cached.shares ??= new Map()).set(n, out)
    return out
  }

  /** Whether the member view may be partial (bootstrap peers configured, membership not synced yet). */
  viewMayBePartial (): boolean {
    return this.components.viewPartial?.() === true
  }

  /** Whether the view cannot decide alone: it may be partial, it is too small, and Kademlia knows peers. */
  private needsLookup (n: number): boolean {
    const { members, dht } = this.components
    if (members.size >= n || !this.viewMayBePartial()) return false
    // an empty routing table would make the lookup wait for a first peer: the view is all there is
    return dht.routingTable == null || dht.routingTable.size > 0
  }

  /**
   * The view's members plus those a Kademlia lookup bounded by `lookupTimeout` finds — or, once
   * those members handed over their view (`syncView`), the adopted view.
   */
  private async viewAndLookup (key: Uint8Array, options: PlacementOptions): Promise<PlacedPeer[]> {
    const found = new Map<string, PlacedPeer>()
    for (const member of this.components.members.list()) found.set(member.peerId.toString(), member)
    const signal = anySignal([options.signal, AbortSignal.timeout(options.lookupTimeout ?? PLACEMENT_LOOKUP_TIMEOUT)])
    setMaxListeners(Infinity, signal)
    try {
      // what the lookup found before it ran out of time counts too
      await this.lookup(key, found, { signal })
    } catch (err) {
      // the caller's own abort ends the request; a lookup that ran out of time leaves the view to decide
      if (options.signal?.aborted === true) throw err
    } finally {
      signal.clear()
    }
    // the sync gets its own deadline: a lookup that hung used up the first one
    const syncSignal = anySignal([options.signal, AbortSignal.timeout(options.lookupTimeout ?? PLACEMENT_LOOKUP_TIMEOUT)])
    setMaxListeners(Infinity, syncSignal)
    try {
      const self = this.components.peerId
      const others = [...found.values()].map(p => p.peerId).filter(p => !p.equals(self) && !this.components.members.list().some(m => m.peerId.equals(p)))
      if (this.components.syncView != null && others.length > 0) {
        await this.components.syncView(others.slice(0, PLACEMENT_SYNC_PEERS), { signal: syncSignal })
        // synced: the adopted view (found peers with their capacities and zones) decides
        if (!this.viewMayBePartial()) return this.components.members.list()
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw err
    } finally {
      syncSignal.clear()
    }
    return [...found.values()]
  }

  /** Zero-hop: the key's `n` home replicas in the view, then fallbacks up to `limit` in all. */
  fromView (key: Uint8Array, n: number, limit = n): PlacedPeer[] {
    if (this.components.members.version == null) return placedPreferenceList(keyId(key), this.components.members.list(), n, limit)
    return this.table().preferenceList(keyId(key), n, limit)
  }

  /**
   * Kademlia lookup of the key, ranked with this peer itself. Peers that other peers named as
   * closer count too, not only those that answered in time (FINAL_PEER): a peer that is merely slow
   * to answer a lookup under load is still where the key lives.
   */
  async fromDht (key: Uint8Array, n: number, options: AbortOptions = {}): Promise<PlacedPeer[]> {
    const found = new Map<string, PlacedPeer>()
    await this.lookup(key, found, options)
    return placedPreferenceList(keyId(key), found.values(), n, n)
  }

  /**
   * Adds to `found` every peer a Kademlia lookup of the key names, and this peer (with the
   * capacity and zone the view knows for it: a peer found only through Kademlia counts as capacity
   * 1 without a zone).
   */
  private async lookup (key: Uint8Array, found: Map<string, PlacedPeer>, options: AbortOptions): Promise<void> {
    const known = new Map(this.components.members.list().map(m => [m.peerId.toString(), m]))
    const add = (peerId: PeerId): void => {
      const id = peerId.toString()
      if (!found.has(id)) found.set(id, known.get(id) ?? { peerId, kadId: peerKadId(peerId) })
    }
    add(this.components.peerId)
    for await (const event of this.components.dht.getClosestPeers(key, options)) {
      if (event.name === 'FINAL_PEER') add(event.peer.id)
      else if (event.name === 'PEER_RESPONSE') {
        add(event.from)
        for (const peer of event.closer) add(peer.id)
      }
    }
  }
}
