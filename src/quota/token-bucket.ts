/** Options of a TokenBucket. */
export interface TokenBucketInit {
  /** tokens added per second */
  rate: number
  /** most tokens the bucket holds (what may be spent at once); the bucket starts full */
  burst: number
  /** the clock, in ms. @default performance.now */
  now?: () => number
}

/**
 * A token bucket: `rate` tokens a second, at most `burst` held. Over any stretch of `t` seconds at
 * most `burst + rate × t` tokens are taken — the bound the kv quotas promise (issue #19) — plus,
 * when one take asks for more than the burst, that take's excess: it is let through once the
 * bucket is full and leaves it in debt, paid back at `rate` before anything else is let through.
 * So nothing waits forever and the rate still holds. Refilled lazily from the clock on every call,
 * so an idle bucket costs nothing.
 */
export class TokenBucket {
  readonly rate: number
  readonly burst: number
  private readonly now: () => number
  private tokens: number
  private last: number

  constructor (init: TokenBucketInit) {
    if (!(init.rate > 0) || !Number.isFinite(init.rate)) throw new RangeError(`rate must be a positive number, got ${init.rate}`)
    if (!(init.burst > 0) || !Number.isFinite(init.burst)) throw new RangeError(`burst must be a positive number, got ${init.burst}`)
    this.rate = init.rate
    this.burst = init.burst
    this.now = init.now ?? (() => performance.now())
    this.tokens = init.burst
    this.last = this.now()
  }

  /** Tokens held now (fractional). */
  get available (): number {
    this.refill()
    return this.tokens
  }

  /** Whether the bucket is full again: it then behaves exactly as a new one. */
  get full (): boolean {
    return this.available >= this.burst
  }

  /**
   * How long (ms, rounded up) until `n` tokens — or, for more than `burst`, a full bucket — are
   * held; 0 when they are now. Takes nothing.
   */
  delay (n: number): number {
    this.refill()
    const need = Math.min(n, this.burst)
    // a hair's breadth short (floating point) after waiting exactly what was said counts as there
    if (this.tokens >= need - 1e-9) return 0
    return Math.max(1, Math.ceil((need - this.tokens) * 1000 / this.rate))
  }

  /**
   * Takes `n` tokens if they are held now and returns 0; otherwise takes nothing and returns the
   * wait in ms before they will be (see `delay`).
   */
  take (n: number): number {
    const wait = this.delay(n)
    if (wait === 0) this.tokens -= n
    return wait
  }

  /** Takes `n` tokens that `delay(n)` just said are there (the quotas take from several buckets at once); more than `burst` leaves a debt. */
  spend (n: number): void {
    this.tokens -= n
  }

  private refill (): void {
    const now = this.now()
    // a clock that went back adds nothing
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate / 1000)
    this.last = now
  }
}
