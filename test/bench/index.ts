/**
 * `npm run bench`: p2pstore side by side with kad-dht and the raw libp2p floor, in one run on one
 * machine (issue 5).
 *
 * 1. Main comparison, interleaved round by round: the floors (two processes), p2pstore put/get on
 *    an in-process net of 10 peers (non-replica and replica client, 100 B and 10 KiB), kad-dht
 *    put/get with the same value sizes, at 1 and 32 in flight.
 * 2. Scale: p2pstore get/put, the time a new peer takes to be known by all, and RSS per peer at 10
 *    and 50 peers in this process; kad-dht at 10 and 50; at 100, daemon processes (issue #16,
 *    process-scale.ts): ready time, idle CPU, RSS, connections and membership bytes per daemon.
 * 3. Resources: RSS per peer idle and under load, disk bytes per stored KiB.
 * 4. Membership: SWIM traffic per peer per second and false deaths/suspicions while the load runs
 *    (in-process nets), and failure detection between 10 daemon processes (failure-detection.ts):
 *    SIGKILL → dead at every peer, SIGSTOP → suspect.
 * 5. Daemons (daemons.ts, issue 17): 3 and 10 `p2pstore daemon` processes through the HTTP API,
 *    side by side with a 3-member etcd cluster; alone: `npm run bench -- daemons [options]`.
 *
 * Progress goes to stderr, the table to stdout, the figures to `--json FILE`.
 *
 *   npm run bench [-- --quick] [--json FILE] [--peers 10,50] [--process-peers 100] [--kad-peers 10,50]
 *     [--rounds N] [--join-trials N] [--timings production|testnet] [--no-detection] [--no-sync]
 *     [--no-daemons]
 *   npm run bench -- daemons [--quick] [--nets …] [--cpu-prof DIR] [--json FILE]   (only the daemon scenario)
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { DEFAULT_N, QUERY_SELF_INTERVAL } from '../../src/constants.ts'
import { daemonsMain, parseDaemonOptions, renderDaemonReport, runDaemonBench } from './daemons.ts'
import { detectFailures } from './failure-detection.ts'
import { FloorProcess, floorRun } from './floor.ts'
import { kadScenarios, pkScenarios, probeNamespaces, startKadNet } from './kad.ts'
import { MembershipWatch } from './membership.ts'
import { createFloorNode } from './nodes.ts'
import { joinTrial, startStoreNet, storageBytes, storeScenarios, VALUE_SIZES, VARIANTS } from './p2pstore.ts'
import { processScalePoint, renderProcessScale } from './process-scale.ts'
import { byFlight, headline, machine, ratios, renderTable } from './report.ts'
import { mib, RssPeak } from './resources.ts'
import { interleave } from './scenario.ts'
import { medianMax, round } from './stats.ts'
import type { DaemonReport } from './daemons.ts'
import type { KadNet } from './kad.ts'
import type { SizeLabel, StoreScenarios, Timings } from './p2pstore.ts'
import type { BenchReport, MembershipUnderLoad, ScaleEntry, Resources } from './report.ts'
import type { Planned, Results, Scenario } from './scenario.ts'
import type { LoadInit } from './stats.ts'
import type { Testnet } from '../../src/testnet/index.ts'
import type { Connection } from '@libp2p/interface'

const USAGE = `usage: npm run bench -- [options]

  --quick               smoke run, under 2 minutes: 10 peers only, fewer samples
  --json FILE           also write the figures as JSON to FILE
  --peers LIST          p2pstore scale points in this process (default 10,50; quick: 10)
  --process-peers LIST  scale points of daemon processes, as p2pstore testnet runs them (default 100; quick: none)
  --kad-peers LIST      kad-dht scale points (default 10,50; quick: 10)
  --rounds N            interleaved rounds of the main comparison (default 4; quick: 2)
  --join-trials N       new-peer join trials per scale point (default 3; quick: 1)
  --timings T           background timings of the peers: production (default) or testnet
  --no-detection        skip the failure-detection trials (10 daemon processes)
  --no-sync             p2pstore peers acknowledge writes without fsync (default: fsync, as a daemon)
  --no-daemons          skip the daemon processes vs etcd scenario (alone: npm run bench -- daemons --help)
  -h, --help            this text
`

/** Peers of the main comparison's nets. */
const MAIN_PEERS = 10

