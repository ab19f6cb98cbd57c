/**
 * One target's share of a fuzz campaign, in a worker thread: mutates its seeds `count` times and
 * judges every decode. Before each decode the input goes into the shared buffer and its index into
 * the shared counter, so the main thread's watchdog can name and save an input that never returns.
 */

import { parentPort, workerData } from 'node:worker_threads'
import fc from 'fast-check'
import { Rng, mutate } from './mutate.ts'
import { checkInput, checkRoundTrip } from './oracle.ts'
import { targetNamed } from './targets.ts'
import type { Finding } from './oracle.ts'
import type { FuzzTarget } from './targets.ts'

/** What the main thread hands a worker. */
export interface WorkerJob {
  /** module whose `TARGETS` holds the target (the planted targets of the self-test live elsewhere) */
  targetsModule: string
  target: string
  /** inputs [start, end) of the campaign */
  start: number
  end: number
  seed: number
  seeds: number
  /** Int32Array: [0] index of the input being decoded, [1] its length; then its bytes */
  shared: SharedArrayBuffer
}

/** What a worker tells the main thread. */
export type WorkerMessage =
  | { type: 'finding', index: number, input: Uint8Array, finding: Finding }
  | { type: 'progress', done: number }
  | { type: 'done', done: number }

/** Bytes of the shared buffer before the input. */
export const SHARED_HEADER = 8

async function run (job: WorkerJob): Promise<void> {
  const port = parentPort
  if (port == null) throw new Error('campaign-worker.ts runs in a worker thread')
  const module = await import(job.targetsModule) as { TARGETS: readonly FuzzTarget[] }
  const target = targetNamed(job.target, module.TARGETS)
  const header = new Int32Array(job.shared, 0, 2)
  const body = new Uint8Array(job.shared, SHARED_HEADER)
  const seeds = fc.sample(target.seeds, { numRuns: job.seeds, seed: job.seed })

  // the round trip, once per campaign part, on as many values as there are seeds
  if (target.roundTrip != null && job.start === 0) {
    for (const value of fc.sample(target.roundTrip.values, { numRuns: job.seeds, seed: job.seed + 1 })) {
      const finding = checkRoundTrip(target, value)
      if (finding != null) port.postMessage({ type: 'finding', index: -1, input: target.roundTrip.encode(value as never), finding } satisfies WorkerMessage)
    }
  }

  for (let i = job.start; i < job.end; i++) {
    const rng = new Rng(Math.imul(job.seed, 0x9e3779b1) + i)
    const input = mutate(rng.pick(seeds), rng, rng.pick(seeds))
    const length = Math.min(input.byteLength, body.byteLength)
    body.set(input.subarray(0, length))
    Atomics.store(header, 1, length)
    Atomics.store(header, 0, i)
    let finding = checkInput(target, input)
    if (finding instanceof Promise) finding = await finding
    if (finding != null) port.postMessage({ type: 'finding', index: i, input, finding } satisfies WorkerMessage)
    if ((i - job.start + 1) % 10_000 === 0) port.postMessage({ type: 'progress', done: i - job.start + 1 } satisfies WorkerMessage)
  }
  port.postMessage({ type: 'done', done: job.end - job.start } satisfies WorkerMessage)
}

if (parentPort != null) {
  run(workerData as WorkerJob).catch((err: unknown) => {
    // a failure of the harness itself (not of a decoder): the main thread sees the worker's error
    throw err
  })
}
