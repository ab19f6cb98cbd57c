/**
 * Membership and failure detection: SWIM gossip with Lifeguard's local-health awareness on
 * `/p2pstore/membership/1.0.0`. Placement builds preference lists from the members that are alive
 * or suspect; the data plane listens to `member:update` events.
 *
 * `SwimCore` holds all of the logic and does no I/O (time, randomness and the transport are
 * injected): `Membership` drives it over libp2p, a simulator drives it in simulated time.
 *
 * @packageDocumentation
 */

export { Membership } from './swim.ts'
export type { MembershipComponents, MembershipInit } from './swim.ts'
export { SwimCore, SWIM_REQUESTS, pushPullInterval, syncBuckets, systemClock } from './core.ts'
export type { LiveMember, MembershipEvents, MembershipTraffic, SwimClock, SwimCoreComponents, SwimCoreInit, SwimReply, SwimRequestOptions, SwimTimer, SwimTransport } from './core.ts'
export type { MemberRecord, MemberState } from './members.ts'