/** Most peers one scale point may have in this process. */
const MAX_SCALE_PEERS = 200

/** Pause after a net settled before its idle RSS is read (start-up garbage collected, timers running). */
const IDLE_PAUSE = 2_000

/** Deadline of the preload of one variant's keys. */
const PRELOAD_TIMEOUT = 120_000

/** Deadline of one join trial. */
const JOIN_TIMEOUT = 60_000

/** Deadline of a teardown step at the end. */
const TEARDOWN_TIMEOUT = 30_000

/** ms between two polls of one daemon's member view in the detection trials. */
const DETECTION_POLL = 25

/** Deadline of the floor client's dial. */
const DIAL_TIMEOUT = 10_000

/**
 * How long a net of `n` peers may take to settle: 50 in-process peers took about 70 s here; 100
 * never settled in one process on 2 cores (event-loop lag of 0.5–4 s), so waiting longer than
 * this only delays the report of that failure.
 */
const settleTimeout = (n: number): number => Math.min(150_000, Math.max(60_000, 3_000 * n))

/** Parsed command line. */
interface Options {
  quick: boolean
  json?: string
  peers: number[]
  /** scale points run as daemon processes (process-scale.ts) */
  processPeers: number[]
  kadPeers: number[]
  rounds: number
  joinTrials: number
  timings: Timings
  detection: boolean
  /** peers fsync every write before acknowledging it (the daemon's default) */
  sync: boolean
  /** run the daemon processes vs etcd scenario last */
  daemons: boolean
}

/** How much of everything a mode runs. */
interface Budget {
  /** operations per round at [1 in flight, 32 in flight] */
  counts: { floor: [number, number], floorNewStream: [number, number], store: [number, number], kad: [number, number] }
  warmup: { fast: number, kad: number }
  /** a run starts no new operation after this */
  timeLimitMs: number
  /** keys preloaded per get variant */
  getKeys: number
  scaleRounds: number
  /** failure-detection trials; without fresh nets the kill trials follow the stop trials on their net */
  detection: { killTrials: number, stopTrials: number, freshNetPerKill: boolean, settleMs: number }
}

const QUICK: Budget = {
  counts: { floor: [300, 3000], floorNewStream: [200, 1000], store: [60, 320], kad: [8, 32] },
  warmup: { fast: 30, kad: 2 },
  timeLimitMs: 5_000,
  getKeys: 40,
  scaleRounds: 1,
  detection: { killTrials: 1, stopTrials: 1, freshNetPerKill: false, settleMs: 1_500 }
}

const FULL: Budget = {
  counts: { floor: [1000, 10_000], floorNewStream: [500, 3000], store: [200, 1000], kad: [25, 96] },
  warmup: { fast: 100, kad: 5 },
  timeLimitMs: 20_000,
  getKeys: 200,
  scaleRounds: 2,
  detection: { killTrials: 5, stopTrials: 3, freshNetPerKill: true, settleMs: 3_000 }
}

/** What every phase uses. */
interface Context {
  options: Options
  budget: Budget
  prefix: string
  progress(line: string): void
  notes: string[]
}

/** Teardown functions, run last-registered first, each with a deadline; never throws. */
class Teardowns {
  private readonly fns: Array<() => Promise<void>> = []

  add (fn: () => Promise<void>): void {
    this.fns.push(fn)
  }

  async run (): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      await Promise.race([fn(), sleep(TEARDOWN_TIMEOUT)]).catch(() => {})
    }
  }
}

function parseList (value: string, flag: string): number[] {
  const list = value.split(',').map(s => Number(s.trim()))
  if (list.some(n => !Number.isInteger(n) || n < DEFAULT_N + 1 || n > MAX_SCALE_PEERS)) {
    throw new RangeError(`${flag}: whole numbers from ${DEFAULT_N + 1} to ${MAX_SCALE_PEERS}, comma-separated; got '${value}'`)
  }
  return [...new Set(list)].sort((a, b) => a - b)
}

