/**
 * Who belongs to a closed network: rosters of member peer ids signed by an operator key, the
 * admission decision built on the newest one (a libp2p connection gater plus `admits()` for
 * protocol handlers), roster gossip on `/p2pstore/roster/1.0.0`, and the roster and operator key
 * files. See SECURITY.md, "Admission: closed networks".
 *
 * @packageDocumentation
 */

export { Admission } from './admission.ts'
export type { AdmissionComponents, AdmissionEvents, AdmissionInit } from './admission.ts'
export { RosterGossip } from './gossip.ts'
export type { RosterGossipComponents, RosterGossipInit } from './gossip.ts'
export { networkIdOf, signRoster, verifyRoster } from './roster.ts'
export type { Roster, RosterMember, VerifyRosterOptions } from './roster.ts'
export { armourRoster, createOperatorKey, dearmourRoster, loadCredentials, readOperatorKey, saveNetwork, saveRoster } from './file.ts'
export type { Credentials } from './file.ts'
