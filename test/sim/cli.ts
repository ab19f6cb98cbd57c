/**
 * The simulator's command line (`npm run sim`, entry in index.ts): the project's real membership core (SWIM + Lifeguard, src/membership) and real
 * placement (src/routing) over a simulated network — latency, loss, churn, kills and joins — in
 * simulated time (issue #16). Progress goes to stderr; the report to stdout, as text or, with
 * `--json`, as one JSON document. Bad arguments exit with code 2.
 *
 *   npm run sim -- --peers 10000 [--json] [--profile production|testnet] [--loss 0.01,0.05] …
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import { getHeapStatistics } from 'node:v8'
import { GOSSIP_DEFAULT, GOSSIP_TESTNET } from '../../src/constants.ts'
import { swimCore } from './core.ts'
import { placementMetrics } from './placement.ts'
import { Random } from './random.ts'
import { checkTargets, machine, renderReport } from './report.ts'
import { runScenario } from './scenario.ts'
import type { CoreFactory } from './core.ts'
import type { SimReport } from './report.ts'
import type { ScenarioResult } from './scenario.ts'

export const USAGE = `usage: npm run sim -- [options]

  --peers N              peers in the network (default 1000)
  --json                 print one JSON document on stdout instead of the text report
  --profile P            gossip timing: production (GOSSIP_DEFAULT, default) or testnet (GOSSIP_TESTNET)
  --loss LIST            packet loss per message, one membership run per value (default 0.01,0.05)
  --latency MIN-MAX      one-way latency in ms, uniform (default 1-30)
  --seed N               random seed: the same seed gives the same run (default 1)
  --warmup S             simulated seconds before measuring (default 20)
  --duration S           simulated seconds measured per run (default 90; kills and joins are followed 45 s)
  --kills N              tracked kills per run (default 2)
  --joins N              tracked joins per run (default 2)
  --churn R              restarts per peer per day in the background (default 1)
  --churn-crash F        fraction of those restarts that are crashes, the rest graceful (default 0.5)
  --downtime S           how long a restarting peer is down (default 10)
  --max-connections N    connections one peer holds at most (default 64)
  --idle-window S        a connection unused this long closes (default 60)
  --protected N          neighbours each peer keeps connected regardless (default 6)
  --membership-peers N   run the membership core with this many peers (default: --peers, if it fits in memory)
  --no-membership        placement metrics only
  --placement-events N   joins and deaths sampled for placement, each (default 3)
  -h, --help             this text
`

/** What one member record costs in memory, measured (heap after set-up / n², ~1 070 B at 1 000 peers). */
const BYTES_PER_RECORD = 1_100

/** Parsed and checked options. */
export interface SimOptions {
  peers: number
  json: boolean
  profile: 'production' | 'testnet'
  loss: number[]
  latency: { min: number, max: number }
  seed: number
  warmup: number
  duration: number
  kills: number
  joins: number
  churn: number
  churnCrash: number
  downtime: number
  maxConnections: number
  idleWindow: number
  protectedPeers: number
  membershipPeers?: number
  membership: boolean
  placementEvents: number
  help: boolean
}

/** A command line that cannot be run. */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

function integer (name: string, value: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value == null) return fallback
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`)
  const n = Number(value)
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

function decimal (name: string, value: string | undefined, fallback: number, min: number, max: number, maxExclusive = false): number {
  if (value == null) return fallback
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`)
  if (n < min || n > max || (maxExclusive && n === max)) throw new UsageError(`--${name} must be in [${min}, ${max}${maxExclusive ? ')' : ']'}, got ${n}`)
  return n
}

/** Parses the command line; throws UsageError with an actionable message. */
export function parseOptions (argv: string[]): SimOptions {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        peers: { type: 'string' },
        json: { type: 'boolean' },
        profile: { type: 'string' },
        loss: { type: 'string' },
        latency: { type: 'string' },
        seed: { type: 'string' },
        warmup: { type: 'string' },
        duration: { type: 'string' },
        kills: { type: 'string' },
        joins: { type: 'string' },
        churn: { type: 'string' },
        'churn-crash': { type: 'string' },
        downtime: { type: 'string' },
        'max-connections': { type: 'string' },
        'idle-window': { type: 'string' },
        protected: { type: 'string' },
        'membership-peers': { type: 'string' },
        'no-membership': { type: 'boolean' },
        'placement-events': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const str = (k: string): string | undefined => values[k] as string | undefined
  const profile = str('profile') ?? 'production'
  if (profile !== 'production' && profile !== 'testnet') throw new UsageError(`--profile must be production or testnet, got "${profile}"`)
  const loss = (str('loss') ?? '0.01,0.05').split(',').map(v => decimal('loss', v, 0, 0, 1, true))
  const latencyText = str('latency') ?? '1-30'
  const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(latencyText)
  if (match == null) throw new UsageError(`--latency must be MIN-MAX in ms (e.g. 1-30) or one number, got "${latencyText}"`)
  const min = Number(match[1])
  const max = Number(match[2] ?? match[1])
  if (min > max) throw new UsageError(`--latency: MIN (${min}) must not exceed MAX (${max})`)
  if (max > 10_000) throw new UsageError(`--latency: MAX must be at most 10000 ms, got ${max}`)
  const peers = integer('peers', str('peers'), 1000, 2, 1_000_000)
  const membershipPeers = str('membership-peers') == null ? undefined : integer('membership-peers', str('membership-peers'), peers, 2, peers)
  return {
    peers,
    json: values.json === true,
    profile,
    loss,
    latency: { min, max },
    seed: integer('seed', str('seed'), 1, 0, 2 ** 32 - 1),
    warmup: 1000 * decimal('warmup', str('warmup'), 20, 0, 86_400),
    duration: 1000 * decimal('duration', str('duration'), 90, 1, 86_400),
    kills: integer('kills', str('kills'), 2, 0, 100),
    joins: integer('joins', str('joins'), 2, 0, 100),
    churn: decimal('churn', str('churn'), 1, 0, 10_000),
    churnCrash: decimal('churn-crash', str('churn-crash'), 0.5, 0, 1),
    downtime: 1000 * decimal('downtime', str('downtime'), 10, 0, 86_400),
    maxConnections: integer('max-connections', str('max-connections'), 64, 1),
    idleWindow: 1000 * decimal('idle-window', str('idle-window'), 60, 0, 86_400),
    protectedPeers: integer('protected', str('protected'), 6, 0, 1000),
    membershipPeers,
    membership: values['no-membership'] !== true,
    placementEvents: integer('placement-events', str('placement-events'), 3, 0, 100),
    help: values.help === true
  }
}

