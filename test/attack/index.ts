/**
 * `npm run attack`: attacks on a test net of `p2pstore daemon` processes, each measured against
 * issue #19's targets while an honest client keeps putting and getting through the attacked
 * daemon's HTTP API.
 *
 * It starts 3 daemons (`--open`, test-net timing), gives the target an API token, measures an
 * honest baseline (sequential put/get of fresh keys: p50/p99), then runs every attack of `ATTACKS`
 * in turn for `--seconds` while the honest client runs again. For each it samples the target's
 * RSS (/proc/<pid>/status), its event-loop delay (the daemon's own `p2pstore_eventloop_lag_seconds`
 * p99 from /metrics, each scrape covering the time since the previous), and checks the daemon is
 * alive; after it, how long RSS takes to come back. The table says pass or fail per target:
 * no crash, no honest request failed, honest p99 ≤ 1.5 × baseline or baseline + 10 ms, RSS
 * growth ≤ 64 MiB and back within 10 % 30 s after, event-loop p99 ≤ 50 ms, plus the attack's own
 * check (e.g. "no member's state changed").
 *
 * The libp2p attacks (malformed frames, the kv quota flood, slow readers, stream and connection
 * floods) are in ./p2p.ts; the target (peer-1) runs with the small kv quota of its `config.json`
 * (`targetConfig()`). Another attack is one more entry of `ATTACKS`: a name, `run(target, signal)`
 * that attacks until the signal fires, and an optional `check(target)` run after it.
 *
 *   npm run attack [-- --seconds 20] [--only name,name] [--json FILE]
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
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DataDir } from '../../src/datadir/index.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { createHostilePeer } from '../utils/hostile.ts'
import { peerIds } from '../utils/replication.ts'
import { connectRaw, request, slowBody } from './http-client.ts'
import { P2P_ATTACKS, targetConfig } from './p2p.ts'
import type { RawConnection } from './http-client.ts'
import type { MemberUpdate } from '../../src/protocol/index.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

/** The attacked daemon and what an attack may use. */
export interface AttackTarget {
  peer: ProcessTestnetPeer
  /** the other daemons of the net */
  others: ProcessTestnetPeer[]
  /** a valid admin token of the target's API */
  token: string
  /** the local address attackers speak from (honest clients use 127.0.0.1) */
  attacker: string
}

/** One attack: runs until `signal` fires; `check` says whether what it tried failed as it should. */
export interface Attack {
  name: string
  /** what it does, for the table */
  what: string
  /** work before the measurement starts (generating identities…), so it is not counted against the target. @default none */
  prepare?(): Promise<void>
  run(target: AttackTarget, signal: AbortSignal): Promise<string | undefined>
  /** after the attack: undefined when all is as it should be, else what is wrong */
  check?(target: AttackTarget): Promise<string | undefined>
}

const MiB = 1024 * 1024

/** `GET /v1/peers` of `peer`: every member it knows, its state and incarnation */
async function members (peer: ProcessTestnetPeer, token: string): Promise<Array<{ peerId: string, state: string, incarnation: number }>> {
  const res = await request(`${peer.api}/v1/peers`, { token })
  const body = JSON.parse(res.body) as { peers?: Array<{ peerId: string, state: string, incarnation: number }> } | Array<{ peerId: string, state: string, incarnation: number }>
  return Array.isArray(body) ? body : body.peers ?? []
}

let membersBefore = ''
/** the hostile peer of the forged-membership attack: a real peer, so a member of an open network */
let hostileId = ''
let forged: Awaited<ReturnType<typeof peerIds>> = []
const honestView = async (t: AttackTarget): Promise<string> => (await members(t.peer, t.token))
  .filter(m => t.others.some(o => o.peerId === m.peerId)).map(m => `${m.peerId}:${m.state}:${m.incarnation}`).sort().join(',')

