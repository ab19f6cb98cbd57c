/**
 * The connection budget (issue #16): at most `maxConnections` open connections per peer, whatever
 * the network's size. The XOR neighbourhood (the members this peer shares the most replica sets
 * with) and peers with work in flight are kept; other connections are opened on demand (SWIM
 * probes, forwards, replica requests) and closed when idle, least recently used first.
 *
 * @packageDocumentation
 */

export { ConnectionBudget } from './budget.ts'
export type { ConnectionBudgetComponents, ConnectionBudgetInit } from './budget.ts'
export { chooseToTrim } from './choose.ts'
export type { TrimCandidate, TrimChoice } from './choose.ts'
export { AddressCaps, ipOf } from './address-caps.ts'
export type { AddressCapsInit } from './address-caps.ts'
