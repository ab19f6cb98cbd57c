/** Types of the API answers the client reads that the server side does not define (yet). */

/** A health verdict, worst last: what `GET /v1/health` answers and `status --check` exits with. */
export type Verdict = 'healthy' | 'degraded' | 'at-risk' | 'unavailable'

/** One reason for a verdict, cause first (`peer …a1b2 dead 41 s` → `312 keys have 2 of 3 copies`). */
export interface HealthReason {
  severity: Exclude<Verdict, 'healthy'>
  cause: string
  effect?: string
  peers?: string[]
  keys?: string[]
}

/** Something worth knowing that does not count against the verdict. */
export interface HealthNote {
  cause: string
  effect: string
  peers?: string[]
}

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
  members?: { alive: number, suspect: number, dead: number, left: number, total: number }
  view?: { digest?: string, agreeing: number, disagreeing: number, unknown: number }
  keys?: { primary: number, underReplicated: number, writeUnavailable: number, readUnavailable: number, singleCopy: number }
  rereplication?: { active: boolean, done: number, total: number, progress: number, etaSeconds?: number | null } | null
  reasons: HealthReason[]
  /** what does not count against the verdict, e.g. a dead member whose keys have N copies again */
  notes?: HealthNote[]
  /** set by the client, never by a daemon: this verdict was derived from `/v1/status` because the daemon has no `/v1/health` */
  derived?: true
}
