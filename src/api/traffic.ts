import { UI_TRAFFIC_PERIOD, UI_TRAFFIC_SAMPLES } from '../constants.ts'

/** One period of the kv API's traffic, for the status page's strip. */
export interface TrafficSample {
  /** start of the period (ms since the epoch) */
  at: number
  requests: number
  /** answers with status 500 or more */
  errors: number
  /** median and 99th-percentile latency (ms) of the period's requests; 0 without requests */
  p50: number
  p99: number
}

const MAX_DURATIONS = 1000

/**
 * The kv API's recent traffic in fixed periods (`UI_TRAFFIC_PERIOD`, the last `UI_TRAFFIC_SAMPLES`):
 * what the status page draws as sparklines. Recording is O(1); at most 1000 durations are kept per
 * period (a uniform sample beyond that), so a busy API costs the same memory as a quiet one.
 */
export class Traffic {
  private readonly period: number
  private readonly keep: number
  private readonly buckets: Array<{ at: number, requests: number, errors: number, durations: number[] }> = []

  constructor (init: { period?: number, keep?: number } = {}) {
    this.period = init.period ?? UI_TRAFFIC_PERIOD
    this.keep = init.keep ?? UI_TRAFFIC_SAMPLES
  }

  /** Counts one answered request. */
  record (status: number, ms: number, now = Date.now()): void {
    const at = now - (now % this.period)
    let bucket = this.buckets[this.buckets.length - 1]
    if (bucket == null || bucket.at !== at) {
      bucket = { at, requests: 0, errors: 0, durations: [] }
      this.buckets.push(bucket)
      if (this.buckets.length > this.keep) this.buckets.shift()
    }
    bucket.requests++
    if (status >= 500) bucket.errors++
    if (bucket.durations.length < MAX_DURATIONS) bucket.durations.push(ms)
    else {
      // reservoir sampling keeps a uniform sample of the period's durations
      const i = Math.floor(Math.random() * bucket.requests)
      if (i < MAX_DURATIONS) bucket.durations[i] = ms
    }
  }

  /** The last `keep` periods up to now, oldest first, quiet ones as zeros. */
  samples (now = Date.now()): TrafficSample[] {
    const last = now - (now % this.period)
    const byAt = new Map(this.buckets.map(b => [b.at, b]))
    const out: TrafficSample[] = []
    for (let i = this.keep - 1; i >= 0; i--) {
      const at = last - i * this.period
      const b = byAt.get(at)
      const sorted = [...(b?.durations ?? [])].sort((x, y) => x - y)
      out.push({ at, requests: b?.requests ?? 0, errors: b?.errors ?? 0, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) })
    }
    return out
  }
}

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
