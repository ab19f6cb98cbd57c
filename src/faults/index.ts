/**
 * Fault injection for test nets and the consistency checker: partitions enforced by a libp2p
 * connection gater inside each peer.
 *
 * @packageDocumentation
 */

export { PartitionGate } from './gate.ts'
export type { BlockDirection, BlockedPeer } from './gate.ts'
