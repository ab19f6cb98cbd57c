/**
 * The benchmark's report: the `--json` document (the shape issue 5 asks for) and the human table.
 *
 * @packageDocumentation
 */

import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { renderProcessScale } from './process-scale.ts'
import { round } from './stats.ts'
import type { DetectionReport } from './failure-detection.ts'
import type { NamespaceProbe } from './kad.ts'
import type { ProcessScaleReport } from './process-scale.ts'
import type { Results } from './scenario.ts'
import type { LatencyBlock, MeasuredBlock } from './stats.ts'

/** Blocks of one variant by concurrency: `inFlight1`, `inFlight32`. */
export type ByFlight = Record<string, MeasuredBlock>

/**
 * A headline latency block: the four figures of the headline case (1 in flight; for p2pstore the
 * non-replica 100 B case) at the top level, every measured variant under `variants`.
 */
export interface Headline extends LatencyBlock {
  /** which variant and concurrency the top-level figures are */
  headline: string
  variants: Record<string, ByFlight>
}

/** One scale point. */
export interface ScaleEntry {
  peers: number
  p2pstore?: {
    /** ms until every peer saw every other alive */
    settleMs?: number
    get?: ByFlight
    put?: ByFlight
    /** ms from a new peer's start until every other peer listed it alive */
    newPeerKnownByAll?: { medianMs: number, maxMs: number, trials: number, firstMedianMs: number, missed: number }
    rssPerPeerMb?: { idle: number, underLoad: number }
    /** the measurements of the main comparison are this point's (same net) */
    fromMainTable?: boolean
    error?: string
    skipped?: string
  }
  kadDht?: {
    settleMs?: number
    get?: ByFlight
    put?: ByFlight
    fromMainTable?: boolean
    error?: string
    skipped?: string
  }
  /** the point as daemon processes (`p2pstore testnet`): ready time, idle CPU, RSS, connections, membership bytes per daemon */
  processes?: ProcessScaleReport
  membershipTraffic: MembershipTrafficBlock
  /** false deaths and suspicions while this point's load ran (unset for the main table's point) */
  membershipUnderLoad?: MembershipUnderLoad
  ratios?: { kadGetP50VsGetP50?: number, kadPutP50VsPutP50?: number }
}

/** The issue's kad-dht/p2pstore p50 target at `peers` peers: ≥ 20× at 10, ≥ 100× from 50 on. */
export function kadRatioTarget (peers: number): number {
  return peers >= 50 ? 100 : 20
}

/** Membership (SWIM) messages and payload bytes per peer per second over a measured window. */
export type MembershipTrafficBlock =
  | { peers: number, seconds: number, messagesPerPeerPerSec: number, bytesPerPeerPerSec: number, during: string }
  | { skipped: string }

/** What the members of a net saw of each other while the load ran, when nobody failed. */
export interface MembershipUnderLoad {
  peers: number
  seconds: number
  /** transitions to `dead` seen by any peer: false deaths (nobody died) */
  falseDeaths: number
  /** transitions to `suspect` seen by any peer (refuted later, or they would be deaths) */
  suspicions: number
  during: string
}

/** `resources` of the report. */
export interface Resources {
  /** RSS of this process with every module loaded and no node yet */
  baselineRssMb: number
  /** the main net's peers, all in this process */
  p2pstore?: {
    peers: number
    idleRssMb: number
    idleRssPerPeerMb: number
    /** (idle RSS − baseline) / peers: what one more peer costs */
    idleMarginalPerPeerMb: number
    /** peak RSS while p2pstore scenarios ran; the process then also holds the kad-dht net */
    underLoadRssMb: number
    underLoadRssPerPeerMb: number
    /** what starting the kad-dht comparison net added, to subtract from the under-load figure */
    kadNetRssMb: number
  }
  /** the floor server: one node alone in its own process */
  floorServer?: { idleRssMb: number, underLoadRssMb: number }
  /** bytes added under every `<dataDir>/storage` per KiB of values stored, per replica */
  disk?: Record<string, { keys: number, valueBytes: number, replicas: number, bytesAdded: number, bytesPerStoredKiB: number }>
}