function parsePositive (value: string | undefined, flag: string, fallback: number): number {
  if (value == null) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${flag}: a whole number ≥ 1; got '${value}'`)
  return n
}

/** Parses argv (without node and the script); `undefined` after printing the usage for --help. */
function parseOptions (argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      peers: { type: 'string' },
      'kad-peers': { type: 'string' },
      rounds: { type: 'string' },
      'join-trials': { type: 'string' },
      'process-peers': { type: 'string' },
      timings: { type: 'string', default: 'production' },
      'no-detection': { type: 'boolean', default: false },
      'no-sync': { type: 'boolean', default: false },
      'no-daemons': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return undefined
  }
  if (values.timings !== 'production' && values.timings !== 'testnet') throw new RangeError(`--timings: production or testnet; got '${values.timings}'`)
  const quick = values.quick
  return {
    quick,
    json: values.json,
    peers: parseList(values.peers ?? (quick ? '10' : '10,50'), '--peers'),
    processPeers: values['process-peers'] === '' ? [] : parseList(values['process-peers'] ?? (quick ? '' : '100'), '--process-peers'),
    kadPeers: parseList(values['kad-peers'] ?? (quick ? '10' : '10,50'), '--kad-peers'),
    rounds: parsePositive(values.rounds, '--rounds', quick ? 2 : 4),
    joinTrials: parsePositive(values['join-trials'], '--join-trials', quick ? 1 : 3),
    timings: values.timings,
    detection: !values['no-detection'],
    sync: !values['no-sync'],
    daemons: !values['no-daemons']
  }
}

const perRound = ([c1, c32]: [number, number]): Map<number, number> => new Map([[1, c1], [32, c32]])

/**
 * The floors: from the client child (nothing else on its event loop: the headline) and from this
 * process over `conn` (whose event loop the in-process nets share).
 */
function floorScenarios (timeLimitMs: number, client: FloorProcess, conn: Connection): Scenario[] {
  const opTimeoutMs = 5_000
  const load = (inFlight: number, count: number): LoadInit => ({ count, inFlight, timeLimitMs, opTimeoutMs })
  return [
    { id: 'floor.tiny32B', run: async (inFlight, count) => client.run('reused', load(inFlight, count)) },
    { id: 'floorNewStream.tiny32B', run: async (inFlight, count) => client.run('newStream', load(inFlight, count)) },
    { id: 'floor.tiny32BClientInBenchProcess', run: async (inFlight, count) => floorRun(conn, 'reused', load(inFlight, count)) },
    { id: 'floorNewStream.tiny32BClientInBenchProcess', run: async (inFlight, count) => floorRun(conn, 'newStream', load(inFlight, count)) }
  ]
}

/** Wraps every run of `scenario` in `wrap` (an RSS window). */
function around (scenario: Scenario, wrap: <T>(fn: () => Promise<T>) => Promise<T>): Scenario {
  return { id: scenario.id, run: async (inFlight, count) => wrap(async () => scenario.run(inFlight, count)) }
}

/** Runs join trials on `net` and summarizes them. */
async function joins (net: Testnet, ctx: Context): Promise<NonNullable<NonNullable<ScaleEntry['p2pstore']>['newPeerKnownByAll']>> {
  const all: number[] = []
  const first: number[] = []
  for (let t = 0; t < ctx.options.joinTrials; t++) {
    const trial = await joinTrial(net, t, { timeoutMs: JOIN_TIMEOUT })
    if (trial.allMs != null) all.push(trial.allMs)
    if (trial.firstMs != null) first.push(trial.firstMs)
    ctx.progress(`join trial ${t + 1}/${ctx.options.joinTrials} at ${net.peers.length} peers: ${trial.allMs == null ? `known by ${trial.knownBy}/${trial.others} after ${JOIN_TIMEOUT} ms` : `known by all ${trial.others} after ${Math.round(trial.allMs)} ms`}`)
  }
  const { medianMs, maxMs } = medianMax(all)
  return { medianMs, maxMs, trials: ctx.options.joinTrials, firstMedianMs: medianMax(first).medianMs, missed: ctx.options.joinTrials - all.length }
}

/** What the main comparison produced. */
interface MainPhase {
  results: Results
  probes: Awaited<ReturnType<typeof probeNamespaces>>
  kadNet: KadNet['settle'] & { peers: number }
  storeSettleMs: number
  join: Awaited<ReturnType<typeof joins>>
  resources: Resources
  membership: ReturnType<MembershipWatch['stop']>
}

/** The floor processes, and this process's own connection to the server. */
interface Floors {
  server: FloorProcess
  client: FloorProcess
  conn: Connection
  stop(): Promise<void>
}

/** Spawns the floor server and client children and connects this process to the server too. */
async function startFloors (teardowns: Teardowns): Promise<Floors> {
  const server = await FloorProcess.spawn('floor-server.ts', [], stop => { teardowns.add(stop) })
  const serverAddr = server.multiaddrs[0]
  if (serverAddr == null) throw new Error('the floor server reported no address')
  const client = await FloorProcess.spawn('floor-client.ts', [serverAddr.toString()], stop => { teardowns.add(stop) })
  const node = await createFloorNode()
  teardowns.add(async () => { await node.stop() })
  const conn = await node.dial(server.multiaddrs, { signal: AbortSignal.timeout(DIAL_TIMEOUT) })
  return { server, client, conn, stop: async () => { await Promise.all([node.stop(), client.stop(), server.stop()]) } }
}

/**
 * Writes the keys every get variant reads, one value size at a time, and measures what each size
 * added under the peers' storage directories.
 */
async function preloadStore (net: Testnet, store: StoreScenarios, progress: Context['progress']): Promise<NonNullable<Resources['disk']>> {
  const disk: NonNullable<Resources['disk']> = {}
  for (const size of Object.keys(VALUE_SIZES) as SizeLabel[]) {
    const before = await storageBytes(net)
    let keys = 0
    for (const { variant } of VARIANTS.filter(v => v.size === size)) {
      keys += (await store.preload(variant, { signal: AbortSignal.timeout(PRELOAD_TIMEOUT) })).keys
    }
    const bytesAdded = await storageBytes(net) - before
    const logicalKiB = (keys * VALUE_SIZES[size] * DEFAULT_N) / 1024
    disk[size] = { keys, valueBytes: VALUE_SIZES[size], replicas: DEFAULT_N, bytesAdded, bytesPerStoredKiB: round(bytesAdded / logicalKiB, 1) }
    progress(`preloaded ${keys} p2pstore keys of ${size}: ${bytesAdded} bytes added on disk`)
  }
  return disk
}

/** The child's peak RSS over every window `during()` opened. */
function childPeak (child: FloorProcess, initial: number): { during<T>(fn: () => Promise<T>): Promise<T>, readonly peak: number } {
  let peak = initial
  return {
    during: async fn => {
      await child.rss(true)
      try {
        return await fn()
      } finally {
        const rss = await child.rss(false).catch(() => undefined)
        peak = Math.max(peak, rss?.peakRss ?? 0)
      }
    },
    get peak () { return peak }
  }
}

/** The main comparison: floors, p2pstore and kad-dht, interleaved. */
async function mainPhase (ctx: Context, teardowns: Teardowns): Promise<MainPhase> {
  const { budget, options, progress } = ctx
  const baselineRss = process.memoryUsage.rss()
  progress('spawning the floor server and client processes')
  const floors = await startFloors(teardowns)

  progress(`starting ${MAIN_PEERS} p2pstore peers in this process (${options.timings} timings)`)
  const began = performance.now()
  const net = await startStoreNet(MAIN_PEERS, { timings: options.timings, sync: options.sync, settleTimeoutMs: settleTimeout(MAIN_PEERS), onTeardown: fn => { teardowns.add(fn) } })
  const storeSettleMs = Math.round(performance.now() - began)
  progress(`p2pstore net settled in ${storeSettleMs} ms`)
  await sleep(IDLE_PAUSE)
  const idleRss = process.memoryUsage.rss()

  progress(`starting ${MAIN_PEERS} kad-dht nodes (bench namespace) in this process`)
  const kadNet = await startKadNet(MAIN_PEERS, { querySelfInterval: QUERY_SELF_INTERVAL, settleTimeoutMs: settleTimeout(MAIN_PEERS), onTeardown: fn => { teardowns.add(fn) } })
  const kadNetRss = process.memoryUsage.rss() - idleRss
  progress(`kad-dht net settled in ${kadNet.settle.ms} ms`)

  const [client, writer] = [net.peers[1], net.peers[2]]
  if (client == null || writer == null) throw new Error('the main net has fewer than 3 peers')
  progress('probing which kad-dht namespaces a p2pstore peer accepts')
  const probes = await probeNamespaces(writer, client)

  const scenarioInit = { getKeys: budget.getKeys, timeLimitMs: budget.timeLimitMs, prefix: ctx.prefix }
  const store = storeScenarios({ client, ...scenarioInit })
  const disk = await preloadStore(net, store, progress)
  const kad = kadScenarios(kadNet, scenarioInit)
  const pk = pkScenarios(client, writer, scenarioInit)
  for (const size of Object.keys(VALUE_SIZES) as SizeLabel[]) await kad.preload(size, { signal: AbortSignal.timeout(PRELOAD_TIMEOUT) })
  await pk.preload({ signal: AbortSignal.timeout(PRELOAD_TIMEOUT) })
  progress('preloaded the kad-dht keys')

  const floorIdle = await floors.server.rss(true)
  const serverPeak = childPeak(floors.server, floorIdle.peakRss)
  const storePeak = new RssPeak()
  const plan: Planned[] = [
    ...floorScenarios(budget.timeLimitMs, floors.client, floors.conn).map(s => ({
      scenario: around(s, async fn => serverPeak.during(fn)),
      perRound: perRound(s.id.startsWith('floorNewStream') ? budget.counts.floorNewStream : budget.counts.floor),
      warmup: budget.warmup.fast
    })),
    ...[...store.get.values(), ...store.put.values()].map(s => ({ scenario: around(s, async fn => storePeak.during(fn)), perRound: perRound(budget.counts.store), warmup: budget.warmup.fast })),
    ...[...kad.get.values(), ...kad.put.values(), pk.get, pk.put].map(s => ({ scenario: s, perRound: perRound(budget.counts.kad), warmup: budget.warmup.kad }))
  ]
  const watch = new MembershipWatch(net.peers)
  const results = await interleave(plan, options.rounds, progress)
  const membership = watch.stop('the main comparison\'s load phase: floors, p2pstore and kad-dht interleaved')
  progress(`membership during the load: ${membership.underLoad.falseDeaths} false deaths, ${membership.underLoad.suspicions} suspicions; ${'skipped' in membership.traffic ? '?' : membership.traffic.messagesPerPeerPerSec} messages per peer per second`)
  const join = await joins(net, ctx)

  // free the machine for the scale points
  await Promise.all([kadNet.teardown(), net.teardown(), floors.stop()])

  return {
    results,
    probes,
    kadNet: { ...kadNet.settle, peers: MAIN_PEERS },
    storeSettleMs,
    join,
    membership,
    resources: {
      baselineRssMb: mib(baselineRss),
      p2pstore: {
        peers: MAIN_PEERS,
        idleRssMb: mib(idleRss),
        idleRssPerPeerMb: mib(idleRss / MAIN_PEERS),
        idleMarginalPerPeerMb: mib((idleRss - baselineRss) / MAIN_PEERS),
        underLoadRssMb: mib(storePeak.peak),
        underLoadRssPerPeerMb: mib(storePeak.peak / MAIN_PEERS),
        kadNetRssMb: mib(kadNetRss)
      },
      floorServer: { idleRssMb: mib(floorIdle.rss), underLoadRssMb: mib(serverPeak.peak) },
      disk
    }
  }
}

/** One p2pstore scale point on a fresh net: headline get/put, join time, RSS per peer. */
async function storeScalePoint (n: number, ctx: Context, entry: ScaleEntry): Promise<NonNullable<ScaleEntry['p2pstore']>> {
  const { budget, options, progress } = ctx
  const teardowns = new Teardowns()
  try {
    progress(`scale: starting ${n} p2pstore peers`)
    const began = performance.now()
    const net = await startStoreNet(n, { timings: options.timings, sync: options.sync, settleTimeoutMs: settleTimeout(n), onTeardown: fn => { teardowns.add(fn) } })
    const settleMs = Math.round(performance.now() - began)
    progress(`scale: ${n} p2pstore peers settled in ${settleMs} ms`)
    await sleep(IDLE_PAUSE)
    const idleRss = process.memoryUsage.rss()
    const client = net.peers[1]
    if (client == null) throw new Error(`a net of ${n} has no peer 1`)
    const store = storeScenarios({ client, getKeys: budget.getKeys, timeLimitMs: budget.timeLimitMs, prefix: `${ctx.prefix}/scale${n}` })
    await store.preload('nonReplica100B', { signal: AbortSignal.timeout(PRELOAD_TIMEOUT) })
    const peak = new RssPeak()
    const plan = [store.get, store.put].flatMap(m => {
      const scenario = m.get('nonReplica100B')
      return scenario == null ? [] : [{ scenario, perRound: perRound(budget.counts.store), warmup: budget.warmup.fast }]
    })
    const watch = new MembershipWatch(net.peers)
    const results = await peak.during(async () => interleave(plan, budget.scaleRounds, progress))
    const membership = watch.stop(`this scale point's load phase (p2pstore get/put, ${n} peers in this process)`)
    entry.membershipTraffic = membership.traffic
    entry.membershipUnderLoad = membership.underLoad
    if (membership.underLoad.falseDeaths > 0) progress(`scale: ${n} peers: ${membership.underLoad.falseDeaths} false deaths during the load`)
    const newPeerKnownByAll = await joins(net, ctx)
    return {
      settleMs,
      get: byFlight(results, 'p2pstore.get.nonReplica100B'),
      put: byFlight(results, 'p2pstore.put.nonReplica100B'),
      newPeerKnownByAll,
      rssPerPeerMb: { idle: mib(idleRss / n), underLoad: mib(peak.peak / n) }
    }
  } catch (err) {
    progress(`scale: ${n} p2pstore peers FAILED: ${(err as Error).message}`)
    return { error: (err as Error).message }
  } finally {
    await teardowns.run()
  }
}

