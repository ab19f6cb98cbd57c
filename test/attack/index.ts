/**
 * `npm run attack`: attacks on a test net of `p2pstore daemon` processes, each measured against
 * issue #19's targets while an honest client keeps putting and getting through the attacked
 * daemon's HTTP API.
 *
 * It starts 3 daemons (`--open`, test-net timing) without the test nets' usual `--allow` for
 * loopback (`allowOwnRange: false`), so libp2p's maxConnections, pending-connection cap and
 * inbound rate limit hold against the hostile peers as they would on a real network; it gives the
 * target an API token, measures an honest baseline (sequential put/get of fresh keys: p50/p99),
 * then runs every attack of `ATTACKS` (./attacks.ts) in turn for `--seconds` while the honest
 * client runs again.
 *
 * Each attack runs in a hostile process of its own (./hostile-process.ts, ./child.ts), forked for
 * it and killed after it, at the lowest CPU priority (nice 19, every thread): what is measured is
 * the daemon's handling of the attack, not the attacker's CPU beside the honest client on a
 * 2-core machine. The script's process holds only the honest client and the samplers.
 *
 * For each attack it samples the target's RSS (/proc/<pid>/status), its V8 heap in use and
 * external memory (`nodejs_heap_size_used_bytes`, `nodejs_external_memory_bytes` of /metrics), its
 * event-loop delay (`p2pstore_eventloop_lag_seconds` p99, each scrape covering the time since the
 * previous), and checks the daemon is alive; after it, how long RSS takes to come back, and where
 * the heap is then: a heap that came back under an RSS that did not is V8 or the allocator keeping
 * freed pages, a heap that did not is something retained. The table says pass or fail per target:
 * no crash, no honest request failed, honest p99 ≤ 1.5 × baseline or baseline + 10 ms, RSS
 * growth ≤ 64 MiB and back within 10 % 30 s after, event-loop p99 ≤ 50 ms, plus the attack's own
 * check (e.g. "no member's state changed").
 *
 * The target (peer-1) runs with the small kv quota of its `config.json` (`targetConfig()` of
 * ./p2p.ts). Another attack is one more entry of `ATTACKS`: a name, `run(target, signal)` that
 * attacks until the signal fires (in the hostile process) and returns a note and facts, and an
 * optional `check(target, facts)` run after it (in this process).
 *
 * With `--heap-snapshots DIR` the daemons run with `--heapsnapshot-signal=SIGUSR2`, and the target
 * writes a heap snapshot to DIR before each attack and after its 30 s wait (`<attack>-before` /
 * `-after`), to be compared in Chrome's DevTools (Memory → Comparison): a snapshot is taken after a
 * full GC, so what the "after" one holds beyond the "before" one is retained, not garbage. They
 * pause the daemon for seconds each: the row's figures then are not the daemon's.
 *
 *   npm run attack [-- --seconds 20] [--only name,name] [--json FILE] [--heap-snapshots DIR]
 *
 * @packageDocumentation
 */
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { DataDir } from '../../src/datadir/index.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { sample, scrape } from './attack.ts'
import { ATTACKS } from './attacks.ts'
import { killHostiles, startHostile } from './hostile-process.ts'
import { targetConfig } from './p2p.ts'
import type { AttackTarget } from './attack.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

const MiB = 1024 * 1024

/** Honest load: sequential put of a fresh key, then get of it, through a keep-alive agent. */
async function honestLoad (api: string, token: string, signal: AbortSignal, prefix: string): Promise<{ latencies: number[], errors: number, firstError?: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  const call = async (method: string, url: string, body?: string): Promise<number> => new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, timeout: 15_000 }, res => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('timeout', () => { req.destroy(new Error('timed out')) })
    req.on('error', reject)
    req.end(body)
  })
  for (let i = 0; !signal.aborted; i++) {
    for (const [method, body] of [['PUT', `v${i}`], ['GET', undefined]] as const) {
      const start = performance.now()
      try {
        const status = await call(method, `${api}/v1/kv/${prefix}-${i}`, body)
        if (status >= 300) throw new Error(`${method} answered ${status}`)
        latencies.push(performance.now() - start)
      } catch (err) {
        errors++
        firstError ??= (err as Error).message
      }
    }
  }
  agent.destroy()
  return { latencies, errors, firstError }
}

