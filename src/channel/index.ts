/**
 * Request/response over one long-lived libp2p stream per peer: `RequestChannel` multiplexes many
 * requests on a stream by id (each with its own deadline and abort signal), and `ChannelPool` opens
 * one channel per peer on demand and reopens it after a failure, and `FrameReader` reads the
 * requests on the serving side. The kv RPC and membership both
 * use them; each protocol supplies its own framing. A new stream per request costs a protocol
 * negotiation round trip (DESIGN 7), and most of an idle peer's CPU.
 *
 * @packageDocumentation
 */

export { RequestChannel, isEndOfStream } from './request-channel.ts'
export type { RequestChannelInit, RequestOptions } from './request-channel.ts'
export { FrameReader } from './frame-reader.ts'
export type { FrameReaderInit } from './frame-reader.ts'
export { ChannelPool } from './pool.ts'
export { InboundBudget } from './inbound-budget.ts'
export type { BudgetWatch, InboundBudgetInit } from './inbound-budget.ts'
export { OutboundBudget } from './outbound-budget.ts'
export type { OutboundBudgetInit, OutboundShare } from './outbound-budget.ts'
export type { ChannelOpenOptions, PooledChannel } from './pool.ts'
export { frameOffence } from './penalty.ts'
export type { Penaliser, PenaltyReason } from './penalty.ts'
export { WriteGuard } from './write-guard.ts'
export type { WriteGuardInit } from './write-guard.ts'
