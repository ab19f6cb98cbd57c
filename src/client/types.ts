/**
 * The health answer as the client reads it: the server's types (src/health), with what an older or
 * leaner daemon may leave out made optional.
 */

import type { HealthNote as ServerHealthNote, HealthReason as ServerHealthReason, HealthReport, Verdict } from '../health/index.ts'

export type { Verdict }

/** One reason for a verdict, cause first (`peer …a1b2 dead 41 s` → `312 keys have 2 of 3 copies`). */
export type HealthReason = Pick<ServerHealthReason, 'severity' | 'cause'> & Partial<Pick<ServerHealthReason, 'effect' | 'peers' | 'keys'>>

/** Something worth knowing that does not count against the verdict. */
export type HealthNote = Pick<ServerHealthNote, 'cause' | 'effect'> & Partial<Pick<ServerHealthNote, 'peers'>>

/**
 * `GET /v1/health` (issue #18's shared contract): one peer's verdict on whether its data is safe,
 * with the counts behind it. Fields beyond `verdict`, `peerId` and `reasons` are optional here so
 * that a daemon sending fewer still reads.
 */
export interface HealthJson {
  verdict: Verdict
  /** whose view this is */
  peerId: string
  /** whether the daemon can serve requests at all */
  serving?: boolean
  checkedAt?: string
  members?: HealthReport['members']
  view?: { digest?: string, agreeing: number, disagreeing: number, unknown: number }
  keys?: HealthReport['keys']
  rereplication?: { active: boolean, done: number, total: number, progress: number, etaSeconds?: number | null } | null
  reasons: HealthReason[]
  /** what does not count against the verdict, e.g. a dead member whose keys have N copies again */
  notes?: HealthNote[]
  /** set by the client, never by a daemon: this verdict was derived from `/v1/status` because the daemon has no `/v1/health` */
  derived?: true
}