function pct (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

async function rss (pid: number): Promise<number | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
  const kb = status == null ? undefined : /VmRSS:\s+(\d+)/.exec(status)?.[1]
  return kb == null ? undefined : Number(kb) * 1024
}

/** What one scrape of the target's /metrics says. */
interface Scraped {
  /** event-loop delay p99 since the previous scrape, ms */
  loopP99?: number
  /** V8 heap in use, bytes (garbage not yet collected included) */
  heap?: number
  /** V8 heap reserved, bytes */
  heapTotal?: number
  /** memory held outside the heap by JavaScript objects (buffers…), bytes */
  external?: number
}

/** Scrapes the target (which resets its event-loop histogram). */
async function probe (target: AttackTarget): Promise<Scraped> {
  const text = await scrape(target)
  if (text == null) return {}
  const m = /p2pstore_eventloop_lag_seconds\{stat="p99"\} ([\d.e+-]+)/.exec(text)
  return {
    loopP99: m?.[1] == null ? undefined : Number(m[1]) * 1000,
    heap: sample(text, 'nodejs_heap_size_used_bytes'),
    heapTotal: sample(text, 'nodejs_heap_size_total_bytes'),
    external: sample(text, 'nodejs_external_memory_bytes')
  }
}

/** What one phase measured. */
interface Measured {
  p50: number
  p99: number
  ops: number
  errors: number
  firstError?: string
  rssBefore: number
  rssMax: number
  heapBefore: number
  heapMax: number
  externalBefore: number
  externalMax: number
  loopP99: number
  alive: boolean
}

/** Runs honest load for `ms` while sampling RSS, heap and event-loop delay. */
async function measure (target: AttackTarget, ms: number, prefix: string): Promise<Measured> {
  const pid = target.peer.pid
  const rssBefore = await rss(pid) ?? 0
  // resets the daemon's event-loop histogram
  const first = await probe(target)
  const heapBefore = first.heap ?? 0
  const externalBefore = first.external ?? 0
  const stop = new AbortController()
  let rssMax = rssBefore
  let heapMax = heapBefore
  let externalMax = externalBefore
  let loop = 0
  let alive = true
  const scraped = (s: Scraped): void => {
    loop = Math.max(loop, s.loopP99 ?? 0)
    heapMax = Math.max(heapMax, s.heap ?? 0)
    externalMax = Math.max(externalMax, s.external ?? 0)
  }
  const sampler = (async () => {
    let tick = 0
    while (!stop.signal.aborted) {
      await sleep(250)
      const r = await rss(pid)
      if (r == null) alive = false
      else rssMax = Math.max(rssMax, r)
      if (++tick % 4 === 0) scraped(await probe(target))
    }
  })()
  const load = honestLoad(target.peer.api, target.token, stop.signal, prefix)
  await sleep(ms)
  stop.abort()
  const { latencies, errors, firstError } = await load
  await sampler
  scraped(await probe(target))
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), ops: latencies.length, errors, firstError, rssBefore, rssMax, heapBefore, heapMax, externalBefore, externalMax, loopP99: loop, alive: alive && (await rss(pid)) != null }
}

/** Where memory is after an attack: RSS back within 10 % (or not within 30 s), and the heap then. */
interface After {
  /** RSS once back within 10 % of its value before, undefined if it was not within 30 s */
  back?: number
  /** RSS at the end of the wait */
  rss?: number
  heap?: number
  heapTotal?: number
  external?: number
  /** live heap (after a full GC) in the heap snapshots before and after, bytes (with --heap-snapshots) */
  live?: [number, number]
  /** RSS once the "after" snapshot's full GC freed the garbage, bytes (with --heap-snapshots) */
  rssAfterGc?: number
}

async function after (target: AttackTarget, m: Measured): Promise<After> {
  let back: number | undefined
  let last: number | undefined
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    const r = await rss(target.peer.pid)
    last = r ?? last
    if (r != null && r <= 1.1 * m.rssBefore) {
      back = r
      break
    }
    await sleep(1_000)
  }
  const { heap, heapTotal, external } = await probe(target)
  return { back, rss: last, heap, heapTotal, external }
}

