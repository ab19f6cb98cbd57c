import { API_AUTH_FAILURE_ADDRESSES, API_AUTH_FAILURE_LIMIT, API_AUTH_FAILURE_WINDOW } from '../constants.ts'

/** Options of `AuthFailures`. */
export interface AuthFailuresInit {
  /** failed authentications one address may make per window. @default API_AUTH_FAILURE_LIMIT (200) */
  limit?: number
  /** the window in ms. @default API_AUTH_FAILURE_WINDOW (60 s) */
  window?: number
  /** most addresses counted at once; past it the oldest is forgotten. @default API_AUTH_FAILURE_ADDRESSES */
  maxAddresses?: number
  /** the clock. @default Date.now */
  now?: () => number
}

interface Count {
  since: number
  failures: number
}

/**
 * Failed authentications per client IP address, in fixed windows (issue #19): an address that
 * failed `limit` times within one window is refused (429) for the rest of it: a client that
 * guesses tokens, or floods with a bad one, is told to stop, and is counted in no more than one
 * entry. A valid token is still checked first and works. The table is
 * bounded: past `maxAddresses` the address counted longest ago is forgotten. Pure state, O(1) per
 * call.
 */
export class AuthFailures {
  private readonly limit: number
  private readonly window: number
  private readonly maxAddresses: number
  private readonly now: () => number
  private readonly counts = new Map<string, Count>()
  private refusedTotal = 0

  constructor (init: AuthFailuresInit = {}) {
    this.limit = init.limit ?? API_AUTH_FAILURE_LIMIT
    this.window = init.window ?? API_AUTH_FAILURE_WINDOW
    this.maxAddresses = init.maxAddresses ?? API_AUTH_FAILURE_ADDRESSES
    this.now = init.now ?? Date.now
  }

  /** whether `address` used up its failures in the current window (then counts one refusal) */
  refuses (address: string): boolean {
    const count = this.current(address)
    if (count == null || count.failures < this.limit) return false
    this.refusedTotal++
    return true
  }

  /** ms until `address` may try again (0 when it may now) */
  retryAfter (address: string): number {
    const count = this.current(address)
    if (count == null || count.failures < this.limit) return 0
    return Math.max(0, count.since + this.window - this.now())
  }

  /** counts one failed authentication of `address` */
  fail (address: string): void {
    let count = this.current(address)
    if (count == null) {
      if (this.counts.size >= this.maxAddresses) {
        const oldest = this.counts.keys().next()
        if (oldest.done !== true) this.counts.delete(oldest.value)
      }
      count = { since: this.now(), failures: 0 }
      this.counts.set(address, count)
    }
    count.failures++
  }

  /** addresses counted now (at most `maxAddresses`) */
  get size (): number {
    return this.counts.size
  }

  /** requests refused with a 429 since start */
  get refused (): number {
    return this.refusedTotal
  }

  /** the count of `address` in the current window (an ended window is forgotten) */
  private current (address: string): Count | undefined {
    const count = this.counts.get(address)
    if (count == null) return undefined
    if (this.now() - count.since >= this.window) {
      this.counts.delete(address)
      return undefined
    }
    return count
  }
}
