/**
 * The long fuzz campaign (`npm run fuzz`): every target of the table, 10^6 mutated inputs each by
 * default, in worker threads. A watchdog on the main thread reads which input a worker is decoding
 * (a shared buffer): one that has not returned after HANG_MS is a hang; the worker is ended, the
 * input saved, and a new worker carries on after it. Crashes (untyped throws) are saved too, one
 * input per distinct finding, as test/fuzz/regressions/<target>/<hash>.bin, which fuzz.spec.ts
 * replays in `npm test`.
 *
 *   npm run fuzz -- [--inputs 1000000] [--targets kv-request,membership] [--workers 2]
 *                   [--seed 1] [--seeds 2000] [--out test/fuzz/regressions]
 */

import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { SHARED_HEADER } from './campaign-worker.ts'
import { HANG_MS } from './oracle.ts'
import type { WorkerJob, WorkerMessage } from './campaign-worker.ts'
import type { Finding } from './oracle.ts'

/** How a campaign runs. */
export interface CampaignInit {
  /** target names; @default every target of `targetsModule` */
  targets: string[]
  /** module exporting `TARGETS`. @default targets.ts */
  targetsModule?: string
  /** inputs per target. @default 1_000_000 */
  inputs?: number
  /** worker threads at once. @default available parallelism − 1, at least 1 */
  workers?: number
  /** seed of the seed sample and of every mutation. @default 1 */
  seed?: number
  /** valid seeds sampled per target. @default 2000 */
  seeds?: number
  /** where regressions are saved. @default test/fuzz/regressions */
  out?: string
  /** a target stops after this many hangs (each costs HANG_MS and a new worker). @default 5 */
  maxHangs?: number
  /** progress lines go here. @default nowhere */
  log?: (line: string) => void
}

/** One target's outcome. */
export interface TargetReport {
  target: string
  inputs: number
  seconds: number
  crashes: number
  hangs: number
  roundTrips: number
  /** distinct findings, each saved once */
  saved: Array<{ file: string, finding: Finding }>
}

const HERE = path.dirname(fileURLToPath(import.meta.url))
const WORKER = new URL('./campaign-worker.ts', import.meta.url)
const BOOT = `import('tsx/esm/api').then(tsx => { tsx.register(); return import(${JSON.stringify(WORKER.href)}) })`
const SHARED_BYTES = SHARED_HEADER + 4 * 1024 * 1024

/** What tells two findings apart: the error and where it came from, digits left out. */
function signature (finding: Finding): string {
  return `${finding.kind}|${finding.name}|${finding.message.replace(/\d+/g, '#').slice(0, 120)}|${finding.where}`
}

