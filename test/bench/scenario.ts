/**
 * Scenarios and the interleaved runner: every scenario runs a slice of its operations in every
 * round, at every concurrency, so that drift of a shared machine over the whole benchmark (other
 * load, thermal throttling, GC pressure growing with stored data) hits all of them alike.
 *
 * @packageDocumentation
 */

import { Accumulator } from './stats.ts'
import type { MeasuredBlock, RunResult } from './stats.ts'

/** Something measurable: `run` performs up to `count` operations with `inFlight` at once. */
export interface Scenario {
  /** dotted id, e.g. `p2pstore.get.nonReplica100B` */
  id: string
  run(inFlight: number, count: number): Promise<RunResult>
}

/** A scenario with how many operations it runs per round at each concurrency. */
export interface Planned {
  scenario: Scenario
  /** concurrency → operations per round */
  perRound: Map<number, number>
  /** operations run one at a time before the first round and not counted (JIT, connections, caches) */
  warmup: number
}

/** What the runner reports while it runs. */
export type Progress = (line: string) => void

/** Results by scenario id, then by concurrency. */
export type Results = Map<string, Map<number, MeasuredBlock>>

/**
 * Runs `rounds` rounds; in each, every planned scenario runs its slice at each of its
 * concurrencies, in plan order, after one uncounted warm-up run each. A scenario that throws (rather than counting failed operations)
 * is reported and dropped from the later rounds.
 */
export async function interleave (plan: Planned[], rounds: number, progress: Progress): Promise<Results> {
  const acc = new Map<string, Map<number, Accumulator>>()
  const dropped = new Set<string>()
  for (const { scenario, warmup } of plan) {
    if (warmup <= 0) continue
    try {
      const run = await scenario.run(1, warmup)
      progress(`warm-up ${scenario.id}: ${run.latenciesMs.length} ok, ${run.errors} failed`)
    } catch (err) {
      dropped.add(scenario.id)
      progress(`warm-up ${scenario.id}: FAILED (${(err as Error).message}); dropped`)
    }
  }
  for (let round = 1; round <= rounds; round++) {
    for (const { scenario, perRound } of plan) {
      if (dropped.has(scenario.id)) continue
      for (const [inFlight, count] of perRound) {
        let byFlight = acc.get(scenario.id)
        if (byFlight == null) acc.set(scenario.id, byFlight = new Map())
        let a = byFlight.get(inFlight)
        if (a == null) byFlight.set(inFlight, a = new Accumulator(inFlight))
        try {
          const run = await scenario.run(inFlight, count)
          a.add(run)
          progress(`round ${round}/${rounds} ${scenario.id} ×${inFlight}: ${run.latenciesMs.length} ok, ${run.errors} failed in ${(run.wallMs / 1000).toFixed(1)} s`)
        } catch (err) {
          dropped.add(scenario.id)
          progress(`round ${round}/${rounds} ${scenario.id} ×${inFlight}: FAILED (${(err as Error).message}); dropped from later rounds`)
          break
        }
      }
    }
  }
  const results: Results = new Map()
  for (const [id, byFlight] of acc) results.set(id, new Map([...byFlight].map(([inFlight, a]) => [inFlight, a.summary()])))
  return results
}

/** A get found no live value: counted as a failed operation. */
export class MissError extends Error {
  override name = 'MissError'
}

/** Runs `fn` on every item with at most `limit` at once; the first failure rejects. */
export async function forEachLimit<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]
      if (item !== undefined) await fn(item)
    }
  }))
}
