/**
 * Small helpers every floor may use, each written once: whether a pid is alive, an atomic file
 * write, polling a condition until it holds, and the short forms of a peer id. Nothing here imports anything of ours.
 *
 * @packageDocumentation
 */

export { isAlive } from './pid.ts'
export { writeFileAtomic } from './atomic-write.ts'
export type { WriteFileAtomicOptions } from './atomic-write.ts'
export { peerIdTail, shortPeerId } from './peer-id.ts'
export { pollUntil } from './poll.ts'
export type { PollInit } from './poll.ts'
