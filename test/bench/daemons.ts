/**
 * p2pstore as users meet it — `p2pstore daemon` processes behind the HTTP API — side by side with
 * a 3-member etcd cluster on the same machine, in one run (issue 17).
 *
 * For every net of `--nets` (e.g. 3 daemons at production timing, 10, then the test-net profile):
 * start the daemons (`--open`, N3/W2/R2, fsync on: the daemon's defaults), wait until every one
 * sees every other alive, measure their idle CPU (and etcd's, over the same window), preload the
 * keys the gets read, then alternate p2pstore's and etcd's scenarios round by round, at 1 and 32 in
 * flight, from ONE keep-alive HTTP client (node:http Agent) — puts of fresh keys and gets of
 * preloaded ones, 100-byte values. CPU per operation is the utime + stime of every server process
 * of the system (from /proc/PID/stat) over each run, divided by its successful operations.
 *
 * etcd (`/usr/bin/etcd`, Debian's etcd-server 3.4, or `$ETCD_BIN`; fsync on) is driven through its
 * JSON gRPC gateway, `POST /v3/kv/put` and `/v3/kv/range` with base64 keys and values, at the
 * leader and at a follower; gets linearizable (the default) and serializable.
 *
 * With `--cpu-prof DIR` every daemon runs under `node --cpu-prof` and writes DIR/<net>/d<i>.cpuprofile
 * when it stops; DIR/<net>/windows.json holds the monotonic-clock windows of its idle phase and of
 * its put and get runs, for `node --import tsx test/bench/profile.ts DIR/<net> --window put`.
 * The idle phase then lasts at least 30 s.
 *
 *   npm run bench:daemons [-- --quick] [--nets 3:default,10:default,3:testnet,10:testnet]
 *     [--rounds N] [--idle SECONDS] [--cpu-prof DIR] [--no-etcd] [--json FILE]
 *
 * Progress goes to stderr, the table to stdout, the figures to `--json FILE`.
 *
 * @packageDocumentation
 */
import '../../src/polyfill.ts'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds, cpuSecondsOf, writeCallsOf } from './proc-stat.ts'
import { machine } from './report.ts'
import { interleave, MissError } from './scenario.ts'
import { round, runLoad } from './stats.ts'
import type { Machine } from './report.ts'
import type { Planned, Results, Scenario } from './scenario.ts'
import type { MeasuredBlock, RunResult } from './stats.ts'
import type { ChildProcess } from 'node:child_process'

/** The etcd binary: Debian's etcd-server, or `$ETCD_BIN` (e.g. an upstream release). */
const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd'

/** This package's CLI (it runs dist/: `npm run build` first). */
const CLI = fileURLToPath(new URL('../../bin/p2pstore.js', import.meta.url))
export const ETCD_MISSING = 'etcd not found: apt-get install etcd-server — skipping the etcd comparison'

const USAGE = `usage: npm run bench:daemons -- [options]   (or: npm run bench -- daemons [options])

  --quick               about 2 minutes: 3 and 10 daemons at production timing, 2 rounds, fewer operations
  --nets LIST           the p2pstore nets, size:profile, comma-separated
                        (default 3:default,10:default,3:testnet,10:testnet; quick: 3:default,10:default)
  --rounds N            alternated rounds per net (default 4; quick 2)
  --idle SECONDS        idle CPU window per net (default 20, at least 20; 30 with --cpu-prof)
  --cpu-prof DIR        run the daemons under node --cpu-prof; DIR/<net>/d<i>.cpuprofile + windows.json
  --no-etcd             skip the etcd comparison
  --json FILE           also write the figures as JSON to FILE
  -h, --help            this text
`

/** Value size of every put and preloaded key. */
const VALUE_BYTES = 100

/** Deadline of one operation. */
const OP_TIMEOUT = 10_000

/** Deadline of a net's start, until every daemon sees every other alive. */
const START_TIMEOUT = 180_000

/** Pause after a net settled, before its idle window (start-up work done, timers running). */
const SETTLE_PAUSE = 3_000

/** Grace after SIGTERM before SIGKILL. */
const STOP_GRACE = 15_000

/** The smallest idle window the report accepts, s. */
const MIN_IDLE_SECONDS = 20

/** The idle window with --cpu-prof, s (the idle profile). */
const PROFILE_IDLE_SECONDS = 30

/** How much each mode runs. */
interface Budget {
  /** operations per round and scenario at [1, 32] in flight */
  counts: [number, number]
  warmup: number
  getKeys: number
  timeLimitMs: number
  rounds: number
  nets: string
}

