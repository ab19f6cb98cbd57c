/**
 * Failure detection between `p2pstore daemon` processes (`--profile testnet`), as a user sees it
 * through `GET /v1/peers`:
 *
 * - SIGKILL: ms from the kill until the FIRST other daemon reports the victim `dead`, and until
 *   EVERY other daemon does. Each kill trial runs on a fresh net of `--peers` daemons, so every
 *   trial measures the same group size (a killed daemon cannot be restarted in a ProcessTestnet, and
 *   killing one per trial in a shared net would shrink it, and with it the suspicion timeout, which
 *   grows with log10(n)). The victim is a random daemon other than the first (the bootstrap peer).
 * - SIGSTOP (a frozen process: its sockets stay open, so only the gossip probes notice): ms from
 *   the stop until the first daemon reports the victim `suspect` (or already `dead`), and until every
 *   other daemon reports it `dead`; then, after SIGCONT, until every daemon reports it `alive` again
 *   with a higher incarnation (its refutation). These trials share one net: the victim comes back
 *   each time, so the group keeps its size.
 *
 * Every other daemon is polled on its own every `--poll` ms; a time is taken when the answer arrives,
 * so each figure is late by at most one poll interval plus one HTTP round trip. The polling itself
 * loads the machine (n − 1 requests every `--poll` ms). After a net starts, `--settle` ms pass
 * before the first trial, so that start-up CPU load no longer skews Lifeguard's local health.
 *
 *   node --import tsx test/bench/failure-detection.ts [--peers 10] [--trials 10] [--stop-trials 3]
 *     [--poll 25] [--settle 3000] [--json FILE]
 *
 * Progress goes to stderr, the table to stdout, and with --json the figures to FILE.
 * `npm run bench` runs the same trials through `detectFailures()` (with `--quick`: the kill trial
 * on the stop trials' net, after them, to save a net start).
 */
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { GOSSIP_TESTNET, TESTNET_MAX_PEERS, second } from '../../src/constants.ts'
import { suspicionBounds } from '../../src/membership/suspicion.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

type State = 'alive' | 'suspect' | 'dead' | 'left'

/** The fields of one `/v1/peers` entry this bench reads. */
interface MemberView {
  peerId: string
  state: State
  incarnation: number
}

/** What one observer reported about the subject, in ms since the trial's start. */
interface Watched {
  /** when it first reported each state */
  first: Partial<Record<State, number>>
  /** when the awaited condition first held, or undefined if it did not before the deadline */
  doneAt?: number
}

export interface Stats {
  median: number
  max: number
  samples: number[]
  /** trials in which the condition was not met within TRIAL_LIMIT */
  missed: number
}

/** A trial that has not seen its outcome after this long counts as missed. */
const TRIAL_LIMIT = 60 * second

const USAGE = 'usage: node --import tsx test/bench/failure-detection.ts [--peers 10] [--trials 10] [--stop-trials 3] [--poll 25] [--settle 3000] [--json FILE]'

/** What a detection run does. */
export interface DetectionInit {
  /** daemons per net */
  peers: number
  /** SIGKILL trials */
  killTrials: number
  /** SIGSTOP trials (one net) */
  stopTrials: number
  /** ms between two polls of one daemon */
  pollMs: number
  /** ms after a net started before its first trial */
  settleMs: number
  /** a fresh net per kill trial (same group size every time); else the kills follow the stop trials on their net */
  freshNetPerKill: boolean
  progress(line: string): void
}

/** What a detection run measured. */
export interface DetectionReport {
  kill: { deadAtAllMs: Stats, deadAtFirstMs: Stats }
  stop: { suspectAtFirstMs: Stats, deadAtAllMs: Stats, aliveAgainAtAllMs: Stats }
  peers: number
  trials: number
  stopTrials: number
  pollMs: number
  freshNetPerKill: boolean
  suspicionMs: { min: number, max: number }
  gossip: typeof GOSSIP_TESTNET
  how: string
}

/** the run in progress (module state: one run at a time) */
let run: DetectionInit = { peers: 10, killTrials: 10, stopTrials: 3, pollMs: 25, settleMs: 3000, freshNetPerKill: true, progress: () => {} }

