/**
 * Membership and failure detection: SWIM gossip with Lifeguard's local-health awareness on
 * `/p2pstore/membership/1.0.0`. Placement builds preference lists from the members that are alive
 * or suspect; the data plane listens to `member:update` events.
 *
 * @packageDocumentation
 */

export { Membership } from './swim.ts'
export type { LiveMember, MembershipComponents, MembershipEvents, MembershipInit, MembershipTraffic } from './swim.ts'
export type { MemberRecord, MemberState } from './members.ts'
