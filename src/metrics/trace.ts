/**
 * Request traces (`?trace=1`, `p2pstore get|put|delete --trace`): what one client request did, as
 * a timeline like Cassandra's `TRACING ON` — the preference list with each peer's state, every
 * replica call's send and reply (or failure), which replies formed the quorum, replies that came
 * after the answer, read repairs and hints. The coordinator records into a `RequestTrace` passed in
 * its options; without one nothing is recorded and nothing costs.
 */

/** One line of a trace. */
export interface TraceEvent {
  /** milliseconds since the request started */
  ms: number
  /** the peer concerned (a full id), when there is one */
  peer?: string
  /**
   * `preference` (a member of the preference list), `send`, `reply`, `fail`, `quorum`, `answer`,
   * `late` (a reply after the answer), `repair`, `hint`, `forward`, `note`
   */
  kind: 'preference' | 'send' | 'reply' | 'fail' | 'quorum' | 'answer' | 'late' | 'repair' | 'hint' | 'forward' | 'note'
  /** what happened, for people */
  activity: string
}

/** A trace as the API returns it. */
export interface TraceJson {
  /** the peer that coordinated (or took) the request */
  coordinator: string
  /** when it started (ISO time) */
  started: string
  /** milliseconds from the start to the answer (undefined: no answer yet) */
  answeredMs?: number
  events: TraceEvent[]
}

/**
 * Most events one trace keeps, and the longest activity text: a request touches N replicas and a
 * few fallbacks, and the trace travels in one HTTP header (Node's clients take 16 KiB of headers).
 */
const MAX_EVENTS = 64
const MAX_ACTIVITY = 240

/** The recorder of one request's trace. */
export class RequestTrace {
  private readonly origin = performance.now()
  private readonly startedAt = new Date()
  private readonly coordinator: string
  private readonly events: TraceEvent[] = []
  private readonly pending = new Set<Promise<unknown>>()
  private answered?: number

  constructor (coordinator: string) {
    this.coordinator = coordinator
  }

  /** Records one event now. */
  note (kind: TraceEvent['kind'], activity: string, peer?: string): void {
    if (this.events.length >= MAX_EVENTS) return
    const ms = Math.round((performance.now() - this.origin) * 1000) / 1000
    const text = activity.length > MAX_ACTIVITY ? `${activity.slice(0, MAX_ACTIVITY - 1)}…` : activity
    this.events.push(peer == null ? { ms, kind, activity: text } : { ms, peer, kind, activity: text })
  }

  /** Records the preference list: each peer, its place, its state, whether it is a home replica. */
  preference (list: Array<{ peerId: { toString(): string }, state?: string }>, n: number): void {
    list.forEach((p, i) => {
      this.note('preference', `${i < n ? 'home replica' : 'fallback'} ${i + 1}, ${p.state ?? 'alive'}`, p.peerId.toString())
    })
  }

  /**
   * Records a replica call: its send now, and its reply or failure when it settles (a `late` one
   * after the answer). Returns `promise` itself.
   */
  call<T> (peer: string, what: string, promise: Promise<T>, describe?: (value: T) => string): Promise<T> {
    this.note('send', what, peer)
    const watched = promise.then(value => {
      const detail = describe == null ? '' : `: ${describe(value)}`
      this.note(this.answered == null ? 'reply' : 'late', `${what} ok${detail}`, peer)
    }, (err: unknown) => {
      const e = err as Error | undefined
      this.note(this.answered == null ? 'fail' : 'late', `${what} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, peer)
    })
    this.track(watched)
    return promise
  }

  /** Keeps the trace open until `work` settles (within the grace of `settle()`). */
  track (work: Promise<unknown>): void {
    const tracked = work.then(() => {}, () => {})
    this.pending.add(tracked)
    void tracked.finally(() => this.pending.delete(tracked))
  }

  /** Marks the answer to the client: later replies are late. */
  answer (activity: string): void {
    if (this.answered != null) return
    this.note('answer', activity)
    this.answered = performance.now()
  }

  /**
   * Waits until every call and repair recorded has settled, or `graceMs` passed: late replies and
   * read repairs get a short while to show up in the trace.
   */
  async settle (graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs
    while (this.pending.size > 0) {
      const left = deadline - performance.now()
      if (left <= 0) {
        this.note('note', `${this.pending.size} call${this.pending.size === 1 ? '' : 's'} still running after the ${graceMs} ms grace`)
        return
      }
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.allSettled([...this.pending]), new Promise(resolve => { timer = setTimeout(resolve, left) })])
      clearTimeout(timer)
    }
  }

  toJSON (): TraceJson {
    const answeredMs = this.answered == null ? undefined : Math.round((this.answered - this.origin) * 1000) / 1000
    return { coordinator: this.coordinator, started: this.startedAt.toISOString(), answeredMs, events: this.events.slice().sort((a, b) => a.ms - b.ms) }
  }
}

/** `promise`, recorded in `trace` when there is one (the coordinator's one-liner). */
export function traced<T> (trace: RequestTrace | undefined, peer: string, what: string, promise: Promise<T>, describe?: (value: T) => string): Promise<T> {
  return trace == null ? promise : trace.call(peer, what, promise, describe)
}

/**
 * A trace as text lines, like Cassandra's `TRACING ON`: elapsed time, source peer, activity.
 * `shorten` abbreviates peer ids.
 */
export function formatTrace (trace: TraceJson, shorten: (peer: string) => string = p => p): string[] {
  const rows = trace.events.map(e => [`${e.ms.toFixed(3)} ms`, e.peer == null ? '-' : shorten(e.peer), e.kind, e.activity])
  const widths = [0, 1, 2].map(i => Math.max(...rows.map(r => r[i]?.length ?? 0), ['elapsed', 'peer', 'event'][i]?.length ?? 0))
  const pad = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join(' | ')
  return [
    `Tracing request on coordinator ${shorten(trace.coordinator)}, started ${trace.started}${trace.answeredMs == null ? '' : `, answered after ${trace.answeredMs.toFixed(3)} ms`}`,
    '',
    pad(['elapsed', 'peer', 'event', 'activity']),
    pad(widths.map(w => '-'.repeat(w)).concat(['--------'])),
    ...rows.map(pad)
  ]
}
