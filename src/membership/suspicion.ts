/**
 * Lifeguard's dynamic suspicion timeout (Dadgar, Phillips, Currey, "Lifeguard: Local Health
 * Awareness for More Accurate Failure Detection", 2018, section 4.2): a suspicion starts with a long
 * timeout that shrinks logarithmically as independent peers confirm it, down to a floor that grows
 * with log(n) (SWIM section 4.1). A lone, possibly unhealthy accuser waits long; a suspicion that
 * many peers share completes quickly.
 */

/** Parameters of the suspicion timeout. */
export interface SuspicionTimeoutInit {
  /** members in the group (including us) */
  members: number
  /** the protocol period, in ms */
  probeInterval: number
  /** the floor is `mult × max(1, log10(members)) × probeInterval` (memberlist's SuspicionMult) */
  mult: number
  /** the starting timeout is `maxMult × floor` (memberlist's SuspicionMaxTimeoutMult) */
  maxMult: number
  /** independent confirmations expected before the floor is reached (the indirect checks, k) */
  expectedConfirmations: number
}

/** The floor and the starting value of the suspicion timeout, in ms. */
export function suspicionBounds (init: Omit<SuspicionTimeoutInit, 'expectedConfirmations'>): { min: number, max: number } {
  const min = init.mult * Math.max(1, Math.log10(Math.max(1, init.members))) * init.probeInterval
  return { min, max: init.maxMult * min }
}

/**
 * The timeout after `confirmations` independent confirmations:
 * `max − (max − min) × log(c + 1) / log(k + 1)`, never below `min`.
 */
export function suspicionTimeout (init: SuspicionTimeoutInit, confirmations: number): number {
  const { min, max } = suspicionBounds(init)
  // with no confirmation to expect (a group of two), the floor applies at once
  if (init.expectedConfirmations < 1) return min
  const k = init.expectedConfirmations
  const frac = Math.min(1, Math.log(confirmations + 1) / Math.log(k + 1))
  return Math.max(min, Math.floor(max - (max - min) * frac))
}