/** One kad-dht scale point on a fresh net. */
async function kadScalePoint (n: number, ctx: Context): Promise<NonNullable<ScaleEntry['kadDht']>> {
  const { budget, progress } = ctx
  const teardowns = new Teardowns()
  try {
    progress(`scale: starting ${n} kad-dht nodes`)
    const net = await startKadNet(n, { querySelfInterval: QUERY_SELF_INTERVAL, settleTimeoutMs: settleTimeout(n), onTeardown: fn => { teardowns.add(fn) } })
    progress(`scale: ${n} kad-dht nodes settled in ${net.settle.ms} ms`)
    const kad = kadScenarios(net, { getKeys: budget.getKeys, timeLimitMs: budget.timeLimitMs, prefix: `${ctx.prefix}/scale${n}` })
    await kad.preload('100B', { signal: AbortSignal.timeout(PRELOAD_TIMEOUT) })
    const plan = [kad.get, kad.put].flatMap(m => {
      const scenario = m.get('100B')
      return scenario == null ? [] : [{ scenario, perRound: perRound(budget.counts.kad), warmup: budget.warmup.kad }]
    })
    const results = await interleave(plan, budget.scaleRounds, progress)
    return { settleMs: net.settle.ms, get: byFlight(results, 'kadDht.get.100B'), put: byFlight(results, 'kadDht.put.100B') }
  } catch (err) {
    progress(`scale: ${n} kad-dht nodes FAILED: ${(err as Error).message}`)
    return { error: (err as Error).message }
  } finally {
    await teardowns.run()
  }
}

