import { homeReplicas, keyId, peerKadId, preferenceList } from './xor.ts'
import type { Placed } from './xor.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

/** A peer placed in the key space. */
export interface PlacedPeer extends Placed {
  peerId: PeerId
  /** its membership state when known ('suspect' members stay placed but are written around) */
  state?: string
}

/** What placement reads: the member view and, for a partial view, Kademlia. */
export interface PlacementComponents {
  peerId: PeerId
  /** the members this peer knows, itself included */
  members: { list(): PlacedPeer[], readonly size: number }
  /** kad-dht's lookup: FINAL_PEER events name the k closest peers to sha256(key) */
  dht: Pick<KadDHT, 'getClosestPeers'>
}

/**
 * Finds a key's home replicas. With a view of at least N members it answers from the view in zero
 * hops; with fewer (just joined, a tiny view) it asks Kademlia (`getClosestPeers`, which hashes the
 * key with sha256 exactly as `keyId` does) and ranks the answer together with itself. On a settled
 * network both name the same N peers (tested).
 */
export class Placement {
  private readonly components: PlacementComponents

  constructor (components: PlacementComponents) {
    this.components = components
  }

  /** The first `n` of the key's preference list. */
  async homeReplicas (key: Uint8Array, n: number, options: AbortOptions = {}): Promise<PlacedPeer[]> {
    if (this.components.members.size >= n) return this.fromView(key, n)
    return this.fromDht(key, n, options)
  }

  /**
   * The whole preference list: every member of the view by distance (or, with a view smaller than
   * `n`, what a Kademlia lookup finds).
   */
  async preferenceList (key: Uint8Array, options: AbortOptions & { n?: number } = {}): Promise<PlacedPeer[]> {
    if (this.components.members.size >= (options.n ?? 1)) return preferenceList(keyId(key), this.components.members.list())
    return this.fromDht(key, Infinity, options)
  }

  /** Zero-hop: rank every member of the view. */
  fromView (key: Uint8Array, n: number): PlacedPeer[] {
    return homeReplicas(keyId(key), this.components.members.list(), n)
  }

  /**
   * Kademlia lookup of the key, ranked with this peer itself. Peers that other peers named as
   * closer count too, not only those that answered in time (FINAL_PEER): a peer that is merely slow
   * to answer a lookup under load is still where the key lives.
   */
  async fromDht (key: Uint8Array, n: number, options: AbortOptions = {}): Promise<PlacedPeer[]> {
    const found = new Map<string, PlacedPeer>()
    const add = (peerId: PeerId): void => {
      if (!found.has(peerId.toString())) found.set(peerId.toString(), { peerId, kadId: peerKadId(peerId) })
    }
    add(this.components.peerId)
    for await (const event of this.components.dht.getClosestPeers(key, options)) {
      if (event.name === 'FINAL_PEER') add(event.peer.id)
      else if (event.name === 'PEER_RESPONSE') {
        add(event.from)
        for (const peer of event.closer) add(peer.id)
      }
    }
    return homeReplicas(keyId(key), found.values(), n)
  }
}