/** `ratios` of the report, with the issue's targets. */
export interface Ratios {
  getP50VsFloor: number
  putP50VsFloor: number
  kadGetP50VsGetP50: number
  kadPutP50VsPutP50: number
  /** (p2pstore get ops/s × replica messages per get) / floor ops/s, both 32 in flight */
  getThroughputPerReplicaMessageVsFloor: number
  putThroughputPerReplicaMessageVsFloor: number
  /** replica messages one operation costs from a non-replica client: N reads; 1 forward + (N − 1) stores */
  replicaMessagesPerOp: number
  targets: Record<string, string>
  met: Record<string, boolean>
}

/** `machine` of the report, with how the run was made. */
export interface Machine {
  cpus: number
  model: string
  totalMemoryBytes: number
  node: string
  os: string
  arch: string
  loadAvgAtStart: number[]
  commit?: string
  command: string
  mode: 'quick' | 'full'
  timings: string
  startedAt: string
  wallSeconds?: number
}

/** The whole `--json` document. */
export interface BenchReport {
  floor: Headline
  floorNewStream: Headline
  p2pstore: { get: Headline, put: Headline }
  kadDht: {
    get: Headline
    put: Headline
    /** where the kad-dht figures come from */
    how: string
    /** what a p2pstore peer's own DHT does with records of each namespace */
    namespaceProbe: NamespaceProbe[]
    net?: { peers: number, settleMs: number, meshDialFailures: number }
  }
  ratios: Ratios
  detection: DetectionReport | { skipped: string } | { error: string }
  /** false deaths and suspicions on the main net during its load phase (the issue's target: 0 deaths) */
  membershipUnderLoad?: MembershipUnderLoad
  scale: ScaleEntry[]
  resources: Resources
  machine: Machine
  notes: string[]
}

/** The blocks of scenario `id` by concurrency, keyed `inFlight<k>`. */
export function byFlight (results: Results, id: string): ByFlight | undefined {
  const blocks = results.get(id)
  if (blocks == null) return undefined
  return Object.fromEntries([...blocks].map(([inFlight, block]) => [`inFlight${inFlight}`, block]))
}

/**
 * The headline block of every scenario `<prefix>.<variant>`: the top-level figures are those of
 * `headlineVariant` at 1 in flight (NaN, written as null, if it was not measured).
 */
export function headline (results: Results, prefix: string, headlineVariant: string): Headline {
  const variants: Record<string, ByFlight> = {}
  for (const id of results.keys()) {
    if (!id.startsWith(`${prefix}.`)) continue
    const blocks = byFlight(results, id)
    if (blocks != null) variants[id.slice(prefix.length + 1)] = blocks
  }
  const top = variants[headlineVariant]?.inFlight1
  return {
    p50Ms: top?.p50Ms ?? Number.NaN,
    p99Ms: top?.p99Ms ?? Number.NaN,
    opsPerSec: top?.opsPerSec ?? Number.NaN,
    samples: top?.samples ?? 0,
    headline: `${headlineVariant}, 1 in flight`,
    variants
  }
}

/** The ratios that have a target, in report order. */
const RATIO_NAMES = ['getP50VsFloor', 'putP50VsFloor', 'kadGetP50VsGetP50', 'kadPutP50VsPutP50', 'getThroughputPerReplicaMessageVsFloor', 'putThroughputPerReplicaMessageVsFloor'] as const

/** Replica messages per operation from a non-replica client at N = 3 (see `Ratios`). */
const REPLICA_MESSAGES_PER_OP = 3

