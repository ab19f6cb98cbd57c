/**
 * The consistency checker behind `p2pstore check`: starts a process test net, runs a workload of
 * unique writes through random peers while a scenario injects faults, heals everything, reads
 * every key with R = N until the answers are stable, and checks the history against them — no
 * acknowledged write may be lost, nothing unwritten may appear, and siblings must be concurrent.
 *
 * @packageDocumentation
 */

import { randomInt } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidParametersError } from '@libp2p/interface'
import { HttpClient } from '../client/index.ts'
import { DEFAULT_N, second } from '../constants.ts'
import { ProcessTestnet } from '../testnet/index.ts'
import { checkHistory, passed } from './checker.ts'
import { History } from './history.ts'
import { Random } from './random.ts'
import { SCENARIO_TABLE, SCENARIOS } from './scenarios.ts'
import { Workload } from './workload.ts'
import type { CheckCounts, FinalRead } from './checker.ts'
import type { ScenarioName, NemesisContext } from './scenarios.ts'
import type { WorkloadPeer } from './workload.ts'
import type { ApiTarget } from '../client/index.ts'

export { checkHistory, decodeValue, encodeValue, passed } from './checker.ts'
export { History } from './history.ts'
export { Random } from './random.ts'
export { SCENARIOS, SCENARIO_TABLE } from './scenarios.ts'
export type { CheckCounts, FinalRead, KeyElement, WorkloadValue } from './checker.ts'
export type { HistoryEntry, OpKind, Outcome } from './history.ts'
export type { Scenario, ScenarioName, NemesisContext } from './scenarios.ts'

/** Options of `runCheck()`; unset ones take the scenario's defaults. */
export interface CheckInit {
  scenario: ScenarioName
  /** test-net size */
  peers?: number
  /** seconds of workload (faults happen within them) */
  duration?: number
  /** seed of every random choice (victims, keys, peers); a run replays from it. @default random */
  seed?: number
  /** concurrent clients */
  clients?: number
  /** operations per second per client, at most. @default 20 */
  rate?: number
  /**
   * Clients resolve siblings by last-write-wins (`resolve=lww`) instead of merging them: the
   * checker then shows the writes LWW loses. @default false
   */
  lww?: boolean
  /**
   * Run the test net in network namespaces (root only): partitions become iptables DROP rules in
   * the kernel instead of libp2p connection-gater refusals. @default false
   */
  netns?: boolean
  /** every daemon's connection budget (`--max-connections`). @default the daemon's own (DEFAULT_MAX_CONNECTIONS) */
  maxConnections?: number
  /** JSON-lines history file. @default a file in the OS temp dir, named in the report */
  history?: string
  /** how long the healed net may take to converge before the final reads count. @default 120 s */
  settleTimeout?: number
  /** progress lines */
  onProgress?(line: string): void
  signal?: AbortSignal
}

/** What `runCheck()` reports (and `p2pstore check --json` prints). */
export interface CheckReport extends CheckCounts {
  scenario: ScenarioName
  seed: number
  peers: number
  durationS: number
  clients: number
  /** clients resolved siblings by last-write-wins */
  lww: boolean
  /** the test net ran in network namespaces (kernel-level partitions) */
  netns: boolean
  /** true when nothing was lost or unexpected, every sibling was concurrent and every key readable */
  passed: boolean
  /** the faults injected, with their time in ms since the workload began */
  faults: Array<{ atMs: number, fault: string }>
  /** acknowledged writes per second during the workload */
  ackedPerSec: number
  /** p50 / p99 latency of acknowledged writes (ms) */
  writeLatency: { p50Ms: number, p99Ms: number }
  /** from the end of the faults until the final reads were complete and stable (ms) */
  convergenceMs: number
  /** R = N read passes over every key until two agreed */
  readPasses: number
  /** latency of the final R = N reads (ms) */
  stableRead: { p50Ms: number, p99Ms: number }
  /** the history file */
  history: string
}

/** Pause between final read passes: a bit more than a test net's anti-entropy interval. */
const READ_PASS_GAP = 1 * second

/** Reads in flight during a final read pass. */
const READ_CONCURRENCY = 8

/**
 * Runs one scenario end to end on a fresh process test net and returns the verdict. The net is
 * stopped and its directory removed whatever happens; the history file stays.
 */