/**
 * Makes the target write a heap snapshot (it runs with `--heapsnapshot-signal=SIGUSR2` and
 * `--diagnostic-dir dir`), renames it `<name>.heapsnapshot` once written, and resolves with the
 * live heap it holds (the sum of its objects' own sizes: V8 collects garbage before a snapshot).
 */
async function heapSnapshot (target: AttackTarget, dir: string, name: string): Promise<number> {
  const before = new Set(await fs.readdir(dir))
  process.kill(target.peer.pid, 'SIGUSR2')
  let file: string | undefined
  let size = -1
  for (;;) {
    await sleep(1_000)
    file ??= (await fs.readdir(dir)).find(f => !before.has(f) && f.endsWith('.heapsnapshot'))
    if (file == null) continue
    const now = (await fs.stat(path.join(dir, file))).size
    // written once it stops growing and the daemon answers again
    if (now === size && now > 0 && (await probe(target)).heap != null) break
    size = now
  }
  await fs.rename(path.join(dir, file), path.join(dir, `${name}.heapsnapshot`))
  process.stderr.write(`heap snapshot ${path.join(dir, `${name}.heapsnapshot`)}\n`)
  const snapshot = JSON.parse(await fs.readFile(path.join(dir, `${name}.heapsnapshot`), 'utf8')) as { snapshot: { meta: { node_fields: string[] } }, nodes: number[] }
  const fields = snapshot.snapshot.meta.node_fields
  let live = 0
  for (let i = fields.indexOf('self_size'); i < snapshot.nodes.length; i += fields.length) live += snapshot.nodes[i] ?? 0
  return live
}