/** The ratios and whether each meets the issue's target. */
export function ratios (report: Pick<BenchReport, 'floor' | 'p2pstore' | 'kadDht'>): Ratios {
  const { floor, p2pstore, kadDht } = report
  const floorOps32 = floor.variants.tiny32B?.inFlight32?.opsPerSec ?? Number.NaN
  const getOps32 = p2pstore.get.variants.nonReplica100B?.inFlight32?.opsPerSec ?? Number.NaN
  const putOps32 = p2pstore.put.variants.nonReplica100B?.inFlight32?.opsPerSec ?? Number.NaN
  const r = {
    getP50VsFloor: round(p2pstore.get.p50Ms / floor.p50Ms, 2),
    putP50VsFloor: round(p2pstore.put.p50Ms / floor.p50Ms, 2),
    kadGetP50VsGetP50: round(kadDht.get.p50Ms / p2pstore.get.p50Ms, 2),
    kadPutP50VsPutP50: round(kadDht.put.p50Ms / p2pstore.put.p50Ms, 2),
    getThroughputPerReplicaMessageVsFloor: round((getOps32 * REPLICA_MESSAGES_PER_OP) / floorOps32, 3),
    putThroughputPerReplicaMessageVsFloor: round((putOps32 * REPLICA_MESSAGES_PER_OP) / floorOps32, 3)
  }
  return {
    ...r,
    replicaMessagesPerOp: REPLICA_MESSAGES_PER_OP,
    targets: {
      getP50VsFloor: '≤ 3',
      putP50VsFloor: '≤ 5',
      kadGetP50VsGetP50: '≥ 20 at 10 peers (≥ 100 at 50)',
      kadPutP50VsPutP50: '≥ 20 at 10 peers (≥ 100 at 50)',
      getThroughputPerReplicaMessageVsFloor: '≥ 0.5',
      putThroughputPerReplicaMessageVsFloor: '≥ 0.5'
    },
    met: {
      getP50VsFloor: r.getP50VsFloor <= 3,
      putP50VsFloor: r.putP50VsFloor <= 5,
      kadGetP50VsGetP50: r.kadGetP50VsGetP50 >= 20,
      kadPutP50VsPutP50: r.kadPutP50VsPutP50 >= 20,
      getThroughputPerReplicaMessageVsFloor: r.getThroughputPerReplicaMessageVsFloor >= 0.5,
      putThroughputPerReplicaMessageVsFloor: r.putThroughputPerReplicaMessageVsFloor >= 0.5
    }
  }
}

/** The machine and the run, as far as known when the run starts. */
export function machine (init: Pick<Machine, 'command' | 'mode' | 'timings'>): Machine {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    loadAvgAtStart: os.loadavg().map(x => round(x, 2)),
    commit: gitCommit(),
    ...init,
    startedAt: new Date().toISOString()
  }
}

/** The checked-out commit (read-only `git rev-parse`), or undefined outside a git clone. */
function gitCommit (): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