/**
 * The most peers whose member tables fit in this process's heap: every peer holds a record of
 * every other, so memory grows with n².
 */
export function membershipFit (): number {
  // the rest is for gossip queues, requests in flight and the garbage collector's headroom
  const budget = 0.45 * getHeapStatistics().heap_size_limit
  return Math.floor(Math.sqrt(budget / BYTES_PER_RECORD))
}

/** Runs what `options` ask for and returns the report. */
export async function simulate (options: SimOptions, progress: (line: string) => void, createCore: CoreFactory = swimCore): Promise<SimReport> {
  const started = performance.now()
  const load = os.loadavg()
  const runs: ScenarioResult[] = []
  let membership: SimReport['membership']
  if (options.membership) {
    const fit = membershipFit()
    const peers = options.membershipPeers ?? Math.min(options.peers, fit)
    const note = peers < options.peers
      ? `${options.peers} peers' member tables need about ${Math.round(options.peers ** 2 * BYTES_PER_RECORD / 2 ** 30)} GiB (n² records of ~${BYTES_PER_RECORD} B); this heap fits ${fit} (raise it with NODE_OPTIONS=--max-old-space-size=MiB, or set --membership-peers)`
      : undefined
    if (note != null) progress(`membership with ${peers} peers: ${note}`)
    for (const loss of options.loss) {
      progress(`membership run: ${peers} peers, loss ${loss}`)
      runs.push(await runScenario({
        peers,
        seed: options.seed,
        gossip: options.profile === 'testnet' ? { ...GOSSIP_TESTNET } : { ...GOSSIP_DEFAULT },
        network: { latency: options.latency, loss, idleWindow: options.idleWindow, maxConnections: options.maxConnections },
        warmup: options.warmup,
        duration: options.duration,
        follow: Math.min(45_000, options.duration / 2),
        kills: options.kills,
        joins: options.joins,
        churn: options.churn,
        churnCrash: options.churnCrash,
        downtime: options.downtime,
        protectedPeers: options.protectedPeers,
        createCore,
        progress
      }))
      const run = runs[runs.length - 1] as ScenarioResult
      const worst = (list: Array<number | undefined>): string => list.length === 0 ? '—' : list.some(v => v == null) ? 'not reached' : `${(Math.max(...(list as number[])) / 1000).toFixed(2)} s`
      progress(`done: loss ${loss}: death 99 % ${worst(run.deaths.map(d => d.p99))}, 100 % ${worst(run.deaths.map(d => d.p100))}; join 100 % ${worst(run.joins.map(j => j.p100))}; ${run.falseDeaths.members} false deaths, ${run.suspicions.episodes} suspicions; ${Math.round(run.bytesPerPeerPerSecond.mean)} B/s per peer; connections max ${run.connections.max}; wall ${(run.wallMs / 1000).toFixed(0)} s`)
    }
    membership = { peers, note, runs }
  }
  let placement: SimReport['placement']
  if (options.placementEvents > 0) {
    progress(`placement: ${options.peers} peers, ${options.placementEvents} joins and deaths`)
    placement = placementMetrics(new Random(options.seed), { peers: options.peers, events: options.placementEvents })
  }
  const partial: Omit<SimReport, 'targets'> = {
    command: `npm run sim -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(load),
    peers: options.peers,
    profile: options.profile,
    seed: options.seed,
    membership,
    placement,
    wallMs: performance.now() - started
  }
  return { ...partial, targets: checkTargets(partial) }
}

/** The command line: exit code 0, or 2 for bad arguments, 1 for a failed run. */
export async function main (argv: string[]): Promise<number> {
  let options: SimOptions
  try {
    options = parseOptions(argv)
  } catch (err) {
    if ((err as Error).name !== 'UsageError') throw err
    process.stderr.write(`sim: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const started = performance.now()
  const progress = (line: string): void => { process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`) }
  const report = await simulate(options, progress)
  const text = options.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report)
  await new Promise<void>(resolve => { process.stdout.write(text, () => { resolve() }) })
  return 0
}