/** The attacks, in order. Add entries here (see `Attack`). */
export const ATTACKS: Attack[] = [
  {
    name: 'forged-membership',
    what: 'a hostile libp2p peer says members are dead or left, sends absurd incarnations and 20 000 forged member ids',
    prepare: async () => { forged = await peerIds(20_000) },
    run: async (t, signal) => {
      membersBefore = await honestView(t)
      const hostile = await createHostilePeer()
      hostileId = hostile.peerId.toString()
      try {
        await hostile.dial(t.peer.multiaddrs.map(a => multiaddr(a)))
        const target = peerIdFromString(t.peer.peerId)
        const others = t.others.map(o => peerIdFromString(o.peerId))
        const nowhere = multiaddr('/ip4/127.0.0.1/tcp/1')
        const claim = (peerId: MemberUpdate['peerId'], state: MemberUpdate['state'], incarnation: number, addrs = [nowhere]): MemberUpdate => ({ peerId, state, incarnation, addrs })
        let sent = 0
        let i = 0
        while (!signal.aborted) {
          const now = Date.now()
          // it announces itself each round (refuting the suspicion its silence earns): a member's news is weighed, a stranger's dropped
          await hostile.membership(target, { type: 'ping', updates: [claim(hostile.peerId, 'alive', now, hostile.node.getMultiaddrs())] }, 5_000)
          const claims = others.flatMap(o => [claim(o, 'dead', now), claim(o, 'left', now + 1, []), claim(o, 'suspect', Number.MAX_SAFE_INTEGER, [])])
          await hostile.membership(target, { type: 'gossip', updates: claims }, 5_000)
          const reply = await hostile.membership(target, { type: 'gossip', updates: forged.slice(i, i + 200).map(p => claim(p, 'alive', now)) }, 5_000)
          i = (i + 200) % forged.length
          sent += claims.length + 200
          // refused or banned: its failed dials settle in microtasks, so it would starve this process's timers
          if (reply == null) await sleep(100)
        }
        return `${sent} forged updates`
      } finally {
        await hostile.stop()
      }
    },
    check: async t => {
      // claims still being checked settle within a probe round or two
      await sleep(3_000)
      const after = await honestView(t)
      const all = await members(t.peer, t.token)
      const forged = all.filter(m => m.peerId !== t.peer.peerId && m.peerId !== hostileId && !t.others.some(o => o.peerId === m.peerId))
      if (forged.length > 0) return `${forged.length} forged members in the target's table`
      if (after !== membersBefore) return `honest members changed: ${membersBefore} → ${after}`
      return undefined
    }
  },
  {
    name: 'http-bad-token-flood',
    what: '16 clients of one address sending requests with bad or no tokens',
    run: async (t, signal) => {
      const counts = new Map<number, number>()
      await Promise.all(Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; !signal.aborted; i++) {
          const res = await request(`${t.peer.api}/v1/kv/flood-${c}-${i}`, { method: 'PUT', token: i % 2 === 0 ? `p2ps_bad_${c}_${i}` : undefined, body: 'x', localAddress: t.attacker }).catch(() => ({ status: 0 }))
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
        }
      }))
      return [...counts.entries()].map(([s, n]) => `${n}×${s}`).join(' ')
    },
    check: async t => {
      const stored = await request(`${t.peer.api}/v1/kv/flood-0-0`, { token: t.token })
      return stored.status === 404 ? undefined : `a flood write answered ${stored.status}`
    }
  },
  {
    name: 'http-oversized-body',
    what: '4 clients sending 8 MiB bodies (the limit is 1 MiB)',
    run: async (t, signal) => {
      const body = new Uint8Array(8 * MiB)
      const counts = new Map<number, number>()
      await Promise.all(Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; !signal.aborted; i++) {
          const res = await request(`${t.peer.api}/v1/kv/big-${c}-${i}`, { method: 'PUT', token: t.token, body, localAddress: t.attacker }).catch(() => ({ status: 0 }))
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
        }
      }))
      return [...counts.entries()].map(([s, n]) => `${n}×${s}`).join(' ')
    },
    check: async t => {
      const stored = await request(`${t.peer.api}/v1/kv/big-0-0`, { token: t.token })
      return stored.status === 404 ? undefined : `an oversized write answered ${stored.status}`
    }
  },
  {
    name: 'http-slow-body',
    what: '200 connections each sending a PUT body one byte every 3 s',
    run: async (t, signal) => {
      const port = Number(new URL(t.peer.api).port)
      const slow: Array<Promise<{ status?: number, sent: number }>> = []
      for (let i = 0; i < 200 && !signal.aborted; i++) slow.push(slowBody(port, t.token, { length: 100_000, every: 3_000, key: `slow-${i}`, localAddress: t.attacker }))
      await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
      // the server cuts them at apiRequestTimeout (30 s): wait for that
      const results = await Promise.all(slow)
      const cut = results.filter(r => r.status === 408).length
      return `${cut} of ${results.length} cut with a 408 (most bytes sent by one: ${Math.max(...results.map(r => r.sent))})`
    }
  },
  {
    name: 'http-connection-flood',
    what: '400 idle connections from one address (the cap is 256 per address)',
    run: async (t, signal) => {
      const port = Number(new URL(t.peer.api).port)
      const conns: RawConnection[] = []
      try {
        for (let i = 0; i < 400 && !signal.aborted; i++) {
          const c = await connectRaw(port, t.attacker).catch(() => undefined)
          if (c != null) conns.push(c)
        }
        await sleep(1_000)
        const held = conns.filter(c => c.isOpen).length
        await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
        return `${held} of ${conns.length} held by the server`
      } finally {
        for (const c of conns) c.socket.destroy()
      }
    }
  },
  // malformed frames, the kv quota flood, slow readers, stream and connection floods (./p2p.ts)
  ...P2P_ATTACKS
]

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

async function loopP99 (api: string, token: string): Promise<number | undefined> {
  const res = await request(`${api}/metrics`, { token, timeout: 10_000 }).catch(() => undefined)
  const m = res == null ? undefined : /p2pstore_eventloop_lag_seconds\{stat="p99"\} ([\d.e+-]+)/.exec(res.body)
  return m?.[1] == null ? undefined : Number(m[1]) * 1000
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
  loopP99: number
  alive: boolean
}