/** The human table of a report. */
export function renderTable (report: BenchReport): string {
  const m = report.machine
  const lines: string[] = [
    `p2pstore bench (${m.mode}, ${m.timings} timings) — ${m.startedAt}, ${m.wallSeconds ?? '?'} s`,
    `${m.cpus} × ${m.model}, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, ${m.os}${m.commit == null ? '' : `, commit ${m.commit}`}`,
    '',
    row(['scenario', 'in flight', 'p50 ms', 'p99 ms', 'ops/s', 'samples', 'errors']),
    ...latencyRows('floor', report.floor),
    ...latencyRows('floorNewStream', report.floorNewStream),
    ...latencyRows('p2pstore.get', report.p2pstore.get),
    ...latencyRows('p2pstore.put', report.p2pstore.put),
    ...latencyRows('kadDht.get', report.kadDht.get),
    ...latencyRows('kadDht.put', report.kadDht.put),
    '',
    'ratios (target):',
    ...RATIO_NAMES.map(name => {
      const target = report.ratios.targets[name] ?? ''
      return `  ${name.padEnd(42)} ${fmt(report.ratios[name]).padStart(9)}   ${target.padEnd(32)} ${report.ratios.met[name] === true ? 'met' : 'MISSED'}`
    }),
    '',
    'scale (×1 = 1 in flight, ×32 = 32 in flight; p2pstore: non-replica client, 100 B):',
    row(['peers', 'settle s', 'get p50/p99 ×1', 'put p50/p99 ×1', 'get ops/s ×32', 'put ops/s ×32', 'kad get p50', 'kad put p50', 'new peer known', 'RSS/peer MiB', 'gossip/peer/s'], 16, 6),
    ...report.scale.map(scaleRow),
    ...report.scale.flatMap(e => [
      ...(e.p2pstore?.error == null ? [] : [`  ${e.peers} peers, p2pstore: ${e.p2pstore.error}`]),
      ...(e.p2pstore?.skipped == null ? [] : [`  ${e.peers} peers, p2pstore: ${e.p2pstore.skipped}`]),
      ...(e.kadDht?.error == null ? [] : [`  ${e.peers} peers, kad-dht: ${e.kadDht.error}`]),
      ...(e.processes == null ? [] : [`  ${e.peers} peers, ${renderProcessScale(e.processes)}`]),
      ...scaleRatioLines(e),
      ...(e.membershipUnderLoad == null ? [] : [`  ${e.peers} peers, membership under load: ${e.membershipUnderLoad.falseDeaths} false deaths, ${e.membershipUnderLoad.suspicions} suspicions over ${e.membershipUnderLoad.seconds} s`]),
      `  ${e.peers} peers, membership traffic: ${'skipped' in e.membershipTraffic ? `skipped (${e.membershipTraffic.skipped})` : `${fmt(e.membershipTraffic.messagesPerPeerPerSec)} messages and ${fmt(e.membershipTraffic.bytesPerPeerPerSec)} payload bytes per peer per second over ${e.membershipTraffic.seconds} s (${e.membershipTraffic.during})`}`
    ]),
    '',
    `resources: ${resourcesLine(report.resources)}`,
    ...detectionLines(report),
    `kad-dht: ${report.kadDht.how}`,
    `kad-dht namespaces on a p2pstore peer's own DHT: ${report.kadDht.namespaceProbe.map(p => `/${p.namespace}/ ${p.readBack ? 'stored and read back' : 'refused'} (${p.remoteCopies} remote copies, ${p.queryErrors} query errors${p.firstError == null ? '' : `: ${p.firstError}`})`).join('; ')}`,
    ...report.notes.map(note => `note: ${note}`)
  ]
  return lines.join('\n') + '\n'
}

function detectionLines (report: BenchReport): string[] {
  const lines: string[] = []
  const u = report.membershipUnderLoad
  if (u != null) lines.push(`membership under load: ${u.falseDeaths} false deaths, ${u.suspicions} suspicions among ${u.peers} peers over ${u.seconds} s (${u.during}; target 0 deaths: ${u.falseDeaths === 0 ? 'met' : 'MISSED'})`)
  const d = report.detection
  if ('skipped' in d) return [...lines, `detection: skipped (${d.skipped})`]
  if ('error' in d) return [...lines, `detection: failed (${d.error})`]
  const cell = (x: number): string => Number.isNaN(x) ? '–' : `${Math.round(x)} ms`
  const stat = (name: string, st: DetectionReport['kill']['deadAtAllMs']): string =>
    `${name.padEnd(42)}${String(st.samples.length + st.missed).padStart(7)}${cell(st.median).padStart(10)}${cell(st.max).padStart(10)}${String(st.missed).padStart(8)}`
  const killMet = d.kill.deadAtAllMs.missed === 0 && d.kill.deadAtAllMs.median <= 3000
  return [
    ...lines,
    `failure detection (${d.how}; suspicion ${d.suspicionMs.min}–${d.suspicionMs.max} ms at ${d.peers} members):`,
    `${'  measure'.padEnd(42)}${'trials'.padStart(7)}${'median'.padStart(10)}${'max'.padStart(10)}${'missed'.padStart(8)}`,
    stat('  SIGKILL → dead at the first peer', d.kill.deadAtFirstMs),
    stat('  SIGKILL → dead at every peer', d.kill.deadAtAllMs),
    stat('  SIGSTOP → suspect at the first peer', d.stop.suspectAtFirstMs),
    stat('  SIGSTOP → dead at every peer', d.stop.deadAtAllMs),
    stat('  SIGCONT → alive again at every peer', d.stop.aliveAgainAtAllMs),
    `  killed peer dead at every peer ≤ 3 s median at n = ${d.peers}: ${killMet ? 'met' : 'MISSED'}`
  ]
}