/** Every scale point; the main comparison's 10-peer figures stand for the 10-peer point. */
async function scalePhase (ctx: Context, main: MainPhase): Promise<ScaleEntry[]> {
  const { options } = ctx
  const sizes = [...new Set([...options.peers, ...options.kadPeers, ...options.processPeers])].sort((a, b) => a - b)
  const entries: ScaleEntry[] = []
  let storeFailedAt: number | undefined
  for (const n of sizes) {
    const entry: ScaleEntry = { peers: n, membershipTraffic: { skipped: 'no p2pstore net measured at this point' } }
    if (options.peers.includes(n)) {
      if (n === MAIN_PEERS) {
        const p = main.resources.p2pstore
        entry.p2pstore = {
          fromMainTable: true,
          settleMs: main.storeSettleMs,
          get: byFlight(main.results, 'p2pstore.get.nonReplica100B'),
          put: byFlight(main.results, 'p2pstore.put.nonReplica100B'),
          newPeerKnownByAll: main.join,
          rssPerPeerMb: p == null ? undefined : { idle: p.idleRssPerPeerMb, underLoad: p.underLoadRssPerPeerMb }
        }
        entry.membershipTraffic = main.membership.traffic
      } else if (storeFailedAt != null) {
        entry.p2pstore = { skipped: `not attempted: the ${storeFailedAt}-peer net failed` }
      } else {
        entry.p2pstore = await storeScalePoint(n, ctx, entry)
        if (entry.p2pstore.error != null) storeFailedAt = n
      }
    }
    if (options.processPeers.includes(n)) {
      // the in-process nets above are gone: this machine is the daemons' alone
      ctx.progress(`scale: starting ${n} daemon processes (test-net timing)`)
      entry.processes = await processScalePoint({ peers: n, profile: 'testnet', progress: ctx.progress })
      ctx.progress(`scale: ${renderProcessScale(entry.processes)}`)
    }
    if (options.kadPeers.includes(n)) {
      entry.kadDht = n === MAIN_PEERS
        ? { fromMainTable: true, settleMs: main.kadNet.ms, get: byFlight(main.results, 'kadDht.get.100B'), put: byFlight(main.results, 'kadDht.put.100B') }
        : await kadScalePoint(n, ctx)
    }
    const ratio = (a?: number, b?: number): number | undefined => a == null || b == null ? undefined : round(a / b, 2)
    entry.ratios = {
      kadGetP50VsGetP50: ratio(entry.kadDht?.get?.inFlight1?.p50Ms, entry.p2pstore?.get?.inFlight1?.p50Ms),
      kadPutP50VsPutP50: ratio(entry.kadDht?.put?.inFlight1?.p50Ms, entry.p2pstore?.put?.inFlight1?.p50Ms)
    }
    entries.push(entry)
  }
  return entries
}

