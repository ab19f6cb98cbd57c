/**
 * A scale point of daemon processes (issue #16): `p2pstore testnet --peers N` as the launcher runs
 * it (`ProcessTestnet`), then, once every daemon knows every other, an idle window: CPU per daemon
 * from `/proc/PID/stat`, RSS from `/proc/PID/status`, connections from `/v1/status`, membership
 * payload bytes from `/metrics`, write system calls from `/proc/PID/io`, and the load average.
 *
 *   node --import tsx test/bench/process-scale.ts [--peers 100] [--profile testnet|default]
 *     [--settle S] [--idle S] [--cpu-prof DIR] [--json FILE]
 *
 * Needs `npm run build` (the daemons run from dist/). With `--cpu-prof DIR` every daemon runs
 * under `node --cpu-prof` and writes a `.cpuprofile` into DIR when it stops, with the idle
 * window's monotonic-clock bounds in `DIR/windows.json` (`profile.ts DIR --window idle`).
 *
 * @packageDocumentation
 */

// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import { readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { HttpClient } from '../../src/client/index.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { cpuSeconds, writeCallsOf } from './proc-stat.ts'
import { round } from './stats.ts'
import type { ProfileName } from '../../src/constants.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

/** Options of one process scale point. */
export interface ProcessScaleInit {
  peers: number
  /** @default 'testnet' */
  profile?: ProfileName
  /** seconds after the net is ready before the idle window opens. @default 10 */
  settleSeconds?: number
  /** length of the idle window, seconds (at least 30). @default 30 */
  idleSeconds?: number
  /** run every daemon under `node --cpu-prof` into this directory. @default undefined */
  cpuProf?: string
  /** deadline for the whole start-up, ms. @default 180_000 */
  readyTimeout?: number
  /** progress lines */
  progress?(line: string): void
}

/** Median and max of one figure over the daemons. */
export interface Spread {
  median: number
  max: number
  min: number
}

/** What one process scale point measured. */
export interface ProcessScaleReport {
  peers: number
  profile: ProfileName
  /** launcher start → every daemon spawned and ready, ms */
  spawnedMs?: number
  /** launcher start → every daemon sees every other alive, ms */
  readyMs?: number
  /** what forming the net cost, read when it was ready: CPU seconds per daemon, and counter totals per daemon */
  forming?: { cpuSeconds: Spread & { mean: number }, counters: Record<string, Spread & { mean: number }> }
  idle?: {
    seconds: number
    /** % of one core per daemon */
    cpuPct: Spread & { mean: number }
    rssMiB: Spread
    connections: Spread
    /** membership payload bytes sent + received per daemon per second */
    membershipBytesPerSecond: Spread
    writeCallsPerSecond: Spread
    /** per daemon per second, of every counter of `/metrics` that moved (summed over its labels but the protocol, type and from/to ones) */
    counterRates: Record<string, Spread & { mean: number }>
    /** per daemon, by index: % of a core and write calls per second */
    perDaemon: Array<{ cpuPct: number, writeCallsPerSecond: number }>
    /** 1-minute load average at the start and end of the window */
    loadAverage: [number, number]
  }
  error?: string
}