const QUICK: Budget = { counts: [100, 400], warmup: 30, getKeys: 100, timeLimitMs: 4_000, rounds: 2, nets: '3:default,10:default' }
const FULL: Budget = { counts: [300, 1500], warmup: 100, getKeys: 300, timeLimitMs: 15_000, rounds: 4, nets: '3:default,10:default,3:testnet,10:testnet' }

type TimingProfile = 'default' | 'testnet'

/** One p2pstore net of the run. */
export interface NetSpec {
  size: number
  profile: TimingProfile
}

export interface DaemonBenchOptions {
  quick: boolean
  nets: NetSpec[]
  rounds: number
  idleSeconds: number
  cpuProf?: string
  etcd: boolean
  json?: string
}

/** Parses `3:default,10:testnet`. */
export function parseNets (value: string): NetSpec[] {
  return value.split(',').map(part => {
    const [size, profile = 'default'] = part.trim().split(':')
    const n = Number(size)
    if (!Number.isInteger(n) || n < 3 || n > 30) throw new RangeError(`--nets: sizes are whole numbers from 3 to 30; got '${part}'`)
    if (profile !== 'default' && profile !== 'testnet') throw new RangeError(`--nets: profiles are default or testnet; got '${part}'`)
    return { size: n, profile }
  })
}

