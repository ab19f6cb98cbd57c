/**
 * Failure detection between `p2pstore daemon` processes (`--gossip testnet`), as a user sees it
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
 */
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
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

interface Stats {
  median: number
  max: number
  samples: number[]
  /** trials in which the condition was not met within TRIAL_LIMIT */
  missed: number
}

/** A trial that has not seen its outcome after this long counts as missed. */
const TRIAL_LIMIT = 60 * second

const USAGE = 'usage: node --import tsx test/bench/failure-detection.ts [--peers 10] [--trials 10] [--stop-trials 3] [--poll 25] [--settle 3000] [--json FILE]'

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

/** a whole number in [min, max] from option `name`, or exit 2 with the usage */
function whole (name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}\n${USAGE}`)
    process.exit(2)
  }
  return n
}

const peers = whole('peers', args.peers, 3, TESTNET_MAX_PEERS)
const trials = whole('trials', args.trials, 1)
const stopTrials = whole('stop-trials', args['stop-trials'], 0)
const pollMs = whole('poll', args.poll, 1)
const settleMs = whole('settle', args.settle, 0)
const suspicion = suspicionBounds({ members: peers, probeInterval: GOSSIP_TESTNET.probeInterval, mult: GOSSIP_TESTNET.suspicionMult, maxMult: GOSSIP_TESTNET.suspicionMaxMult })

/** running nets and frozen daemons, for `finally` and Ctrl-C */
const nets = new Set<ProcessTestnet>()
const frozen = new Set<number>()

function progress (line: string): void {
  process.stderr.write(`${line}\n`)
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
async function stopAll (): Promise<void> {
  for (const pid of frozen) signal(pid, 'SIGCONT')
  frozen.clear()
  await Promise.all([...nets].map(async net => net.stop()))
  nets.clear()
}

process.once('SIGINT', () => {
  progress('interrupted: stopping every daemon')
  void stopAll().finally(() => process.exit(130))
})

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
    await sleep(pollMs, undefined, { signal }).catch(() => {})
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
  const net = new ProcessTestnet({ peers })
  nets.add(net)
  const begin = performance.now()
  const started = await net.start()
  progress(`  net of ${peers} daemons up in ${((performance.now() - begin) / 1000).toFixed(1)} s; settling ${settleMs} ms`)
  await sleep(settleMs)
  return { net, peers: started }
}

async function stopNet (net: ProcessTestnet): Promise<void> {
  await net.stop()
  nets.delete(net)
}

function ms (x: number | undefined): string {
  return x == null ? 'missed' : `${Math.round(x)} ms`
}

/** One SIGKILL trial on a fresh net. */
async function killTrial (trial: number): Promise<{ first?: number, all?: number }> {
  progress(`kill trial ${trial}/${trials}`)
  const { net, peers: live } = await startNet()
  try {
    const victim = randomVictim(live)
    const others = live.filter(p => p !== victim)
    const t0 = performance.now()
    signal(victim.pid, 'SIGKILL')
    const watched = await watchAll(others, victim, t0, v => v.state === 'dead')
    const seen = watched.flatMap(w => w.doneAt ?? [])
    const first = seen.length === 0 ? undefined : Math.min(...seen)
    const all = atAll(watched)
    progress(`  SIGKILL peer-${victim.index}: dead at the first peer after ${ms(first)}, at all ${others.length} others after ${ms(all)}`)
    return { first, all }
  } finally {
    await stopNet(net)
  }
}

/** The SIGSTOP trials, on one net whose victim comes back after each. */
async function stopTrialsOnOneNet (): Promise<Array<{ suspect?: number, dead?: number, alive?: number }>> {
  const results: Array<{ suspect?: number, dead?: number, alive?: number }> = []
  if (stopTrials === 0) return results
  progress(`stop trials (${stopTrials}, one net)`)
  const { net, peers: live } = await startNet()
  try {
    for (let trial = 1; trial <= stopTrials; trial++) {
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
      await sleep(settleMs)
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

try {
  const begin = performance.now()
  progress(`failure detection: ${peers} daemons, ${trials} kill trials (a fresh net each), ${stopTrials} stop trials, polling every ${pollMs} ms`)
  const kills: Array<{ first?: number, all?: number }> = []
  for (let t = 1; t <= trials; t++) kills.push(await killTrial(t))
  const stops = await stopTrialsOnOneNet()

  const detection = {
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
    trials,
    stopTrials,
    pollMs,
    suspicionMs: { min: Math.round(suspicion.min), max: Math.round(suspicion.max) },
    gossip: GOSSIP_TESTNET
  }

  const rows: Array<[string, Stats]> = [
    ['SIGKILL → dead at the first peer', detection.kill.deadAtFirstMs],
    ['SIGKILL → dead at every peer', detection.kill.deadAtAllMs],
    ['SIGSTOP → suspect at the first peer', detection.stop.suspectAtFirstMs],
    ['SIGSTOP → dead at every peer', detection.stop.deadAtAllMs],
    ['SIGCONT → alive again at every peer', detection.stop.aliveAgainAtAllMs]
  ]
  console.log(`failure detection, ${peers} daemons on one machine, --gossip testnet: probe every ${GOSSIP_TESTNET.probeInterval} ms, ` +
    `${GOSSIP_TESTNET.probeTimeout} ms timeout, suspicion ${detection.suspicionMs.min}–${detection.suspicionMs.max} ms at ${peers} members; polled every ${pollMs} ms`)
  console.log(`${'measure'.padEnd(38)}${'trials'.padStart(7)}${'median'.padStart(10)}${'max'.padStart(10)}${'missed'.padStart(8)}`)
  for (const [name, s] of rows) {
    const cell = (x: number): string => Number.isNaN(x) ? '-' : `${Math.round(x)} ms`
    console.log(`${name.padEnd(38)}${String(s.samples.length + s.missed).padStart(7)}${cell(s.median).padStart(10)}${cell(s.max).padStart(10)}${String(s.missed).padStart(8)}`)
  }
  progress(`done in ${((performance.now() - begin) / 1000).toFixed(0)} s`)
  if (args.json != null) {
    await fs.writeFile(args.json, `${JSON.stringify({ detection }, null, 2)}\n`)
    progress(`wrote ${args.json}`)
  }
} finally {
  await stopAll()
}