/** Failure detection between daemon processes, alone on the machine (every net of this process is down). */
async function detectionPhase (ctx: Context): Promise<BenchReport['detection']> {
  if (!ctx.options.detection) return { skipped: '--no-detection' }
  const { killTrials, stopTrials, freshNetPerKill, settleMs } = ctx.budget.detection
  try {
    return await detectFailures({ peers: MAIN_PEERS, killTrials, stopTrials, freshNetPerKill, pollMs: DETECTION_POLL, settleMs, progress: line => { ctx.progress(`detection: ${line.trim()}`) } })
  } catch (err) {
    ctx.progress(`detection FAILED: ${(err as Error).message}`)
    return { error: (err as Error).message }
  }
}

/** Builds the report of a finished run. */
function buildReport (ctx: Context, main: MainPhase, scale: ScaleEntry[], detection: BenchReport['detection'], m: BenchReport['machine']): BenchReport {
  const kadDht = {
    get: headline(main.results, 'kadDht.get', '100B'),
    put: headline(main.results, 'kadDht.put', '100B'),
    how: `a separate net of ${MAIN_PEERS} plain libp2p nodes in this process, built like src/peer.ts (TCP, Noise, Yamux, identify, ping, kad-dht on /p2pstore/kad/1.0.0, server mode, passthroughMapper) plus a validator and selector for /p2pstore-bench/, fully connected; a p2pstore peer's own DHT has no option for a namespace validator (probe below), so only 36-byte /pk/ records could be measured on the same peers (variant samePeersPk36B)`,
    namespaceProbe: main.probes,
    net: { peers: main.kadNet.peers, settleMs: main.kadNet.ms, meshDialFailures: main.kadNet.meshDialFailures }
  }
  const partial = {
    floor: headline(main.results, 'floor', 'tiny32B'),
    floorNewStream: headline(main.results, 'floorNewStream', 'tiny32B'),
    p2pstore: { get: headline(main.results, 'p2pstore.get', 'nonReplica100B'), put: headline(main.results, 'p2pstore.put', 'nonReplica100B') },
    kadDht
  }
  return {
    ...partial,
    ratios: ratios(partial),
    detection,
    membershipUnderLoad: main.membership.underLoad satisfies MembershipUnderLoad,
    scale,
    resources: main.resources,
    machine: m,
    notes: ctx.notes
  }
}