async function fuzzTarget (name: string, init: Required<Omit<CampaignInit, 'targets' | 'log'>> & Pick<CampaignInit, 'log'>): Promise<TargetReport> {
  const report: TargetReport = { target: name, inputs: 0, seconds: 0, crashes: 0, hangs: 0, roundTrips: 0, saved: [] }
  const seen = new Set<string>()
  const started = performance.now()
  const save = (input: Uint8Array, finding: Finding): void => {
    if (finding.kind === 'crash') report.crashes++
    if (finding.kind === 'hang') report.hangs++
    if (finding.kind === 'round-trip') report.roundTrips++
    const sig = signature(finding)
    if (seen.has(sig)) return
    seen.add(sig)
    const dir = path.join(init.out, name)
    mkdirSync(dir, { recursive: true })
    const file = path.join(dir, `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`)
    writeFileSync(file, input)
    writeFileSync(file.replace(/\.bin$/, '.txt'), `${finding.kind}: ${finding.name}: ${finding.message}\n${finding.where}\n`)
    report.saved.push({ file, finding })
    init.log?.(`${name}: ${finding.kind} ${finding.name}: ${finding.message.slice(0, 160)} → ${path.relative(process.cwd(), file)}`)
  }

  let start = 0
  while (start < init.inputs) {
    const shared = new SharedArrayBuffer(SHARED_BYTES)
    const header = new Int32Array(shared, 0, 2)
    Atomics.store(header, 0, -1)
    const job: WorkerJob = { targetsModule: init.targetsModule, target: name, start, end: init.inputs, seed: init.seed, seeds: init.seeds, shared }
    // the worker runs TypeScript as this process does, whoever started it (mocha, node --import tsx):
    // it registers tsx's loader first, then imports the worker module
    const worker = new Worker(BOOT, { eval: true, workerData: job })
    // resolves with the index to go on from: the end, or the input after a hang
    const next = await new Promise<number>((resolve, reject) => {
      let last = -1
      let since = performance.now()
      const watchdog = setInterval(() => {
        const current = Atomics.load(header, 0)
        if (current !== last) {
          last = current
          since = performance.now()
          return
        }
        if (current < 0 || performance.now() - since <= HANG_MS) return
        clearInterval(watchdog)
        const length = Atomics.load(header, 1)
        const input = new Uint8Array(shared, SHARED_HEADER, length).slice()
        save(input, { kind: 'hang', name: 'hang', message: `no answer after ${HANG_MS} ms (input ${current})`, where: '' })
        worker.terminate().then(() => { resolve(current + 1) }, reject)
      }, Math.max(50, HANG_MS / 4))
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'finding') save(message.input, message.finding)
        if (message.type === 'progress' && message.done % 100_000 === 0) {
          const seconds = (performance.now() - started) / 1000
          init.log?.(`${name}: ${start + message.done} inputs, ${seconds.toFixed(0)} s, ${report.crashes} crashes, ${report.hangs} hangs`)
        }
        if (message.type === 'done') {
          clearInterval(watchdog)
          resolve(init.inputs)
        }
      })
      worker.on('error', err => {
        clearInterval(watchdog)
        reject(err)
      })
    })
    await worker.terminate()
    start = next
    if (report.hangs >= init.maxHangs && start < init.inputs) {
      init.log?.(`${name}: stopped after ${report.hangs} hangs at input ${start}`)
      break
    }
  }
  report.inputs = start
  report.seconds = (performance.now() - started) / 1000
  return report
}

/** Runs a campaign: every target in turn across `workers` threads. */
export async function runCampaign (init: CampaignInit): Promise<TargetReport[]> {
  const options = {
    targetsModule: init.targetsModule ?? pathToFileURL(path.join(HERE, 'targets.ts')).href,
    inputs: init.inputs ?? 1_000_000,
    workers: init.workers ?? Math.max(1, availableParallelism() - 1),
    seed: init.seed ?? 1,
    seeds: init.seeds ?? 2000,
    out: init.out ?? path.join(HERE, 'regressions'),
    maxHangs: init.maxHangs ?? 5,
    log: init.log
  }
  const queue = [...init.targets]
  const reports: TargetReport[] = []
  const lanes = Array.from({ length: Math.min(options.workers, queue.length) }, async () => {
    for (let name = queue.shift(); name != null; name = queue.shift()) {
      const report = await fuzzTarget(name, options)
      options.log?.(`${name}: done, ${report.inputs} inputs in ${report.seconds.toFixed(1)} s: ${report.crashes} crashes, ${report.hangs} hangs, ${report.roundTrips} round-trip failures`)
      reports.push(report)
    }
  })
  await Promise.all(lanes)
  return init.targets.map(name => reports.find(r => r.target === name)).filter(r => r != null)
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      inputs: { type: 'string', default: '1000000' },
      targets: { type: 'string' },
      workers: { type: 'string' },
      seed: { type: 'string', default: '1' },
      seeds: { type: 'string', default: '2000' },
      out: { type: 'string' }
    }
  })
  const { TARGETS } = await import('./targets.ts')
  const targets = values.targets?.split(',') ?? TARGETS.map(t => t.name)
  const log = (line: string): void => { process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`) }
  const reports = await runCampaign({
    targets,
    inputs: Number(values.inputs),
    workers: values.workers == null ? undefined : Number(values.workers),
    seed: Number(values.seed),
    seeds: Number(values.seeds),
    out: values.out,
    log
  })
  log('target | inputs | seconds | crashes | hangs | round-trip failures')
  for (const r of reports) log(`${r.target} | ${r.inputs} | ${r.seconds.toFixed(1)} | ${r.crashes} | ${r.hangs} | ${r.roundTrips}`)
  const bad = reports.reduce((n, r) => n + r.crashes + r.hangs + r.roundTrips, 0)
  process.exitCode = bad === 0 ? 0 : 1
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exitCode = 2
  })
}