export async function runCheck (init: CheckInit): Promise<CheckReport> {
  if (!(SCENARIOS as readonly string[]).includes(init.scenario)) {
    throw new InvalidParametersError(`unknown scenario "${init.scenario}" (known: ${SCENARIOS.join(', ')})`)
  }
  const scenario = SCENARIO_TABLE[init.scenario]
  const peers = init.peers ?? scenario.defaults.peers
  const durationS = init.duration ?? scenario.defaults.duration
  const clients = init.clients ?? scenario.defaults.clients
  const seed = init.seed ?? randomInt(2 ** 31)
  if (!Number.isInteger(peers) || peers < 3) throw new InvalidParametersError(`--peers must be at least 3 (N = ${DEFAULT_N}), got ${peers}`)
  if (!(durationS > 0)) throw new InvalidParametersError(`--duration must be a positive number of seconds, got ${durationS}`)
  if (!Number.isInteger(clients) || clients < 1) throw new InvalidParametersError(`--clients must be a positive whole number, got ${clients}`)
  const progress = init.onProgress ?? (() => {})
  const historyFile = init.history ?? path.join(os.tmpdir(), `p2pstore-check-${scenario.name}-${seed}-${Date.now()}.jsonl`)
  const history = new History(historyFile)
  const random = new Random(seed)
  const net = new ProcessTestnet({
    peers,
    netns: init.netns,
    maxConnections: init.maxConnections,
    onProgress: p => {
      if (p.phase === 'ready') progress(`test net of ${peers} peers ready in ${(p.elapsedMs / 1000).toFixed(1)} s`)
    }
  })
  const abort = new AbortController()
  const onAbort = (): void => { abort.abort(init.signal?.reason) }
  init.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    progress(`check ${scenario.name} (seed ${seed}): ${scenario.summary}${init.lww === true ? '; clients resolve siblings by last-write-wins' : ''}`)
    progress(`starting ${peers} daemons…`)
    await net.start({ signal: abort.signal })
    const all = net.peers.map(p => p.index)
    const tokens = new Map(await Promise.all(all.map(async i => [i, await net.apiToken(i)] as const)))

    // routing: every client request goes to a random peer, or to a preferred one (wipe)
    let preferred: { peer: number, share: number } | undefined
    const routing = random.fork(999)
    const workloadPeers = (): WorkloadPeer[] => {
      const list = net.peers.map(p => ({ index: p.index, api: p.api, token: tokens.get(p.index) }))
      if (preferred != null && routing.next() < preferred.share) return list.filter(p => p.index === preferred?.peer)
      return list
    }
    const workload = new Workload({
      peers: workloadPeers,
      clients,
      keys: blindKeys(scenario.defaults.keys, durationS, scenario.defaults.rmwShare),
      hotKeys: scenario.defaults.hotKeys,
      rmwShare: scenario.defaults.rmwShare,
      rate: init.rate ?? 20,
      requestTimeout: 5 * second,
      lww: init.lww,
      random: random.fork(0),
      history
    })

    const duration = durationS * 1000
    const began = performance.now()
    const faults: CheckReport['faults'] = []
    const ctx: NemesisContext = {
      net,
      random: random.fork(1000),
      peers: all,
      duration,
      signal: abort.signal,
      fault: async (label, action) => {
        const atMs = Math.round(performance.now() - began)
        faults.push({ atMs, fault: label })
        history.add({ type: 'fault', fault: label })
        progress(`  ${(atMs / 1000).toFixed(1).padStart(5)} s  ${label}  (${summary(history)})`)
        return action()
      },
      at: async fraction => {
        const wait = began + fraction * duration - performance.now()
        if (wait > 0) await sleep(wait, undefined, { signal: abort.signal }).catch(() => {})
      },
      prefer: (peer, share) => { preferred = share > 0 ? { peer, share } : undefined }
    }

    progress(`workload: ${clients} clients for ${durationS} s through random peers (history: ${historyFile})`)
    const stopWorkload = new AbortController()
    const ticker = setInterval(() => {
      progress(`  ${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s  ${summary(history)}`)
    }, 10 * second)
    const load = workload.run(AbortSignal.any([stopWorkload.signal, abort.signal]))
    try {
      await Promise.all([
        scenario.nemesis(ctx),
        ctx.at(1).then(() => { stopWorkload.abort() })
      ])
      stopWorkload.abort()
      await load
    } finally {
      clearInterval(ticker)
      stopWorkload.abort()
    }
    abort.signal.throwIfAborted()
    const workloadMs = performance.now() - began
    progress(`workload ended after ${(workloadMs / 1000).toFixed(1)} s: ${summary(history)}`)

    // end every fault: heal, resume, restart; then wait for one membership view again
    const healedAt = performance.now()
    await net.heal()
    for (const index of all) {
      const state = net.state(index)
      if (state === 'paused') net.resume(index)
      if (state === 'stopped') {
        progress(`restarting peer-${index}`)
        await net.restart(index)
      }
    }
    progress('faults ended: waiting until every peer sees every other alive…')
    await net.waitForMesh({ timeout: init.settleTimeout ?? 120 * second })

    // read every key with R = N until two passes agree (read repair and anti-entropy converge it)
    const keys = workload.keyNames
    const hot = new Set(workload.hotKeyNames())
    const settleDeadline = healedAt + (init.settleTimeout ?? 120 * second)
    let reads = new Map<string, FinalRead>()
    let counts: CheckCounts | undefined
    let previous: string | undefined
    let stableSince = 0
    let passes = 0
    for (;;) {
      abort.signal.throwIfAborted()
      reads = await readAll(net.peers.map(p => ({ url: p.api, token: tokens.get(p.index) })), keys, random.fork(2000 + passes), abort.signal)
      passes++
      const signature = signatureOf(reads)
      counts = checkHistory(history.entries, reads, hot)
      const stable = signature === previous
      if (!stable) stableSince = performance.now() - healedAt
      progress(`  read pass ${passes}: ${keys.length} keys, ${[...reads.values()].filter(r => !r.ok).length} unreadable, ${counts.lost} lost so far${stable ? ' — stable' : ''}`)
      if (stable && counts.unreadableKeys === 0) break
      if (performance.now() > settleDeadline) {
        progress(`  the net did not converge within ${(init.settleTimeout ?? 120 * second) / 1000} s; judging the last pass`)
        break
      }
      previous = signature
      await sleep(READ_PASS_GAP, undefined, { signal: abort.signal })
    }

    // the last pass's verdict is the run's: the history no longer grows once the workload ended
    counts ??= checkHistory(history.entries, reads, hot)
    const okLatencies = history.entries.flatMap(e => e.type === 'ok' ? [e.latencyMs] : [])
    const readLatencies = [...reads.values()].map(r => r.latencyMs)
    return {
      scenario: scenario.name,
      seed,
      peers,
      durationS,
      clients,
      lww: init.lww === true,
      netns: init.netns === true,
      ...counts,
      passed: passed(counts),
      faults,
      ackedPerSec: Math.round(counts.acked / (workloadMs / 1000) * 10) / 10,
      writeLatency: { p50Ms: quantile(okLatencies, 0.5), p99Ms: quantile(okLatencies, 0.99) },
      convergenceMs: Math.round(stableSince),
      readPasses: passes,
      stableRead: { p50Ms: quantile(readLatencies, 0.5), p99Ms: quantile(readLatencies, 0.99) },
      history: historyFile
    }
  } finally {
    init.signal?.removeEventListener('abort', onAbort)
    await net.stop()
    await history.close()
  }
}