/** Runs honest load for `ms` while sampling RSS and event-loop delay; `during` runs alongside. */
async function measure (target: AttackTarget, ms: number, prefix: string): Promise<Measured> {
  const pid = target.peer.pid
  const rssBefore = await rss(pid) ?? 0
  await loopP99(target.peer.api, target.token) // resets the daemon's histogram
  const stop = new AbortController()
  let rssMax = rssBefore
  let loop = 0
  let alive = true
  const sampler = (async () => {
    let tick = 0
    while (!stop.signal.aborted) {
      await sleep(250)
      const r = await rss(pid)
      if (r == null) alive = false
      else rssMax = Math.max(rssMax, r)
      if (++tick % 4 === 0) loop = Math.max(loop, await loopP99(target.peer.api, target.token) ?? 0)
    }
  })()
  const load = honestLoad(target.peer.api, target.token, stop.signal, prefix)
  await sleep(ms)
  stop.abort()
  const { latencies, errors, firstError } = await load
  await sampler
  loop = Math.max(loop, await loopP99(target.peer.api, target.token) ?? 0)
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), ops: latencies.length, errors, firstError, rssBefore, rssMax, loopP99: loop, alive: alive && (await rss(pid)) != null }
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, only: { type: 'string' }, json: { type: 'string' } } })
  const seconds = Number(values.seconds)
  const only = values.only?.split(',')
  const attacks = ATTACKS.filter(a => only == null || only.includes(a.name))
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-attack-'))
  // the target (peer-1) runs with a small kv quota, so that one hostile peer can offer 10× it
  await fs.mkdir(path.join(dir, 'peer-1'), { recursive: true, mode: 0o700 })
  await fs.writeFile(path.join(dir, 'peer-1', 'config.json'), JSON.stringify(targetConfig(), null, 2))
  const net = new ProcessTestnet({ peers: 3, dir, open: true, onProgress: p => { process.stderr.write(`${JSON.stringify(p)}\n`) } })
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
      await attack.prepare?.()
      const signal = new AbortController()
      const running = attack.run(target, signal.signal)
      const m = await measure(target, seconds * 1000, attack.name)
      signal.abort()
      const note = await running.catch(err => `attack failed: ${(err as Error).message}`)
      const problem = await attack.check?.(target).catch(err => `check failed: ${(err as Error).message}`)
      // RSS back within 10 % of where it started, within 30 s
      let back: number | undefined
      let last: number | undefined
      const until = Date.now() + 30_000
      while (Date.now() < until) {
        const r = await rss(peer.pid)
        last = r ?? last
        if (r != null && r <= 1.1 * m.rssBefore) {
          back = r
          break
        }
        await sleep(1_000)
      }
      rows.push(row(attack.name, m, p99Limit, back, problem, note ?? '', last))
    }
  } finally {
    await net.stop().catch(() => {})
    await fs.rm(dir, { recursive: true, force: true })
  }
  printTable(rows)
  if (values.json != null) await fs.writeFile(values.json, JSON.stringify(rows, null, 2))
  process.exitCode = rows.every(r => r.pass !== false) ? 0 : 1
}

function row (name: string, m: Measured, p99Limit: number, back: number | undefined, problem: string | undefined, note: string, last?: number): Record<string, string | number | boolean> {
  const growth = (m.rssMax - m.rssBefore) / MiB
  const baseline = name === 'baseline'
  const fails: string[] = []
  if (!m.alive) fails.push('crashed')
  if (m.errors > 0) fails.push(`${m.errors} honest errors (${m.firstError ?? ''})`)
  if (!baseline && m.p99 > p99Limit) fails.push('p99')
  if (growth > 64) fails.push('rss growth')
  if (!baseline && back == null) fails.push('rss not back in 30 s')
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
    rssBackMiB: baseline ? '' : back == null ? `no: ${last == null ? '?' : (last / MiB).toFixed(0)} (before ${(m.rssBefore / MiB).toFixed(0)})` : `${(back / MiB).toFixed(0)} (before ${(m.rssBefore / MiB).toFixed(0)})`,
    loopP99: m.loopP99.toFixed(1),
    alive: m.alive,
    pass: fails.length === 0,
    why: fails.join('; '),
    note
  }
}

function printTable (rows: Array<Record<string, string | number | boolean>>): void {
  const cols = ['attack', 'ops', 'p50', 'p99', 'p99Limit', 'errors', 'rssGrowthMiB', 'rssBackMiB', 'loopP99', 'alive', 'pass', 'why', 'note']
  const head = ['attack', 'honest ops', 'p50 ms', 'p99 ms', 'p99 limit', 'errors', 'RSS +MiB', 'RSS 30 s after', 'loop p99 ms', 'alive', 'pass', 'why not', 'attack did']
  process.stdout.write(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n`)
  for (const r of rows) process.stdout.write(`| ${cols.map(c => String(r[c] ?? '')).join(' | ')} |\n`)
}

await main()
