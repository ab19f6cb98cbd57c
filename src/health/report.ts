/**
 * The shapes of `GET /v1/health` and `GET /v1/events` (the contract shared with `/metrics` and the
 * CLI views, issue #18), and the pure function that turns counts into a verdict with reasons.
 */

/** The verdicts, best first. */
export type Verdict = 'healthy' | 'degraded' | 'at-risk' | 'unavailable'

/** The severities a reason can have (a reason never says "healthy"). */
export type Severity = Exclude<Verdict, 'healthy'>

/** One reason for a verdict worse than healthy: its cause first, then what it does to the data. */
export interface HealthReason {
  severity: Severity
  /** what happened, e.g. "peer 12D3…a1b2 dead 41 s" */
  cause: string
  /** what it does, e.g. "312 keys have 2 of 3 copies; re-replication 64 %, ETA 20 s" */
  effect: string
  /** the peers involved (full ids) */
  peers: string[]
  /** up to 20 sample keys affected, as strings (UTF-8, invalid bytes replaced) */
  keys: string[]
}

/** A fact worth showing that does not make the verdict worse (a dead member whose keys were re-replicated). */
export interface HealthNote {
  cause: string
  effect: string
  peers: string[]
}

/** Replication safety over the keys this peer is the first live home replica of. */
export interface SafetyCounts {
  /** keys with fewer than N confirmed copies among their live home replicas */
  underReplicated: number
  /** keys with fewer than W live home replicas */
  writeUnavailable: number
  /** keys with fewer than R live home replicas */
  readUnavailable: number
  /** keys with one confirmed copy only: one more failure loses them */
  singleCopy: number
}

/** Re-replication after a membership change, while keys are under-replicated. */
export interface Rereplication {
  active: boolean
  /** keys restored to N confirmed copies since the episode began */
  done: number
  /** the most keys under-replicated at once during the episode */
  total: number
  /** done / total (0…1) */
  progress: number
  /** keys restored per second since the episode began */
  rate: number
  /** remaining / rate, once there is a rate */
  etaSeconds: number | null
}

/** The body of `GET /v1/health`. */
export interface HealthReport {
  verdict: Verdict
  /** whose view this is */
  peerId: string
  /** the daemon can serve requests at all */
  serving: boolean
  checkedAt: string
  /** members by state, this peer included */
  members: { alive: number, suspect: number, dead: number, left: number, total: number }
  /**
   * this peer's view digest (hex) and how many live members last announced the same one, another
   * one, or none since this view last changed (`unknown`)
   */
  view: { digest: string, agreeing: number, disagreeing: number, unknown: number, disagreeingPeers: string[] }
  keys: { primary: number } & SafetyCounts
  rereplication: Rereplication | null
  reasons: HealthReason[]
  notes: HealthNote[]
  /** N, R and W the counts were made with */
  replication: { n: number, r: number, w: number }
}

/** One membership transition, as `GET /v1/events` sends it (`event: member`). */
export interface MemberEvent {
  peerId: string
  state: string
  previous?: string
  at: string
}

const RANK: Record<Verdict, number> = { healthy: 0, degraded: 1, 'at-risk': 2, unavailable: 3 }

/** The worse of two verdicts. */
export function worse (a: Verdict, b: Verdict): Verdict {
  return RANK[b] > RANK[a] ? b : a
}

/** The verdict the reasons add up to. */
export function verdictOf (serving: boolean, reasons: HealthReason[]): Verdict {
  if (!serving) return 'unavailable'
  return reasons.reduce<Verdict>((v, r) => worse(v, r.severity), 'healthy')
}

/** "41 s", "3 min", "2 h": a duration in a sentence. */
export function ago (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}