async function main (argv: string[]): Promise<number> {
  if (argv[0] === 'daemons') return daemonsMain(argv.slice(1), `npm run bench -- ${argv.join(' ')}`)
  let options
  try {
    options = parseOptions(argv)
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (options == null) return 0
  const started = performance.now()
  const ctx: Context = {
    options,
    budget: options.quick ? QUICK : FULL,
    prefix: `bench-${Date.now().toString(36)}`,
    progress: line => { process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`) },
    notes: [
      'p2pstore nets run all their peers in this one process (one event loop for every coordinator and replica); the floor headline runs client and server in two processes of their own',
      options.sync
        ? 'p2pstore peers fsync every write before acknowledging it (LevelDB sync writes, the daemon\'s default): the coordinator\'s fsync overlaps the replicas\' (a put waits for one fsync on its critical path, but all three land on this one disk at once); --no-sync measures without'
        : 'p2pstore peers run with sync: false (--no-sync): writes are acknowledged once in the OS cache, not fsynced (a daemon\'s default is to fsync)',
      'the *ClientInBenchProcess floor variants run the same loads from this process, whose event loop the idle in-process nets (p2pstore and kad-dht) share during the main comparison: the difference to the headline floor is what that sharing costs; scale points run alone'
    ]
  }
  const rejections: string[] = []
  process.on('unhandledRejection', reason => {
    rejections.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason))
    ctx.progress(`unhandled promise rejection (counted; the run goes on): ${String(reason)}`)
  })
  const m = machine({ command: `npm run bench -- ${argv.join(' ')}`.trim(), mode: options.quick ? 'quick' : 'full', timings: options.timings })
  const teardowns = new Teardowns()
  let report: BenchReport
  let daemons: DaemonReport | { error: string } | undefined
  try {
    const mainResults = await mainPhase(ctx, teardowns)
    await teardowns.run()
    const scale = await scalePhase(ctx, mainResults)
    const detection = await detectionPhase(ctx)
    if (options.daemons) {
      ctx.progress('daemons: p2pstore daemon processes vs etcd (daemons.ts)')
      const daemonOptions = parseDaemonOptions(options.quick ? ['--quick'] : [])
      daemons = daemonOptions == null
        ? undefined
        : await runDaemonBench(daemonOptions, `npm run bench -- daemons${options.quick ? ' --quick' : ''}`, line => { ctx.progress(`daemons: ${line}`) })
          .catch((err: unknown) => ({ error: (err as Error).message }))
    }
    m.wallSeconds = Math.round((performance.now() - started) / 1000)
    if (rejections.length > 0) ctx.notes.push(`${rejections.length} unhandled promise rejection(s) during the run, first: ${rejections[0]}`)
    report = buildReport(ctx, mainResults, scale, detection, m)
  } catch (err) {
    ctx.progress(`bench failed: ${(err as Error).stack ?? String(err)}`)
    return 1
  } finally {
    await teardowns.run()
  }
  if (options.json != null) {
    await fs.writeFile(options.json, JSON.stringify(daemons == null ? report : { ...report, daemons }, null, 2) + '\n')
    ctx.progress(`wrote ${options.json}`)
  }
  const daemonTable = daemons == null ? '' : 'error' in daemons ? `\ndaemons: FAILED: ${daemons.error}\n` : `\n${renderDaemonReport(daemons)}`
  await new Promise<void>(resolve => { process.stdout.write(renderTable(report) + daemonTable, () => { resolve() }) })
  return 0
}

// libp2p leaves timers behind after stop(): exit explicitly once the output is written
process.exit(await main(process.argv.slice(2)))