/** Runs one process scale point; never throws (a failure is `error`), always stops the daemons. */
export async function processScalePoint (init: ProcessScaleInit): Promise<ProcessScaleReport> {
  const profile = init.profile ?? 'testnet'
  const report: ProcessScaleReport = { peers: init.peers, profile }
  const progress = init.progress ?? (() => {})
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `p2pstore-scale-${init.peers}-`))
  if (init.cpuProf != null) await fs.mkdir(init.cpuProf, { recursive: true })
  const began = Date.now()
  let lastLine = ''
  const net = new ProcessTestnet({
    peers: init.peers,
    dir,
    open: true,
    profile,
    nodeArgs: init.cpuProf == null ? [] : ['--cpu-prof', '--cpu-prof-dir', init.cpuProf],
    joinTimeout: init.readyTimeout ?? 180_000,
    startTimeout: 120_000,
    onProgress: p => {
      const line = p.phase === 'starting'
        ? `starting ${p.started}/${p.total}`
        : p.phase === 'joining' ? `joining: ${p.settled}/${p.total} know every other` : `ready in ${(p.elapsedMs / 1000).toFixed(1)} s`
      if (p.phase === 'starting' && p.started === p.total) report.spawnedMs = Date.now() - began
      // a line per 10 % of the net, and every change of phase
      const bucket = p.phase === 'ready' ? 'ready' : `${p.phase}:${Math.floor(10 * (p.phase === 'starting' ? p.started : p.settled) / p.total)}`
      if (bucket !== lastLine) progress(`${init.peers} daemons: ${line} (${((Date.now() - began) / 1000).toFixed(1)} s, load ${os.loadavg()[0]?.toFixed(1) ?? '?'})`)
      lastLine = bucket
    }
  })
  try {
    const peers = await net.start({ signal: AbortSignal.timeout((init.readyTimeout ?? 180_000) + 60_000) })
    report.readyMs = Date.now() - began
    report.forming = await formingCost(peers)
    await sleep(1000 * (init.settleSeconds ?? 10))
    report.idle = await idleWindow(peers, Math.max(30, init.idleSeconds ?? 30), init.cpuProf)
  } catch (err) {
    report.error = (err as Error).message
  } finally {
    await net.stop().catch(() => {})
    await fs.rm(dir, { recursive: true, force: true })
  }
  return report
}

/** CPU seconds and counters per daemon so far. */
async function formingCost (peers: ProcessTestnetPeer[]): Promise<NonNullable<ProcessScaleReport['forming']>> {
  const cpu = peers.map(p => cpuSeconds(p.pid) ?? 0)
  const all = await Promise.all(peers.map(async p => counters(p)))
  const names = [...new Set(all.flatMap(c => [...c.keys()]))].sort()
  const totals: Record<string, Spread & { mean: number }> = {}
  for (const name of names) {
    const xs = all.map(c => c.get(name) ?? 0)
    if (xs.some(x => x > 0)) totals[name] = { ...spread(xs, 1), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 1) }
  }
  return { cpuSeconds: { ...spread(cpu, 2), mean: round(cpu.reduce((a, b) => a + b, 0) / cpu.length, 2) }, counters: totals }
}

/** The idle figures of `peers` over `seconds`. */
async function idleWindow (peers: ProcessTestnetPeer[], seconds: number, cpuProf?: string): Promise<NonNullable<ProcessScaleReport['idle']>> {
  const pids = peers.map(p => p.pid)
  const load0 = os.loadavg()[0] ?? 0
  const counters0 = await Promise.all(peers.map(async p => counters(p)))
  const cpu0 = pids.map(p => cpuSeconds(p) ?? 0)
  const writes0 = pids.map(p => writeCallsOf([p]))
  const t0 = performance.now()
  const mono0 = Number(process.hrtime.bigint() / 1000n)
  await sleep(seconds * 1000)
  const wall = (performance.now() - t0) / 1000
  const mono1 = Number(process.hrtime.bigint() / 1000n)
  const cpu = pids.map((p, i) => 100 * ((cpuSeconds(p) ?? 0) - (cpu0[i] ?? 0)) / wall)
  const writes = pids.map((p, i) => (writeCallsOf([p]) - (writes0[i] ?? 0)) / wall)
  const counters1 = await Promise.all(peers.map(async p => counters(p)))
  const rate = (i: number, name: string): number => ((counters1[i]?.get(name) ?? 0) - (counters0[i]?.get(name) ?? 0)) / wall
  const names = [...new Set(counters1.flatMap(c => [...c.keys()]))].sort()
  const rates: Record<string, Spread & { mean: number }> = {}
  for (const name of names) {
    const xs = peers.map((_, i) => rate(i, name))
    if (xs.some(x => x > 0)) rates[name] = { ...spread(xs, 2), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 2) }
  }
  const load1 = os.loadavg()[0] ?? 0
  const connections = await Promise.all(peers.map(async p => (await new HttpClient({ url: p.api }, 10_000).status()).connections))
  if (cpuProf != null) await fs.writeFile(path.join(cpuProf, 'windows.json'), JSON.stringify({ idle: [{ from: mono0, to: mono1 }] }))
  return {
    seconds: round(wall, 1),
    cpuPct: { ...spread(cpu, 2), mean: round(cpu.reduce((a, b) => a + b, 0) / cpu.length, 2) },
    rssMiB: spread(pids.map(rssMiB), 1),
    connections: spread(connections, 0),
    membershipBytesPerSecond: spread(peers.map((_, i) => rate(i, 'p2pstore_gossip_bytes_total')), 0),
    counterRates: rates,
    writeCallsPerSecond: spread(writes, 1),
    perDaemon: cpu.map((c, i) => ({ cpuPct: round(c, 2), writeCallsPerSecond: round(writes[i] ?? 0, 1) })),
    loadAverage: [round(load0, 1), round(load1, 1)]
  }
}