/** running nets and frozen daemons, for `finally` and Ctrl-C */
const nets = new Set<ProcessTestnet>()
const frozen = new Set<number>()

function progress (line: string): void {
  run.progress(line)
}

/** `process.kill` that ignores a process already gone. */
function signal (pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Continues every frozen daemon (a stopped process ignores SIGTERM), then stops every net. */
export async function stopAll (): Promise<void> {
  for (const pid of frozen) signal(pid, 'SIGCONT')
  frozen.clear()
  await Promise.all([...nets].map(async net => net.stop()))
  nets.clear()
}

async function membersOf (peer: ProcessTestnetPeer, signal?: AbortSignal): Promise<MemberView[] | undefined> {
  try {
    const timeout = AbortSignal.timeout(2 * second)
    const res = await fetch(new URL('/v1/peers', peer.api), { signal: signal == null ? timeout : AbortSignal.any([signal, timeout]) })
    if (!res.ok) return undefined
    return await res.json() as MemberView[]
  } catch {
    return undefined
  }
}

/**
 * Polls `observer` every `pollMs` until its view of `subject` satisfies `done` or `signal` fires;
 * times are in ms since `t0` (a `performance.now()` value), taken when each answer arrived.
 */
async function watch (observer: ProcessTestnetPeer, subject: string, t0: number, done: (view: MemberView) => boolean, signal: AbortSignal): Promise<Watched> {
  const first: Watched['first'] = {}
  while (!signal.aborted) {
    const view = (await membersOf(observer, signal))?.find(m => m.peerId === subject)
    const at = performance.now() - t0
    if (view != null) {
      first[view.state] ??= at
      if (done(view)) return { first, doneAt: at }
    }
    await sleep(run.pollMs, undefined, { signal }).catch(() => {})
  }
  return { first }
}

/** Every observer watched at once until each sees `done`; resolves with their results. */
async function watchAll (observers: ProcessTestnetPeer[], subject: ProcessTestnetPeer, t0: number, done: (view: MemberView) => boolean): Promise<Watched[]> {
  const limit = AbortSignal.timeout(TRIAL_LIMIT)
  return Promise.all(observers.map(async o => watch(o, subject.peerId, t0, done, limit)))
}

/** the latest time at which every observer met the condition, or undefined if one never did */
function atAll (watched: Watched[]): number | undefined {
  return watched.some(w => w.doneAt == null) ? undefined : Math.max(...watched.map(w => w.doneAt ?? Infinity))
}

function randomVictim (net: ProcessTestnetPeer[]): ProcessTestnetPeer {
  const victim = net[1 + Math.floor(Math.random() * (net.length - 1))]
  if (victim == null) throw new Error('a net needs at least 2 daemons')
  return victim
}

async function startNet (): Promise<{ net: ProcessTestnet, peers: ProcessTestnetPeer[] }> {
  const net = new ProcessTestnet({ peers: run.peers })
  nets.add(net)
  const begin = performance.now()
  const started = await net.start()
  progress(`  net of ${run.peers} daemons up in ${((performance.now() - begin) / 1000).toFixed(1)} s; settling ${run.settleMs} ms`)
  await sleep(run.settleMs)
  return { net, peers: started }
}

async function stopNet (net: ProcessTestnet): Promise<void> {
  await net.stop()
  nets.delete(net)
}

function ms (x: number | undefined): string {
  return x == null ? 'missed' : `${Math.round(x)} ms`
}

/** One SIGKILL trial on `live` (a victim other than the bootstrap peer). */
async function killOne (trial: number, live: ProcessTestnetPeer[]): Promise<{ first?: number, all?: number, victim: ProcessTestnetPeer }> {
  const victim = randomVictim(live)
  const others = live.filter(p => p !== victim)
  const t0 = performance.now()
  signal(victim.pid, 'SIGKILL')
  const watched = await watchAll(others, victim, t0, v => v.state === 'dead')
  const seen = watched.flatMap(w => w.doneAt ?? [])
  const first = seen.length === 0 ? undefined : Math.min(...seen)
  const all = atAll(watched)
  progress(`  kill trial ${trial}: SIGKILL peer-${victim.index}: dead at the first peer after ${ms(first)}, at all ${others.length} others after ${ms(all)}`)
  return { first, all, victim }
}

/** One SIGKILL trial on a fresh net. */
async function killTrial (trial: number): Promise<{ first?: number, all?: number }> {
  progress(`kill trial ${trial}/${run.killTrials}`)
  const { net, peers: live } = await startNet()
  try {
    return await killOne(trial, live)
  } finally {
    await stopNet(net)
  }
}

/** The SIGSTOP trials, on one net whose victim comes back after each. */
async function stopTrialsOnOneNet (kills: Array<{ first?: number, all?: number }>): Promise<Array<{ suspect?: number, dead?: number, alive?: number }>> {
  const results: Array<{ suspect?: number, dead?: number, alive?: number }> = []
  const killsHere = run.freshNetPerKill ? 0 : run.killTrials
  if (run.stopTrials === 0 && killsHere === 0) return results
  progress(`stop trials (${run.stopTrials}, one net${killsHere > 0 ? `, then ${killsHere} kill trial(s) on it` : ''})`)
  const { net, peers: started } = await startNet()
  let live = started
  try {
    for (let trial = 1; trial <= run.stopTrials; trial++) {
      const victim = randomVictim(live)
      const others = live.filter(p => p !== victim)
      // everyone sees it alive again (after the previous trial) before it is frozen
      const ready = await watchAll(others, victim, performance.now(), v => v.state === 'alive')
      if (atAll(ready) == null) throw new Error(`peer-${victim.index} is not alive everywhere before stop trial ${trial}`)
      const views = await Promise.all(others.map(async o => (await membersOf(o))?.find(m => m.peerId === victim.peerId)?.incarnation ?? 0))
      const before = Math.max(...views)

      const t0 = performance.now()
      frozen.add(victim.pid)
      signal(victim.pid, 'SIGSTOP')
      const watched = await watchAll(others, victim, t0, v => v.state === 'dead')
      signal(victim.pid, 'SIGCONT')
      frozen.delete(victim.pid)
      const t1 = performance.now()
      const suspected = watched.flatMap(w => [w.first.suspect, w.first.dead].flatMap(x => x ?? []))
      const suspect = suspected.length === 0 ? undefined : Math.min(...suspected)
      const dead = atAll(watched)

      const back = await watchAll(others, victim, t1, v => v.state === 'alive' && v.incarnation > before)
      const alive = atAll(back)
      progress(`  SIGSTOP peer-${victim.index}: suspect at the first peer after ${ms(suspect)}, dead at all ${others.length} others after ${ms(dead)}; after SIGCONT alive again everywhere after ${ms(alive)}`)
      results.push({ suspect, dead, alive })
      await sleep(run.settleMs)
    }
    for (let trial = 1; trial <= killsHere; trial++) {
      const { victim, ...kill } = await killOne(trial, live)
      kills.push(kill)
      live = live.filter(p => p !== victim)
    }
  } finally {
    await stopNet(net)
  }
  return results
}

function stats (values: Array<number | undefined>): Stats {
  const samples = values.flatMap(v => v == null ? [] : [Math.round(v)]).sort((a, b) => a - b)
  const mid = Math.floor(samples.length / 2)
  const median = samples.length === 0 ? NaN : samples.length % 2 === 1 ? samples[mid] ?? NaN : ((samples[mid - 1] ?? NaN) + (samples[mid] ?? NaN)) / 2
  return { median, max: samples.length === 0 ? NaN : Math.max(...samples), samples, missed: values.length - samples.length }
}

/** Runs the kill and stop trials of `init` and resolves with their statistics. */
export async function detectFailures (init: DetectionInit): Promise<DetectionReport> {
  run = init
  const { peers, pollMs } = init
  const suspicion = suspicionBounds({ members: peers, probeInterval: GOSSIP_TESTNET.probeInterval, mult: GOSSIP_TESTNET.suspicionMult, maxMult: GOSSIP_TESTNET.suspicionMaxMult })
  try {
    progress(`failure detection: ${peers} daemons, ${init.killTrials} kill trials (${init.freshNetPerKill ? 'a fresh net each' : 'on the stop trials\' net'}), ${init.stopTrials} stop trials, polling every ${pollMs} ms`)
    const kills: Array<{ first?: number, all?: number }> = []
    if (init.freshNetPerKill) for (let t = 1; t <= init.killTrials; t++) kills.push(await killTrial(t))
    const stops = await stopTrialsOnOneNet(kills)
    return {
      kill: {
        deadAtAllMs: stats(kills.map(k => k.all)),
        deadAtFirstMs: stats(kills.map(k => k.first))
      },
      stop: {
        suspectAtFirstMs: stats(stops.map(s => s.suspect)),
        deadAtAllMs: stats(stops.map(s => s.dead)),
        aliveAgainAtAllMs: stats(stops.map(s => s.alive))
      },
      peers,
      trials: init.killTrials,
      stopTrials: init.stopTrials,
      pollMs,
      freshNetPerKill: init.freshNetPerKill,
      suspicionMs: { min: Math.round(suspicion.min), max: Math.round(suspicion.max) },
      gossip: GOSSIP_TESTNET,
      how: `${peers} \`p2pstore daemon\` processes (ProcessTestnet, --profile testnet) on this machine, each other daemon's GET /v1/peers polled every ${pollMs} ms; times from the signal until the answer showing the state arrived`
    }
  } finally {
    await stopAll()
  }
}

/** a whole number in [min, max] from option `name`, or exit 2 with the usage */
function whole (name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}\n${USAGE}`)
    process.exit(2)
  }
  return n
}

/** The table rows of a report. */
export function detectionRows (detection: DetectionReport): Array<[string, Stats]> {
  return [
    ['SIGKILL → dead at the first peer', detection.kill.deadAtFirstMs],
    ['SIGKILL → dead at every peer', detection.kill.deadAtAllMs],
    ['SIGSTOP → suspect at the first peer', detection.stop.suspectAtFirstMs],
    ['SIGSTOP → dead at every peer', detection.stop.deadAtAllMs],
    ['SIGCONT → alive again at every peer', detection.stop.aliveAgainAtAllMs]
  ]
}

async function cli (): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      peers: { type: 'string', default: '10' },
      trials: { type: 'string', default: '10' },
      'stop-trials': { type: 'string', default: '3' },
      poll: { type: 'string', default: '25' },
      settle: { type: 'string', default: '3000' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (args.help) {
    console.log(USAGE)
    process.exit(0)
  }
  process.once('SIGINT', () => {
    progress('interrupted: stopping every daemon')
    void stopAll().finally(() => process.exit(130))
  })
  const begin = performance.now()
  const detection = await detectFailures({
    peers: whole('peers', args.peers, 3, TESTNET_MAX_PEERS),
    killTrials: whole('trials', args.trials, 1),
    stopTrials: whole('stop-trials', args['stop-trials'], 0),
    pollMs: whole('poll', args.poll, 1),
    settleMs: whole('settle', args.settle, 0),
    freshNetPerKill: true,
    progress: line => { process.stderr.write(`${line}\n`) }
  })
  console.log(`failure detection, ${detection.peers} daemons on one machine, --profile testnet: probe every ${GOSSIP_TESTNET.probeInterval} ms, ` +
    `${GOSSIP_TESTNET.probeTimeout} ms timeout, suspicion ${detection.suspicionMs.min}–${detection.suspicionMs.max} ms at ${detection.peers} members; polled every ${detection.pollMs} ms`)
  console.log(`${'measure'.padEnd(38)}${'trials'.padStart(7)}${'median'.padStart(10)}${'max'.padStart(10)}${'missed'.padStart(8)}`)
  for (const [name, s] of detectionRows(detection)) {
    const cell = (x: number): string => Number.isNaN(x) ? '-' : `${Math.round(x)} ms`
    console.log(`${name.padEnd(38)}${String(s.samples.length + s.missed).padStart(7)}${cell(s.median).padStart(10)}${cell(s.max).padStart(10)}${String(s.missed).padStart(8)}`)
  }
  progress(`done in ${((performance.now() - begin) / 1000).toFixed(0)} s`)
  if (args.json != null) {
    await fs.writeFile(args.json, `${JSON.stringify({ detection }, null, 2)}\n`)
    progress(`wrote ${args.json}`)
  }
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) await cli()
