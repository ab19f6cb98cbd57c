/** One open connection as the trimmer sees it. */
export interface TrimCandidate<C> {
  connection: C
  /** the remote peer (string form) */
  peer: string
  /** when the connection opened (ms since the epoch) */
  opened: number
  /** when work with its peer last began or ended (ms), 0 if never */
  lastUsed: number
  /** requests with its peer in flight now (`acquire()` not yet released) */
  inFlight: number
  /** its peer is in the protected XOR neighbourhood */
  protected: boolean
  /**
   * A spare duplicate: its peer has another open connection and this one carries no stream (two
   * peers dialled each other at once). It is closed like an idle one even when its peer is busy or
   * protected — no work can be on it — once it is `idleAfter` old. @default false
   */
  spare?: boolean
}

/** What `chooseToTrim` answers. */
export interface TrimChoice<C> {
  /** close these, least recently used first */
  close: C[]
  /**
   * The earliest time (ms) a connection now spared only by its grace period leaves it, when the
   * target was not reached: the next pass is worth running then. Undefined otherwise.
   */
  retryAt?: number
}

/**
 * Which connections to close so that at most `target` stay open (the budget's low watermark):
 * never one whose peer has work in flight or is protected, never one opened less than `grace` ms
 * before `now` and not used since, never one whose peer's last use ended less than `idleAfter` ms
 * before `now`; of the others, the least recently used (last use, else opening) first. Pure: the
 * budget feeds it the connections and closes what it names.
 */
export function chooseToTrim<C> (candidates: ReadonlyArray<TrimCandidate<C>>, target: number, now: number, grace: number, idleAfter = grace): TrimChoice<C> {
  const excess = candidates.length - Math.max(0, target)
  if (excess <= 0) return { close: [] }
  let retryAt: number | undefined
  const idle: Array<TrimCandidate<C> & { since: number }> = []
  for (const c of candidates) {
    if (c.spare === true) {
      if (now - c.opened < idleAfter) retryAt = Math.min(retryAt ?? Infinity, c.opened + idleAfter)
      // spares go first: sorted as if unused since long before anything else
      else idle.push({ ...c, since: -Infinity })
      continue
    }
    if (c.inFlight > 0 || c.protected) continue
    const used = c.lastUsed >= c.opened
    const since = used ? c.lastUsed : c.opened
    const wait = used ? idleAfter : grace
    if (now - since < wait) {
      retryAt = Math.min(retryAt ?? Infinity, since + wait)
      continue
    }
    idle.push({ ...c, since })
  }
  idle.sort((a, b) => a.since - b.since || (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))
  const close = idle.slice(0, excess).map(c => c.connection)
  return close.length < excess && retryAt != null ? { close, retryAt } : { close }
}
