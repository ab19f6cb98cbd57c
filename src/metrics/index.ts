/**
 * Observability: one prom-client registry per peer with p2pstore's metric families and libp2p's
 * own (`PeerMetrics`), and request traces (`RequestTrace`). It sits low in the floors so that
 * storage, membership and replication can record into it without import cycles; each takes it as
 * an optional `metrics` component and records nothing without one.
 *
 * @packageDocumentation
 */

export { PeerMetrics, errorOutcome, LATENCY_BUCKETS } from './peer-metrics.ts'
export type { MetricsSources, PeerMetricsInit, RequestOp, RequestOutcome, SafetyObserver, SafetySource } from './peer-metrics.ts'
export { Libp2pMetrics } from './libp2p.ts'
export { RequestTrace, formatTrace, traced } from './trace.ts'
export type { TraceEvent, TraceJson } from './trace.ts'