/**
 * Enough blind-write keys that none nears the 100-sibling limit: blind writes never supersede each
 * other, so each adds a sibling. Sized for ~100 writes/s, about 30 per key.
 */
function blindKeys (base: number, durationS: number, rmwShare: number): number {
  if (base === 0) return 0
  return Math.max(base, Math.ceil(durationS * 100 * (1 - rmwShare) / 30))
}

/** Reads every key with R = N through random peers; a key whose read fails is marked unreadable. */
async function readAll (apis: ApiTarget[], keys: string[], random: Random, signal: AbortSignal): Promise<Map<string, FinalRead>> {
  const out = new Map<string, FinalRead>()
  const queue = [...keys]
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, async () => {
    for (let key = queue.shift(); key != null; key = queue.shift()) {
      signal.throwIfAborted()
      const client = new HttpClient(random.pick(apis), 10 * second)
      const began = performance.now()
      try {
        const result = await client.get(key, { r: DEFAULT_N })
        const siblings = result.siblings.map(s => s.encoding === 'utf8' ? s.value : Buffer.from(s.value, 'base64').toString('utf8'))
        out.set(key, { ok: true, siblings, latencyMs: performance.now() - began })
      } catch (err) {
        const notFound = (err as Error).name === 'NotFoundError'
        out.set(key, { ok: notFound, siblings: [], latencyMs: performance.now() - began })
      }
    }
  }))
  return out
}

function signatureOf (reads: Map<string, FinalRead>): string {
  return JSON.stringify([...reads].sort(([a], [b]) => a.localeCompare(b)).map(([key, r]) => [key, r.ok, [...r.siblings].sort()]))
}

function summary (history: History): string {
  let ok = 0
  let fail = 0
  let unknown = 0
  for (const e of history.entries) {
    if (e.type === 'ok') ok++
    else if (e.type === 'fail') fail++
    else if (e.type === 'unknown') unknown++
  }
  return `${ok} ok, ${unknown} unknown, ${fail} failed`
}

function quantile (values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10
}