/**
 * The counters of a daemon's `/metrics` (`_total` series), summed over their labels except
 * `protocol`, `type`, `from` and `to`, which name the series: `name{protocol=…}`.
 */
async function counters (peer: ProcessTestnetPeer): Promise<Map<string, number>> {
  const text = await new HttpClient({ url: peer.api }, 10_000).metrics()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(\w+_total)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (m == null) continue
    const kept = (m[2] ?? '').split(',').filter(l => /^(protocol|type|from|to)=/.test(l))
    const name = kept.length === 0 ? m[1] ?? '' : `${m[1] ?? ''}{${kept.join(',')}}`
    out.set(name, (out.get(name) ?? 0) + Number(m[3]))
  }
  return out
}

/** Resident set size of `pid`, MiB (0 once it is gone). */
function rssMiB (pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb == null ? 0 : Number(kb) / 1024
  } catch {
    return 0
  }
}

/** Median, min and max of `xs`, rounded. */
function spread (xs: number[], decimals: number): Spread {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length / 2
  const median = sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[Math.floor(mid)] ?? 0 : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
  return { median: round(median, decimals), min: round(sorted[0] ?? 0, decimals), max: round(sorted.at(-1) ?? 0, decimals) }
}

/** One line of the report. */
export function renderProcessScale (r: ProcessScaleReport): string {
  if (r.error != null) return `${r.peers} daemon processes (--profile ${r.profile}): FAILED: ${r.error}`
  const i = r.idle
  const ready = `ready in ${((r.readyMs ?? 0) / 1000).toFixed(1)} s (all spawned at ${((r.spawnedMs ?? 0) / 1000).toFixed(1)} s)`
  if (i == null) return `${r.peers} daemon processes (--profile ${r.profile}): ${ready}`
  const s = (x: Spread, unit = ''): string => `median ${x.median}${unit}, max ${x.max}${unit}`
  return `${r.peers} daemon processes (--profile ${r.profile}): ${ready}; idle over ${i.seconds} s (load ${i.loadAverage[0]}→${i.loadAverage[1]}): CPU ${s(i.cpuPct, ' %')} of a core (mean ${i.cpuPct.mean} %), RSS ${s(i.rssMiB, ' MiB')}, connections ${s(i.connections)}, membership ${s(i.membershipBytesPerSecond, ' B/s')}, write calls ${s(i.writeCallsPerSecond, '/s')}`
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: '100' },
      profile: { type: 'string', default: 'testnet' },
      settle: { type: 'string', default: '10' },
      idle: { type: 'string', default: '30' },
      'cpu-prof': { type: 'string' },
      json: { type: 'string' }
    }
  })
  const profile = values.profile
  if (profile !== 'testnet' && profile !== 'default') throw new RangeError(`--profile: testnet or default, got '${profile}'`)
  const report = await processScalePoint({
    peers: Number(values.peers),
    profile,
    settleSeconds: Number(values.settle),
    idleSeconds: Number(values.idle),
    cpuProf: values['cpu-prof'] == null ? undefined : path.resolve(values['cpu-prof']),
    progress: line => { process.stderr.write(`${line}\n`) }
  })
  process.stdout.write(`${renderProcessScale(report)}\n`)
  if (values.json != null) await fs.writeFile(values.json, JSON.stringify(report, null, 2))
  if (report.error != null) process.exitCode = 1
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await main()
}
