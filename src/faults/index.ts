/**
 * Fault injection for test nets and the consistency checker: partitions enforced by a libp2p
 * connection gater inside each peer, and a lab of network namespaces whose partitions and packet
 * loss the kernel enforces.
 *
 * @packageDocumentation
 */

export { PartitionGate } from './gate.ts'
export type { BlockDirection, BlockedPeer } from './gate.ts'
export { NetnsLab, NETNS_LAB_MAX_HOSTS, NetnsHost, cleanupStaleLabs } from './netns/index.ts'
export type { NetnsLabAvailability, NetnsLabInit } from './netns/index.ts'