/** Parses argv; `undefined` after printing the usage for --help. */
export function parseDaemonOptions (argv: string[]): DaemonBenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      nets: { type: 'string' },
      rounds: { type: 'string' },
      idle: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-etcd': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return undefined
  }
  const budget = values.quick ? QUICK : FULL
  const rounds = values.rounds == null ? budget.rounds : Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds: a whole number ≥ 1; got '${values.rounds}'`)
  const idle = values.idle == null ? MIN_IDLE_SECONDS : Number(values.idle)
  if (!Number.isFinite(idle) || idle < MIN_IDLE_SECONDS) throw new RangeError(`--idle: at least ${MIN_IDLE_SECONDS} seconds; got '${values.idle}'`)
  return {
    quick: values.quick,
    nets: parseNets(values.nets ?? budget.nets),
    rounds,
    idleSeconds: values['cpu-prof'] == null ? idle : Math.max(idle, PROFILE_IDLE_SECONDS),
    cpuProf: values['cpu-prof'] == null ? undefined : path.resolve(values['cpu-prof']),
    etcd: !values['no-etcd'],
    json: values.json
  }
}

// ---------------------------------------------------------------------------------------------
// cleanup: every child and temp dir, also on Ctrl-C and failure

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

/** SIGTERM, then SIGKILL after the grace; resolves once the process exited. */
async function stopChild (child: ChildProcess, grace = STOP_GRACE): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) {
    children.delete(child)
    return
  }
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, grace)
  await exited
  clearTimeout(timer)
  children.delete(child)
}

async function cleanup (): Promise<void> {
  await Promise.all([...children].map(async c => { await stopChild(c) }))
  await Promise.all([...tempDirs].map(async d => { await fs.rm(d, { recursive: true, force: true }).catch(() => {}) }))
  tempDirs.clear()
}

let signalled = false
function onSignal (sig: NodeJS.Signals): void {
  if (signalled) process.exit(130)
  signalled = true
  process.stderr.write(`\n${sig}: stopping every daemon and etcd member, removing the temp dirs\n`)
  void cleanup().finally(() => process.exit(130))
}

async function tempDir (label: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `p2pstore-bench-${label}-`))
  tempDirs.add(dir)
  return dir
}

// ---------------------------------------------------------------------------------------------
// the one client

/** The one keep-alive client both systems are driven with. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

interface Response {
  status: number
  body: Buffer
}

/** One request through the shared agent. */
async function request (url: string, method: string, body: Uint8Array | string | undefined, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = http.request(url, { method, agent, signal, headers: body == null ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

class HttpStatusError extends Error {
  override name = 'HttpStatusError'
}

function expectOk (res: Response, what: string): Response {
  if (res.status !== 200) throw new HttpStatusError(`${what}: HTTP ${res.status} ${res.body.toString('utf8', 0, 200)}`)
  return res
}

const VALUE = new Uint8Array(VALUE_BYTES).fill(0x61)
const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64')

// ---------------------------------------------------------------------------------------------
// p2pstore daemons

interface Daemon {
  child: ChildProcess
  api: string
  multiaddrs: string[]
  peerId: string
  dataDir: string
}

interface StoreNet {
  label: string
  spec: NetSpec
  daemons: Daemon[]
  profileDir?: string
  pids: number[]
}

/** Spawns one daemon and resolves with it once it reports ready over IPC. */
async function spawnDaemon (index: number, spec: NetSpec, root: string, bootstrap: string[], profileDir?: string): Promise<Daemon> {
  const dataDir = path.join(root, `d${index}`)
  await fs.mkdir(dataDir, { recursive: true })
  const log = await fs.open(path.join(dataDir, 'daemon.log'), 'a')
  const nodeFlags = profileDir == null ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `d${index}.cpuprofile`]
  const args = [
    ...nodeFlags, CLI, 'daemon',
    '--data', dataDir,
    '--listen', '/ip4/127.0.0.1/tcp/0',
    '--api-host', '127.0.0.1',
    '--api-port', '0',
    '--allow', '/ip4/127.0.0.0/ipcidr/8',
    '--open',
    '--profile', spec.profile,
    ...bootstrap.flatMap(ma => ['--bootstrap', ma])
  ]
  const child = spawn(process.execPath, args, { stdio: ['ignore', log.fd, log.fd, 'ipc'], detached: true })
  await log.close()
  children.add(child)
  return new Promise<Daemon>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`daemon ${index} did not start within ${START_TIMEOUT / 1000} s; see ${dataDir}/daemon.log`)) }, START_TIMEOUT)
    child.on('message', (m: { type?: string, info?: { api: string, multiaddrs: string[], peerId: string } }) => {
      if (m.type === 'ready' && m.info != null) {
        clearTimeout(timer)
        resolve({ child, api: m.info.api.replace(/\/$/, ''), multiaddrs: m.info.multiaddrs, peerId: m.info.peerId, dataDir })
      }
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`daemon ${index} exited with code ${code} while starting; see ${dataDir}/daemon.log`))
    })
  })
}

/** How many daemons of `daemons` see every other as alive. */
async function settledCount (daemons: Daemon[]): Promise<number> {
  const ids = daemons.map(d => d.peerId)
  const seen = await Promise.all(daemons.map(async d => {
    try {
      const res = await request(`${d.api}/v1/peers`, 'GET', undefined, AbortSignal.timeout(5_000), { accept: 'application/json' })
      const peers = JSON.parse(res.body.toString('utf8')) as Array<{ peerId: string, state: string }> | { peers: Array<{ peerId: string, state: string }> }
      const list = Array.isArray(peers) ? peers : peers.peers
      const alive = new Set(list.filter(p => p.state === 'alive').map(p => p.peerId))
      return ids.every(id => id === d.peerId || alive.has(id))
    } catch {
      return false
    }
  }))
  return seen.filter(Boolean).length
}

/** Starts the daemons of `spec` (the first is every other's bootstrap peer) and waits for the full mesh. */
async function startStoreNet (spec: NetSpec, options: DaemonBenchOptions, progress: (line: string) => void): Promise<StoreNet> {
  const label = `p2pstore-${spec.size}-${spec.profile}`
  const root = await tempDir(label)
  const profileDir = options.cpuProf == null ? undefined : path.join(options.cpuProf, label)
  if (profileDir != null) await fs.mkdir(profileDir, { recursive: true })
  const began = performance.now()
  const before = new Set(children)
  try {
    const first = await spawnDaemon(0, spec, root, [], profileDir)
    const rest = await Promise.all(Array.from({ length: spec.size - 1 }, async (_, i) => spawnDaemon(i + 1, spec, root, first.multiaddrs, profileDir)))
    const daemons = [first, ...rest]
    const deadline = performance.now() + START_TIMEOUT
    for (;;) {
      const settled = await settledCount(daemons)
      if (settled === daemons.length) break
      if (performance.now() > deadline) throw new Error(`${label}: only ${settled} of ${daemons.length} daemons see every other alive after ${START_TIMEOUT / 1000} s`)
      await sleep(250)
    }
    progress(`${label}: ${spec.size} daemons up and meshed in ${Math.round(performance.now() - began)} ms`)
    return { label, spec, daemons, profileDir, pids: daemons.map(d => d.child.pid ?? 0) }
  } catch (err) {
    // this net's daemons go now, not at the end: the next net must not share the machine with them
    await Promise.all([...children].filter(c => !before.has(c)).map(async c => { await stopChild(c) }))
    await fs.rm(root, { recursive: true, force: true }).catch(() => {})
    tempDirs.delete(root)
    throw err
  }
}

async function stopStoreNet (n: StoreNet): Promise<void> {
  await Promise.all(n.daemons.map(async d => { await stopChild(d.child) }))
}

/** p2pstore's scenarios, all through daemon 0's API. */
function storeScenarios (n: StoreNet, prefix: string, getKeys: number, timeLimitMs: number): { scenarios: Scenario[], preload(): Promise<void> } {
  const api = n.daemons[0]?.api ?? ''
  const key = (k: string): string => `${api}/v1/kv/${encodeURIComponent(`${prefix}/${k}`)}`
  let puts = 0
  const put = async (k: string, signal: AbortSignal): Promise<void> => {
    expectOk(await request(key(k), 'PUT', VALUE, signal, { 'content-type': 'application/octet-stream' }), 'put')
  }
  const get = (r: number) => async (i: number, signal: AbortSignal): Promise<void> => {
    const res = await request(`${key(`get/${i % getKeys}`)}?r=${r}`, 'GET', undefined, signal)
    if (res.status === 404) throw new MissError(`get/${i % getKeys}: 404`)
    expectOk(res, 'get')
    if (res.body.length !== VALUE_BYTES) throw new MissError(`get: ${res.body.length} bytes`)
  }
  const load = (op: (i: number, signal: AbortSignal) => Promise<void>) => async (inFlight: number, count: number): Promise<RunResult> =>
    runLoad(op, { count, inFlight, timeLimitMs, opTimeoutMs: OP_TIMEOUT })
  return {
    scenarios: [
      { id: `${n.label}.put`, run: load(async (_i, signal) => { await put(`put/${puts++}`, signal) }) },
      { id: `${n.label}.get.r2`, run: load(get(2)) },
      { id: `${n.label}.get.r1`, run: load(get(1)) }
    ],
    preload: async () => {
      await forEach(getKeys, 16, async i => { await put(`get/${i}`, AbortSignal.timeout(OP_TIMEOUT)) })
    }
  }
}

async function forEach (count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < count) await fn(next++)
  }))
}

// ---------------------------------------------------------------------------------------------
// etcd

interface EtcdMember {
  name: string
  child: ChildProcess
  client: string
  id?: string
}

interface Etcd {
  members: EtcdMember[]
  leader: EtcdMember
  follower: EtcdMember
  pids: number[]
  version: string
}

async function freePort (): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr != null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}

/** Starts a 3-member etcd cluster on loopback and waits for its leader. */
async function startEtcd (progress: (line: string) => void): Promise<Etcd> {
  const root = await tempDir('etcd')
  const ports = await Promise.all(Array.from({ length: 6 }, freePort))
  const names = ['e0', 'e1', 'e2']
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`
  const clientUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`
  const cluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',')
  const members: EtcdMember[] = []
  for (const [i, name] of names.entries()) {
    const log = await fs.open(path.join(root, `${name}.log`), 'a')
    const child = spawn(ETCD, [
      '--name', name,
      '--data-dir', path.join(root, name),
      '--listen-client-urls', clientUrl(i),
      '--advertise-client-urls', clientUrl(i),
      '--listen-peer-urls', peerUrl(i),
      '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', cluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `bench-${process.pid}`
    ], { stdio: ['ignore', log.fd, log.fd] })
    await log.close()
    children.add(child)
    members.push({ name, child, client: clientUrl(i) })
  }
  const deadline = performance.now() + START_TIMEOUT
  for (;;) {
    const statuses = await Promise.all(members.map(async m => {
      try {
        const res = await request(`${m.client}/v3/maintenance/status`, 'POST', '{}', AbortSignal.timeout(2_000))
        return JSON.parse(res.body.toString('utf8')) as { header?: { member_id?: string }, leader?: string, version?: string }
      } catch {
        return undefined
      }
    }))
    const leaderId = statuses.find(s => s?.leader != null && s.leader !== '0')?.leader
    if (leaderId != null && statuses.every(s => s?.leader === leaderId)) {
      for (const [i, s] of statuses.entries()) { const m = members[i]; if (m != null) m.id = s?.header?.member_id }
      const leader = members.find(m => m.id === leaderId)
      const follower = members.find(m => m.id !== leaderId)
      if (leader == null || follower == null) throw new Error('etcd: no leader among the members')
      progress(`etcd ${statuses[0]?.version ?? '?'}: 3 members up, leader ${leader.name}`)
      return { members, leader, follower, pids: members.map(m => m.child.pid ?? 0), version: statuses[0]?.version ?? 'unknown' }
    }
    if (members.some(m => m.child.exitCode != null)) throw new Error(`etcd: a member exited while starting; logs in ${root}`)
    if (performance.now() > deadline) throw new Error(`etcd: no leader after ${START_TIMEOUT / 1000} s; logs in ${root}`)
    await sleep(200)
  }
}

/** etcd's scenarios through its JSON gateway. */
function etcdScenarios (etcd: Etcd, prefix: string, getKeys: number, timeLimitMs: number): { scenarios: Scenario[], preload(): Promise<void> } {
  let puts = 0
  const put = async (m: EtcdMember, k: string, signal: AbortSignal): Promise<void> => {
    expectOk(await request(`${m.client}/v3/kv/put`, 'POST', JSON.stringify({ key: b64(`${prefix}/${k}`), value: b64(VALUE) }), signal), 'etcd put')
  }
  const get = (m: EtcdMember, serializable: boolean) => async (i: number, signal: AbortSignal): Promise<void> => {
    const res = expectOk(await request(`${m.client}/v3/kv/range`, 'POST', JSON.stringify({ key: b64(`${prefix}/get/${i % getKeys}`), serializable }), signal), 'etcd range')
    const body = JSON.parse(res.body.toString('utf8')) as { kvs?: Array<{ value?: string }> }
    if (body.kvs?.[0]?.value == null) throw new MissError(`etcd get/${i % getKeys}: no value`)
  }
  const load = (op: (i: number, signal: AbortSignal) => Promise<void>) => async (inFlight: number, count: number): Promise<RunResult> =>
    runLoad(op, { count, inFlight, timeLimitMs, opTimeoutMs: OP_TIMEOUT })
  const { leader, follower } = etcd
  return {
    scenarios: [
      { id: 'etcd.put.leader', run: load(async (_i, signal) => { await put(leader, `put/${puts++}`, signal) }) },
      { id: 'etcd.put.follower', run: load(async (_i, signal) => { await put(follower, `put/${puts++}`, signal) }) },
      { id: 'etcd.get.linearizable.leader', run: load(get(leader, false)) },
      { id: 'etcd.get.linearizable.follower', run: load(get(follower, false)) },
      { id: 'etcd.get.serializable.follower', run: load(get(follower, true)) }
    ],
    preload: async () => {
      await forEach(getKeys, 16, async i => { await put(leader, `get/${i}`, AbortSignal.timeout(OP_TIMEOUT)) })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// measuring

/** CPU seconds per scenario and concurrency, and the windows of p2pstore's runs (for profiles). */
class CpuMeter {
  readonly cpu = new Map<string, { seconds: number, ops: number, wallSeconds: number, writes: number }>()
  readonly windows: Record<string, Array<{ from: number, to: number }>> = {}

  /** `scenario` with every run's CPU over `pids` counted. */
  wrap (scenario: Scenario, pids: () => number[], windowName?: string): Scenario {
    return {
      id: scenario.id,
      run: async (inFlight, count) => {
        const from = monotonicUs()
        const before = cpuSecondsOf(pids())
        const writesBefore = writeCallsOf(pids())
        const began = performance.now()
        const run = await scenario.run(inFlight, count)
        const wallSeconds = (performance.now() - began) / 1000
        const used = cpuSecondsOf(pids()) - before
        const writes = writeCallsOf(pids()) - writesBefore
        if (windowName != null) (this.windows[windowName] ??= []).push({ from, to: monotonicUs() })
        const key = `${scenario.id}\u0000${inFlight}`
        const acc = this.cpu.get(key) ?? { seconds: 0, ops: 0, wallSeconds: 0, writes: 0 }
        acc.seconds += used
        acc.writes += writes
        acc.ops += run.latenciesMs.length
        acc.wallSeconds += wallSeconds
        this.cpu.set(key, acc)
        return run
      }
    }
  }

  /**
   * CPU ms per successful operation, summed over the servers; with `idleCores` (what the servers
   * used together while idle, in cores), net of that background cost over the runs' wall time.
   */
  perOpMs (id: string, inFlight: number, idleCores = 0): number | undefined {
    const acc = this.cpu.get(`${id}\u0000${inFlight}`)
    return acc == null || acc.ops === 0 ? undefined : round(1000 * (acc.seconds - idleCores * acc.wallSeconds) / acc.ops, 3)
  }

  /** Write system calls per successful operation, summed over the servers (socket writes, log writes, fsyncs' writes). */
  writesPerOp (id: string, inFlight: number): number | undefined {
    const acc = this.cpu.get(`${id}\u0000${inFlight}`)
    return acc == null || acc.ops === 0 ? undefined : round(acc.writes / acc.ops, 1)
  }
}

/** Microseconds of CLOCK_MONOTONIC: V8's profile timestamps on Linux use the same clock. */
function monotonicUs (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** % of one core each pid used over `seconds`. */
async function idleCpu (groups: Record<string, number[]>, seconds: number): Promise<Record<string, IdleFigures>> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.map(p => cpuSeconds(p) ?? 0)]))
  const writesBefore = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, writeCallsOf(pids)]))
  const began = performance.now()
  await sleep(seconds * 1000)
  const wall = (performance.now() - began) / 1000
  return Object.fromEntries(Object.entries(groups).map(([k, pids]) => {
    const perProcessPct = pids.map((p, i) => round(100 * ((cpuSeconds(p) ?? 0) - (before[k]?.[i] ?? 0)) / wall, 2))
    const total = perProcessPct.reduce((a, b) => a + b, 0)
    const writesPerProcessPerSec = round((writeCallsOf(pids) - (writesBefore[k] ?? 0)) / wall / pids.length, 1)
    return [k, { perProcessPct, meanPct: round(total / pids.length, 2), totalPct: round(total, 2), seconds: round(wall, 1), writesPerProcessPerSec }]
  }))
}

export interface IdleFigures {
  perProcessPct: number[]
  meanPct: number
  totalPct: number
  seconds: number
  /** write system calls per process per second (socket writes: one per libp2p frame or HTTP response) */
  writesPerProcessPerSec?: number
}

export interface NetReport {
  label: string
  size: number
  profile: TimingProfile
  /** by scenario, then by concurrency; cpuMsPerOp: all server CPU over the runs per op; cpuMsPerOpNetOfIdle: minus the idle rate × wall time */
  results: Record<string, Record<string, MeasuredBlock & { cpuMsPerOp?: number, cpuMsPerOpNetOfIdle?: number, writeCallsPerOp?: number }>>
  idle: Record<string, IdleFigures>
  ratios: Record<string, number | undefined>
  profileDir?: string
  error?: string
}

export interface DaemonReport {
  machine: Machine
  etcd: { version: string, members: 3, leader: string } | { skipped: string }
  nets: NetReport[]
  notes: string[]
}

/** One net: start, idle window, preload, alternated rounds with etcd, stop. */
async function measureNet (spec: NetSpec, options: DaemonBenchOptions, budget: Budget, etcd: Etcd | undefined, progress: (line: string) => void): Promise<NetReport> {
  const label = `p2pstore-${spec.size}-${spec.profile}`
  let storeNet: StoreNet | undefined
  try {
    storeNet = await startStoreNet(spec, options, progress)
    const sn = storeNet
    await sleep(SETTLE_PAUSE)
    progress(`${label}: idle window, ${options.idleSeconds} s${etcd == null ? '' : ' (etcd idle too)'}`)
    const idleFrom = monotonicUs()
    const idle = await idleCpu({ p2pstore: sn.pids, ...(etcd == null ? {} : { etcd: etcd.pids }) }, options.idleSeconds)
    const idleTo = monotonicUs()
    progress(`${label}: idle ${idle.p2pstore?.meanPct} % of a core per daemon${idle.etcd == null ? '' : `, etcd ${idle.etcd.meanPct} % per member`}`)
    const prefix = `bench-${Date.now().toString(36)}`
    const store = storeScenarios(sn, prefix, budget.getKeys, budget.timeLimitMs)
    const ec = etcd == null ? undefined : etcdScenarios(etcd, prefix, budget.getKeys, budget.timeLimitMs)
    await store.preload()
    await ec?.preload()
    progress(`${label}: preloaded ${budget.getKeys} keys${ec == null ? '' : ' in each system'}`)
    const meter = new CpuMeter()
    const perRound = new Map([[1, budget.counts[0]], [32, budget.counts[1]]])
    const wrapStore = (s: Scenario, w: string): Planned => ({ scenario: meter.wrap(s, () => sn.pids, w), perRound, warmup: budget.warmup })
    const wrapEtcd = (s: Scenario | undefined): Planned[] => s == null || etcd == null ? [] : [{ scenario: meter.wrap(s, () => etcd.pids), perRound, warmup: budget.warmup }]
    const [sPut, sGet2, sGet1] = store.scenarios
    const [ePutL, ePutF, eGetL, eGetF, eGetS] = ec?.scenarios ?? []
    if (sPut == null || sGet2 == null || sGet1 == null) throw new Error('no p2pstore scenarios')
    // the systems alternate within every round
    const plan: Planned[] = [
      wrapStore(sPut, 'put'), ...wrapEtcd(ePutL), ...wrapEtcd(ePutF),
      wrapStore(sGet2, 'get'), ...wrapEtcd(eGetL),
      wrapStore(sGet1, 'get'), ...wrapEtcd(eGetF), ...wrapEtcd(eGetS)
    ]
    const results = await interleave(plan, options.rounds, progress)
    const report = netReport(spec, label, results, meter, idle)
    if (sn.profileDir != null) {
      await stopStoreNet(sn)
      await fs.writeFile(path.join(sn.profileDir, 'windows.json'), JSON.stringify({ idle: [{ from: idleFrom, to: idleTo }], ...meter.windows }, null, 2) + '\n')
      report.profileDir = sn.profileDir
    }
    return report
  } catch (err) {
    progress(`${label} FAILED: ${(err as Error).message}`)
    return { label, size: spec.size, profile: spec.profile, results: {}, idle: {}, ratios: {}, error: (err as Error).message }
  } finally {
    if (storeNet != null) {
      await stopStoreNet(storeNet)
      const root = path.dirname(storeNet.daemons[0]?.dataDir ?? '')
      await fs.rm(root, { recursive: true, force: true }).catch(() => {})
      tempDirs.delete(root)
    }
  }
}

function netReport (spec: NetSpec, label: string, results: Results, meter: CpuMeter, idle: Record<string, IdleFigures>): NetReport {
  const out: NetReport['results'] = {}
  for (const [id, byFlight] of results) {
    const short = id.replace(`${label}.`, 'p2pstore.')
    const idleCores = (idle[short.startsWith('etcd.') ? 'etcd' : 'p2pstore']?.totalPct ?? 0) / 100
    out[short] = Object.fromEntries([...byFlight].map(([inFlight, block]) => [String(inFlight), { ...block, cpuMsPerOp: meter.perOpMs(id, inFlight), cpuMsPerOpNetOfIdle: meter.perOpMs(id, inFlight, idleCores), writeCallsPerOp: meter.writesPerOp(id, inFlight) }]))
  }
  const r = (a: number | undefined, b: number | undefined): number | undefined => a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : round(a / b, 2)
  const f = (id: string, inFlight: number, k: 'p50Ms' | 'p99Ms' | 'opsPerSec' | 'cpuMsPerOp'): number | undefined => out[id]?.[String(inFlight)]?.[k]
  const ratios: NetReport['ratios'] = {
    putP50VsEtcdLeader: r(f('p2pstore.put', 1, 'p50Ms'), f('etcd.put.leader', 1, 'p50Ms')),
    putOpsPerSec32VsEtcdLeader: r(f('p2pstore.put', 32, 'opsPerSec'), f('etcd.put.leader', 32, 'opsPerSec')),
    getR2P50VsEtcdLinearizableLeader: r(f('p2pstore.get.r2', 1, 'p50Ms'), f('etcd.get.linearizable.leader', 1, 'p50Ms')),
    getR2OpsPerSec32VsEtcdLinearizableLeader: r(f('p2pstore.get.r2', 32, 'opsPerSec'), f('etcd.get.linearizable.leader', 32, 'opsPerSec')),
    cpuPerPut32VsEtcdLeader: r(f('p2pstore.put', 32, 'cpuMsPerOp'), f('etcd.put.leader', 32, 'cpuMsPerOp')),
    cpuPerGetR2_32VsEtcdLinearizableLeader: r(f('p2pstore.get.r2', 32, 'cpuMsPerOp'), f('etcd.get.linearizable.leader', 32, 'cpuMsPerOp')),
    idlePerProcessVsEtcd: r(idle.p2pstore?.meanPct, idle.etcd?.meanPct)
  }
  return { label, size: spec.size, profile: spec.profile, results: out, idle, ratios }
}

// ---------------------------------------------------------------------------------------------
// report

const num = (x: number | undefined, width: number): string => {
  if (x == null || !Number.isFinite(x)) return '–'.padStart(width)
  const s = x >= 1000 ? Math.round(x).toLocaleString('en-US') : x >= 100 ? x.toFixed(1) : x.toFixed(3)
  return s.padStart(width)
}

/** The human table. */
export function renderDaemonReport (report: DaemonReport): string {
  const lines: string[] = []
  const m = report.machine
  lines.push(`daemon processes through the HTTP API vs etcd — ${m.command}, ${m.cpus} × ${m.model}, Node ${m.node}, ${m.os}, commit ${m.commit ?? '?'}, ${m.wallSeconds ?? '?'} s`)
  lines.push('etcd' in report && 'skipped' in report.etcd ? `etcd: ${report.etcd.skipped}` : `etcd ${(report.etcd as { version: string }).version}: 3 members on loopback, fsync on, JSON gateway; leader ${(report.etcd as { leader: string }).leader}`)
  for (const n of report.nets) {
    lines.push('')
    lines.push(`${n.label}: ${n.size} daemons, --profile ${n.profile}, N3/W2/R2, fsync on; one keep-alive client; 100 B values${n.error == null ? '' : ` — FAILED: ${n.error}`}`)
    if (n.error != null) continue
    lines.push(`${'scenario'.padEnd(36)}${'in flight'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'ops/s'.padStart(10)}${'CPU ms/op'.padStart(11)}${'– idle'.padStart(9)}${'writes/op'.padStart(10)}${'samples'.padStart(9)}${'errors'.padStart(8)}`)
    for (const [id, byFlight] of Object.entries(n.results)) {
      for (const [inFlight, b] of Object.entries(byFlight)) {
        lines.push(`${id.padEnd(36)}${inFlight.padStart(10)}${num(b.p50Ms, 10)}${num(b.p99Ms, 10)}${num(b.opsPerSec, 10)}${num(b.cpuMsPerOp, 11)}${num(b.cpuMsPerOpNetOfIdle, 9)}${(b.writeCallsPerOp == null ? '–' : b.writeCallsPerOp.toFixed(1)).padStart(10)}${String(b.samples).padStart(9)}${String(b.errors).padStart(8)}`)
      }
    }
    const idle = Object.entries(n.idle).map(([k, v]) => `${k} ${v.meanPct} % of a core per process (${v.totalPct} % all ${v.perProcessPct.length}; each: ${v.perProcessPct.join(', ')}) over ${v.seconds} s${v.writesPerProcessPerSec == null ? '' : `, ${v.writesPerProcessPerSec} write calls/s per process`}`)
    lines.push(`idle: ${idle.join('; ')}`)
    lines.push('ratios p2pstore / etcd (target):')
    const target: Record<string, string> = {
      putP50VsEtcdLeader: '≤ 1',
      putOpsPerSec32VsEtcdLeader: '≥ 1.5',
      getR2P50VsEtcdLinearizableLeader: '≤ 1',
      getR2OpsPerSec32VsEtcdLinearizableLeader: '≥ 1.5',
      cpuPerPut32VsEtcdLeader: '(CPU per put ≤ 1.5 ms)',
      cpuPerGetR2_32VsEtcdLinearizableLeader: '(CPU per get ≤ 0.8 ms)',
      idlePerProcessVsEtcd: n.profile === 'default' ? '(≤ 0.5 % of a core per daemon)' : '(≤ 2 % of a core per daemon)'
    }
    for (const [k, v] of Object.entries(n.ratios)) lines.push(`  ${k.padEnd(44)}${num(v, 9)}   ${target[k] ?? ''}`)
    if (n.profileDir != null) lines.push(`profiles: ${n.profileDir} (node --import tsx test/bench/profile.ts ${n.profileDir} --window put|get|idle)`)
  }
  for (const note of report.notes) lines.push(`note: ${note}`)
  return lines.join('\n') + '\n'
}

/** The whole daemon bench; never leaves a process or temp dir behind. */
export async function runDaemonBench (options: DaemonBenchOptions, command: string, progress: (line: string) => void): Promise<DaemonReport> {
  const started = performance.now()
  const budget = options.quick ? QUICK : FULL
  const m = machine({ command, mode: options.quick ? 'quick' : 'full', timings: options.nets.map(n => `${n.size}:${n.profile}`).join(',') })
  const notes = [
    'CPU ms/op: utime + stime of every server process of that system (all daemons; all 3 etcd members) over the runs, divided by the successful operations; it includes what the servers do in the background meanwhile. "– idle": the same minus the idle CPU rate of that system (idle window) × the runs\' wall time',
    'writes/op: write system calls (/proc/PID/io syscw: socket writes — one per libp2p frame or HTTP response — and log writes) of all the system\'s servers per successful operation',
    'p2pstore: every request goes to daemon 0 (at 10 daemons it is a home replica of about 3 keys in 10); puts write fresh keys, gets read preloaded ones'
  ]
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let etcd: Etcd | undefined
  let etcdInfo: DaemonReport['etcd'] = { skipped: '--no-etcd' }
  try {
    if (options.etcd) {
      if (existsSync(ETCD)) {
        etcd = await startEtcd(progress)
        etcdInfo = { version: etcd.version, members: 3, leader: etcd.leader.name }
      } else {
        progress(ETCD_MISSING)
        etcdInfo = { skipped: ETCD_MISSING }
      }
    }
    const nets: NetReport[] = []
    for (const spec of options.nets) nets.push(await measureNet(spec, options, budget, etcd, progress))
    m.wallSeconds = Math.round((performance.now() - started) / 1000)
    return { machine: m, etcd: etcdInfo, nets, notes }
  } finally {
    await cleanup()
    agent.destroy()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}

/** `npm run bench:daemons` and `npm run bench -- daemons`. */
export async function daemonsMain (argv: string[], command: string): Promise<number> {
  let options
  try {
    options = parseDaemonOptions(argv)
  } catch (err) {
    process.stderr.write(`bench daemons: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (options == null) return 0
  const started = performance.now()
  const progress = (line: string): void => { process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`) }
  let report: DaemonReport
  try {
    report = await runDaemonBench(options, command, progress)
  } catch (err) {
    progress(`bench daemons failed: ${(err as Error).stack ?? String(err)}`)
    return 1
  }
  if (options.json != null) {
    await fs.writeFile(options.json, JSON.stringify(report, null, 2) + '\n')
    progress(`wrote ${options.json}`)
  }
  await new Promise<void>(resolve => { process.stdout.write(renderDaemonReport(report), () => { resolve() }) })
  return report.nets.some(n => n.error != null) ? 1 : 0
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exit(await daemonsMain(process.argv.slice(2), `npm run bench:daemons -- ${process.argv.slice(2).join(' ')}`.trim()))
}
