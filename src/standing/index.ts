/**
 * Penalties and bans (issue #19): every peer's standing, scored by the protocol handlers when it
 * sends what an honest peer never does, recovering with a half-life; past a threshold the peer is
 * disconnected and refused for a while, with one log line per ban and per unban.
 *
 * @packageDocumentation
 */

export { Standing, duration } from './standing.ts'
export type { Ban, StandingComponents, StandingEvents, StandingInit } from './standing.ts'