function latencyRows (name: string, block: Headline): string[] {
  return Object.entries(block.variants).flatMap(([variant, flights]) => Object.values(flights).map(b => row([
    `${name}.${variant}`, String(b.inFlight), fmt(b.p50Ms), fmt(b.p99Ms), fmt(b.opsPerSec), String(b.samples),
    b.errors === 0 ? '0' : `${b.errors} ${Object.entries(b.errorNames ?? {}).map(([n, c]) => `${n}:${c}`).join(',')}`
  ])))
}

function scaleRatioLines (e: ScaleEntry): string[] {
  const { kadGetP50VsGetP50: get, kadPutP50VsPutP50: put } = e.ratios ?? {}
  if (get == null && put == null) return []
  const target = kadRatioTarget(e.peers)
  const cell = (x?: number): string => x == null ? '–' : `${fmt(x)}× (${x >= target ? 'met' : 'MISSED'})`
  return [`  ${e.peers} peers, kad-dht p50 / p2pstore p50 (target ≥ ${target}×): get ${cell(get)}, put ${cell(put)}`]
}

function scaleRow (e: ScaleEntry): string {
  const s = e.p2pstore
  const k = e.kadDht
  const pair = (b?: MeasuredBlock): string => b == null ? '–' : `${fmt(b.p50Ms)} / ${fmt(b.p99Ms)}`
  const join = s?.newPeerKnownByAll
  const cells = [
    String(e.peers),
    s?.settleMs == null ? '–' : (s.settleMs / 1000).toFixed(1),
    s?.error != null ? 'failed' : s?.skipped != null ? 'skipped' : pair(s?.get?.inFlight1),
    pair(s?.put?.inFlight1),
    fmt(s?.get?.inFlight32?.opsPerSec ?? Number.NaN),
    fmt(s?.put?.inFlight32?.opsPerSec ?? Number.NaN),
    k?.error != null ? 'failed' : fmt(k?.get?.inFlight1?.p50Ms ?? Number.NaN),
    fmt(k?.put?.inFlight1?.p50Ms ?? Number.NaN),
    join == null ? '–' : `${fmt(join.medianMs)} / ${fmt(join.maxMs)} ms${join.missed > 0 ? ` (${join.missed} missed)` : ''}`,
    s?.rssPerPeerMb == null ? '–' : `${s.rssPerPeerMb.idle} / ${s.rssPerPeerMb.underLoad}`,
    'skipped' in e.membershipTraffic ? '–' : `${fmt(e.membershipTraffic.messagesPerPeerPerSec)} msg`
  ]
  return row(cells, 16, 6)
}

function resourcesLine (r: Resources): string {
  const parts = [`baseline RSS ${r.baselineRssMb} MiB`]
  if (r.p2pstore != null) {
    const p = r.p2pstore
    parts.push(`${p.peers} peers in process: idle ${p.idleRssMb} MiB (${p.idleRssPerPeerMb}/peer, +${p.idleMarginalPerPeerMb}/peer over baseline), under load ${p.underLoadRssMb} MiB (${p.underLoadRssPerPeerMb}/peer; incl. kad net +${p.kadNetRssMb} MiB)`)
  }
  if (r.floorServer != null) parts.push(`floor server (1 node/process) idle ${r.floorServer.idleRssMb} MiB, under load ${r.floorServer.underLoadRssMb} MiB`)
  for (const [size, d] of Object.entries(r.disk ?? {})) parts.push(`disk ${size}: ${fmt(d.bytesPerStoredKiB)} bytes per stored KiB per replica (${d.keys} keys × ${d.replicas} replicas)`)
  return parts.join('; ')
}

function row (cells: string[], width = 10, firstWidth = 44): string {
  const [first, ...rest] = cells
  return `${(first ?? '').padEnd(firstWidth)}${rest.map(c => c.padStart(width)).join(' ')}`
}

/** A figure for the table: 3 significant decimals below 10, fewer above; '–' for NaN. */
function fmt (x: number): string {
  if (!Number.isFinite(x)) return '–'
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  if (Math.abs(x) >= 10) return x.toFixed(1)
  return x.toFixed(3)
}
