/**
 * Health (issue #18): replication safety over the keys this peer is the first live home replica
 * of, the verdict with its reasons cause first, the member view's digest, and the recent member
 * transitions — what `GET /v1/health`, `GET /v1/events`, the `/ui` page and the safety gauges of
 * `/metrics` show.
 *
 * @packageDocumentation
 */

export { Health } from './health.ts'
export type { HealthComponents, HealthEvents, HealthInit, SafetySource } from './health.ts'
export type { HealthNote, HealthReason, HealthReport, MemberEvent, Rereplication, SafetyCounts, Severity, Verdict } from './report.ts'
