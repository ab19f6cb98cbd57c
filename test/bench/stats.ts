/**
 * Latency and throughput from timed samples: a bounded load runner (a fixed number of operations,
 * a fixed number in flight, a wall-clock limit, a deadline per operation) and the p50 / p99 / ops/s
 * summary every latency block of the benchmark reports.
 *
 * @packageDocumentation
 */

import { setMaxListeners } from 'node:events'
import { performance } from 'node:perf_hooks'

/** What every latency figure of the benchmark reports (`--json` keeps these four names). */
export interface LatencyBlock {
  /** median latency of the successful operations, ms */
  p50Ms: number
  /** 99th percentile (nearest rank), ms */
  p99Ms: number
  /** successful operations per second of wall time while the runs lasted */
  opsPerSec: number
  /** how many successful operations the percentiles are computed from */
  samples: number
}

/** A latency block plus what went wrong and how it was driven. */
export interface MeasuredBlock extends LatencyBlock {
  /** operations in flight at once */
  inFlight: number
  /** failed operations (not in the percentiles); by error name in `errorNames` */
  errors: number
  errorNames?: Record<string, number>
  /** scenario-specific counts (e.g. kad-dht QUERY_ERROR events), summed over the runs */
  counters?: Record<string, number>
}

/** The raw outcome of one bounded run. */
export interface RunResult {
  latenciesMs: number[]
  wallMs: number
  errors: number
  errorNames: Record<string, number>
  counters?: Record<string, number>
}

/** One operation: `i` counts from 0; it must honour `signal` (its deadline). */
export type Operation = (i: number, signal: AbortSignal) => Promise<void>

/** Bounds of one run. */
export interface LoadInit {
  /** operations to start at most */
  count: number
  /** operations in flight at once */
  inFlight: number
  /** no new operation starts after this many ms */
  timeLimitMs: number
  /** deadline of each operation, ms */
  opTimeoutMs: number
}

/**
 * Runs `op` `count` times with `inFlight` workers, each starting its next operation as soon as its
 * last one ended, until the count or the time limit is reached. Failures are counted, never thrown:
 * a benchmark reports them next to the latencies of what succeeded.
 */
export async function runLoad (op: Operation, init: LoadInit): Promise<RunResult> {
  const latenciesMs: number[] = []
  const errorNames: Record<string, number> = {}
  let errors = 0
  let next = 0
  const start = performance.now()
  const stopAt = start + init.timeLimitMs
  const worker = async (): Promise<void> => {
    while (next < init.count && performance.now() < stopAt) {
      const i = next++
      const began = performance.now()
      try {
        const signal = AbortSignal.timeout(init.opTimeoutMs)
        // kad-dht adds a listener per query path and peer: past Node's threshold of 10 at 50 nodes
        setMaxListeners(Infinity, signal)
        await op(i, signal)
        latenciesMs.push(performance.now() - began)
      } catch (err) {
        errors++
        const name = err instanceof Error ? err.name : 'Error'
        errorNames[name] = (errorNames[name] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, init.inFlight) }, worker))
  return { latenciesMs, wallMs: performance.now() - start, errors, errorNames }
}

/** Nearest-rank percentile of ascending `sorted` (p in 0–100); NaN when empty. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN
}

/**
 * Collects the runs of one scenario at one concurrency across interleaved rounds, so that drift of
 * the machine over the whole benchmark hits every scenario alike.
 */
export class Accumulator {
  private readonly latencies: number[] = []
  private wallMs = 0
  private errors = 0
  private readonly errorNames: Record<string, number> = {}
  private readonly counters: Record<string, number> = {}
  private hasCounters = false
  readonly inFlight: number

  constructor (inFlight: number) {
    this.inFlight = inFlight
  }

  /** Adds one run. */
  add (run: RunResult): void {
    this.latencies.push(...run.latenciesMs)
    this.wallMs += run.wallMs
    this.errors += run.errors
    addCounts(this.errorNames, run.errorNames)
    if (run.counters != null) {
      this.hasCounters = true
      addCounts(this.counters, run.counters)
    }
  }

  /** The summary of every run added so far. */
  summary (): MeasuredBlock {
    const sorted = [...this.latencies].sort((a, b) => a - b)
    const block: MeasuredBlock = {
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      opsPerSec: this.wallMs > 0 ? round(sorted.length / (this.wallMs / 1000), 1) : 0,
      samples: sorted.length,
      inFlight: this.inFlight,
      errors: this.errors
    }
    if (this.errors > 0) block.errorNames = { ...this.errorNames }
    if (this.hasCounters) block.counters = { ...this.counters }
    return block
  }
}

function addCounts (into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, count] of Object.entries(from)) into[name] = (into[name] ?? 0) + count
}

/** Summarizes a single run. */
export function summarize (run: RunResult, inFlight: number): MeasuredBlock {
  const acc = new Accumulator(inFlight)
  acc.add(run)
  return acc.summary()
}

/** Rounds for the report: 3 decimals by default; NaN stays NaN (JSON writes it as null). */
export function round (x: number, decimals = 3): number {
  const f = 10 ** decimals
  return Math.round(x * f) / f
}

/** Median and maximum of a few trial figures (join times). */
export function medianMax (xs: number[]): { medianMs: number, maxMs: number, trials: number } {
  const sorted = [...xs].sort((a, b) => a - b)
  return { medianMs: round(percentile(sorted, 50), 1), maxMs: round(sorted.at(-1) ?? Number.NaN, 1), trials: xs.length }
}
