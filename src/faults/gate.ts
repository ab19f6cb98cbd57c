import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * Which way a block applies. `both`: no connection between the two peers in either direction.
 * `inbound`: this peer refuses connections the other peer opens, but may still open one itself;
 * `outbound`: the reverse. Together they make a one-way partition as a stateful firewall does
 * (once a connection exists, libp2p uses it both ways, as TCP does).
 */
export type BlockDirection = 'both' | 'inbound' | 'outbound'

/** What `PartitionGate.list()` reports. */
export interface BlockedPeer {
  peerId: string
  direction: BlockDirection
}

/**
 * Partitions for fault injection, enforced below every p2pstore protocol: a libp2p connection
 * gater that refuses dials to and connections from blocked peers. Blocking does not close existing
 * connections; the peer does that (`Peer.partition()`), so the peers really cannot reach each other.
 * An empty gate refuses nothing and costs a set lookup per connection.
 */
export class PartitionGate {
  private readonly blocked = new Map<string, BlockDirection>()

  /** The gater to pass as libp2p's `connectionGater`. */
  gater (): ConnectionGater {
    const outbound = (peerId: PeerId): boolean => this.blocked.get(peerId.toString()) !== undefined && this.blocked.get(peerId.toString()) !== 'inbound'
    const inbound = (peerId: PeerId): boolean => this.blocked.get(peerId.toString()) !== undefined && this.blocked.get(peerId.toString()) !== 'outbound'
    return {
      denyDialPeer: outbound,
      denyOutboundEncryptedConnection: outbound,
      denyInboundEncryptedConnection: inbound
    }
  }

  /** Blocks `peers` (replacing an earlier direction for the same peer). */
  block (peers: PeerId[], direction: BlockDirection = 'both'): void {
    for (const peer of peers) this.blocked.set(peer.toString(), direction)
  }

  /** Lifts the blocks of `peers`, or every block when none are given. Returns how many were lifted. */
  unblock (peers?: PeerId[]): number {
    if (peers == null) {
      const n = this.blocked.size
      this.blocked.clear()
      return n
    }
    let n = 0
    for (const peer of peers) if (this.blocked.delete(peer.toString())) n++
    return n
  }

  /** Whether connections with `peer` are refused at all. */
  isBlocked (peer: PeerId): boolean {
    return this.blocked.has(peer.toString())
  }

  /** Every block in place, sorted by peer id. */
  list (): BlockedPeer[] {
    return [...this.blocked].map(([peerId, direction]) => ({ peerId, direction })).sort((a, b) => a.peerId.localeCompare(b.peerId))
  }
}
