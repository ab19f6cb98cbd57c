/**
 * Placement by the Kademlia XOR metric: key ids, distance, preference lists (pure, in `xor.ts`) and
 * `Placement`, which names a key's home replicas from the member view or, when the view is too
 * small and may be partial, through a short kad-dht `getClosestPeers` lookup.
 *
 * @packageDocumentation
 */

export { compareDistance, homeReplicas, keyId, peerKadId, preferenceList } from './xor.ts'
export type { Placed } from './xor.ts'
export { Placement } from './placement.ts'
export type { PlacedPeer, PlacementComponents, PlacementOptions } from './placement.ts'
