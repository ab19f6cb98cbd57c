/**
 * Placement by the Kademlia XOR metric on virtual positions: key ids, distance (pure, in `xor.ts`),
 * each member's positions and the placement table that ranks them with capacities and zones (pure,
 * in `positions.ts`), and `Placement`, which names a key's home replicas from the member view or,
 * when the view is too small and may be partial, through a short kad-dht `getClosestPeers` lookup;
 * `neighbourhood` ranks the members a peer shares replica sets with (pure, in `neighbourhood.ts`).
 *
 * @packageDocumentation
 */

export { compareDistance, homeReplicas, keyId, peerKadId, preferenceList } from './xor.ts'
export type { Placed } from './xor.ts'
export { PlacementTable, memberPositions, placedPreferenceList, positionCount, prefix32, takeFallback } from './positions.ts'
export type { PlacedMember } from './positions.ts'
export { neighbourhood } from './neighbourhood.ts'
export type { Neighbour } from './neighbourhood.ts'
export { Placement, viewFingerprint } from './placement.ts'
export type { PlacedPeer, PlacementComponents, PlacementOptions, PreferenceListOptions } from './placement.ts'