/** How long the hostile process may take to end after its stop (http-slow-body waits for the server's 30 s cut). */
const STOP_TIMEOUT = 90_000

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, only: { type: 'string' }, json: { type: 'string' }, 'heap-snapshots': { type: 'string' } } })
  const snapshots = values['heap-snapshots'] == null ? undefined : path.resolve(values['heap-snapshots'])
  if (snapshots != null) await fs.mkdir(snapshots, { recursive: true })
  const seconds = Number(values.seconds)
  const only = values.only?.split(',')
  const attacks = ATTACKS.filter(a => only == null || only.includes(a.name))
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-attack-'))
  // the target (peer-1) runs with a small kv quota, so that one hostile peer can offer 10× it
  await fs.mkdir(path.join(dir, 'peer-1'), { recursive: true, mode: 0o700 })
  await fs.writeFile(path.join(dir, 'peer-1', 'config.json'), JSON.stringify(targetConfig(), null, 2))
  // no --allow for loopback: the connection limits hold against the hostile peers
  const net = new ProcessTestnet({ peers: 3, dir, open: true, allowOwnRange: false, nodeArgs: snapshots == null ? [] : ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', snapshots], onProgress: p => { process.stderr.write(`${JSON.stringify(p)}\n`) } })
  let cleaned: Promise<void> | undefined
  const cleanup = async (): Promise<void> => {
    cleaned ??= (async () => {
      killHostiles()
      await net.stop().catch(() => {})
      await fs.rm(dir, { recursive: true, force: true })
    })()
    return cleaned
  }
  process.once('SIGINT', () => {
    process.stderr.write('interrupted: stopping the hostile process and the daemons…\n')
    void cleanup().finally(() => { process.exit(130) })
  })
  const rows: Array<Record<string, string | number | boolean>> = []
  try {
    const peers = await net.start()
    await net.waitForMesh({ timeout: 120_000 })
    const [peer, ...others] = [peers[1], peers[0], peers[2]] as [ProcessTestnetPeer, ...ProcessTestnetPeer[]]
    // an API token: the target's API demands one from now on
    const { secret } = await new TokenStore(new DataDir(peer.dataDir)).create({ role: 'admin' })
    const target: AttackTarget = { peer, others, token: secret, attacker: '127.0.0.2' }
    process.stderr.write(`baseline ${seconds} s…\n`)
    const base = await measure(target, seconds * 1000, 'baseline')
    const p99Limit = Math.max(1.5 * base.p99, base.p99 + 10)
    rows.push(row('baseline', base, p99Limit, undefined, undefined, ''))
    for (const attack of attacks) {
      process.stderr.write(`${attack.name}: ${attack.what}…\n`)
      const liveBefore = snapshots == null ? undefined : await heapSnapshot(target, snapshots, `${attack.name}-before`)
      const hostile = startHostile(attack.name, target)
      let note: string
      let problem: string | undefined
      let m: Measured
      try {
        await hostile.ready
        m = await measure(target, seconds * 1000, attack.name)
        const outcome = await hostile.stop(STOP_TIMEOUT).catch(err => err as Error)
        if (outcome instanceof Error) {
          note = outcome.message
          problem = 'the attack failed'
        } else {
          note = outcome.note
          problem = await attack.check?.(target, outcome.facts).catch(err => `check failed: ${(err as Error).message}`)
        }
      } finally {
        hostile.kill()
      }
      const a = await after(target, m)
      if (snapshots != null && liveBefore != null) {
        a.live = [liveBefore, await heapSnapshot(target, snapshots, `${attack.name}-after`)]
        a.rssAfterGc = await rss(target.peer.pid)
      }
      rows.push(row(attack.name, m, p99Limit, a, problem, note))
    }
  } finally {
    await cleanup()
  }
  printTable(rows)
  if (values.json != null) await fs.writeFile(values.json, JSON.stringify(rows, null, 2))
  process.exitCode = rows.every(r => r.pass !== false) ? 0 : 1
}

const mib = (bytes: number | undefined): string => bytes == null ? '?' : (bytes / MiB).toFixed(0)

function row (name: string, m: Measured, p99Limit: number, a: After | undefined, problem: string | undefined, note: string): Record<string, string | number | boolean> {
  const growth = (m.rssMax - m.rssBefore) / MiB
  const baseline = a == null
  const fails: string[] = []
  if (!m.alive) fails.push('crashed')
  if (m.errors > 0) fails.push(`${m.errors} honest errors (${m.firstError ?? ''})`)
  if (!baseline && m.p99 > p99Limit) fails.push('p99')
  if (growth > 64) fails.push('rss growth')
  if (a != null && a.back == null) fails.push('rss not back in 30 s')
  if (m.loopP99 > 50) fails.push('event loop')
  if (problem != null) fails.push(problem)
  return {
    attack: name,
    ops: m.ops,
    p50: m.p50.toFixed(1),
    p99: m.p99.toFixed(1),
    p99Limit: baseline ? '' : p99Limit.toFixed(1),
    errors: m.errors,
    rssGrowthMiB: growth.toFixed(1),
    rssBackMiB: a == null ? '' : a.back == null ? `no: ${mib(a.rss)} (before ${mib(m.rssBefore)})` : `${mib(a.back)} (before ${mib(m.rssBefore)})`,
    heapMiB: `${mib(m.heapBefore)} → ${mib(m.heapMax)}${a == null ? '' : ` → ${mib(a.heap)} (of ${mib(a.heapTotal)})`}`,
    liveMiB: a?.live == null ? '' : `${(a.live[0] / MiB).toFixed(1)} → ${(a.live[1] / MiB).toFixed(1)}; RSS then ${mib(a.rssAfterGc)}`,
    externalMiB: `${mib(m.externalBefore)} → ${mib(m.externalMax)}${a == null ? '' : ` → ${mib(a.external)}`}`,
    loopP99: m.loopP99.toFixed(1),
    alive: m.alive,
    pass: fails.length === 0,
    why: fails.join('; '),
    note
  }
}

function printTable (rows: Array<Record<string, string | number | boolean>>): void {
  const snapshots = rows.some(r => r.liveMiB !== '')
  const cols = ['attack', 'ops', 'p50', 'p99', 'p99Limit', 'errors', 'rssGrowthMiB', 'rssBackMiB', 'heapMiB', ...(snapshots ? ['liveMiB'] : []), 'externalMiB', 'loopP99', 'alive', 'pass', 'why', 'note']
  const head = ['attack', 'honest ops', 'p50 ms', 'p99 ms', 'p99 limit', 'errors', 'RSS +MiB', 'RSS 30 s after', 'heap used MiB before → max → 30 s after (of reserved)', ...(snapshots ? ['live heap MiB (snapshots) before → after; RSS after its GC'] : []), 'external MiB', 'loop p99 ms', 'alive', 'pass', 'why not', 'attack did']
  process.stdout.write(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n`)
  for (const r of rows) process.stdout.write(`| ${cols.map(c => String(r[c] ?? '')).join(' | ')} |\n`)
}

await main()
