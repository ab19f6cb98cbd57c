/**
 * A focused probe of what the background work costs the foreground on a loaded in-process net
 * (issue 5): preloads many keys on 10 peers, then measures the event loop's longest stall while
 * every peer runs an anti-entropy round and a handoff pass, and the put latency at 1 in flight —
 * optionally under the V8 CPU profiler (the put phase only), so the put path's hottest functions
 * can be named.
 *
 *   node --import tsx test/bench/stall.ts [--keys 20000] [--puts 400] [--sync true|false]
 *     [--profile FILE.cpuprofile] [--profile-phase put|background]
 *
 * Prints one JSON line; progress goes to stderr.
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { startStoreNet } from './p2pstore.ts'
import { forEachLimit } from './scenario.ts'
import { percentile, round } from './stats.ts'
import type { Testnet } from '../../src/testnet/index.ts'

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '20000' },
    puts: { type: 'string', default: '400' },
    profile: { type: 'string' },
    'profile-phase': { type: 'string', default: 'put' },
    sync: { type: 'string', default: 'true' }
  }
})
const KEYS = Number(values.keys)
const PUTS = Number(values.puts)
const enc = new TextEncoder()
const progress = (line: string): void => { process.stderr.write(`[stall] ${line}\n`) }

/** Runs `fn` while sampling the event loop's delay; resolves with its max and p99 in ms. */
async function stalls (fn: () => Promise<unknown>): Promise<{ maxMs: number, p99Ms: number, ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const began = performance.now()
  await fn()
  h.disable()
  return { maxMs: Math.round(h.max / 1e4) / 100, p99Ms: Math.round(h.percentile(99) / 1e4) / 100, ms: Math.round(performance.now() - began) }
}

const rounds = { differing: 0, pushed: 0, pulled: 0, handedOff: 0 }

async function background (net: Testnet): Promise<void> {
  await Promise.all(net.peers.map(async (peer, i) => {
    const other = net.peers[(i + 1) % net.peers.length]
    if (other != null) {
      const r = await peer.runAntiEntropy(other.peerId).catch(() => undefined)
      rounds.differing += r?.differing ?? 0
      rounds.pushed += r?.pushed ?? 0
      rounds.pulled += r?.pulled ?? 0
    }
    rounds.handedOff += (await peer.runHandoff()).handedOff
  }))
}

async function profiled<T> (phase: string, fn: () => Promise<T>): Promise<T> {
  if (values.profile == null || values['profile-phase'] !== phase) return fn()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    await fs.writeFile(values.profile, JSON.stringify(profile))
    session.disconnect()
  }
}

async function puts (net: Testnet, label: string): Promise<number[]> {
  const client = net.peers[1]
  if (client == null) throw new Error('no client')
  const value = new Uint8Array(100).fill(7)
  const ms: number[] = []
  for (let i = 0; i < PUTS; i++) {
    const t = performance.now()
    await client.put(enc.encode(`${label}/${i}`), value)
    ms.push(performance.now() - t)
  }
  return ms
}

const teardowns: Array<() => Promise<void>> = []
try {
  const net = await startStoreNet(10, { timings: 'production', settleTimeoutMs: 60_000, onTeardown: fn => { teardowns.push(fn) }, sync: values.sync !== 'false' })
  progress(`net settled; preloading ${KEYS} keys`)
  const writer = net.peers[2]
  if (writer == null) throw new Error('no writer')
  const value = new Uint8Array(100).fill(1)
  const began = performance.now()
  await forEachLimit(Array.from({ length: KEYS }, (_, i) => enc.encode(`pre/${i}`)), 64, async key => { await writer.put(key, value) })
  const preloadS = Math.round(performance.now() - began) / 1000
  progress(`preloaded in ${preloadS} s; background passes`)
  const first = await stalls(async () => background(net))
  const second = await profiled('background', async () => stalls(async () => background(net)))
  progress('puts at 1 in flight')
  await puts(net, 'warm')
  let putMs: number[] = []
  const during = await profiled('put', async () => stalls(async () => { putMs = await puts(net, 'measured') }))
  const t32 = performance.now()
  await forEachLimit(Array.from({ length: PUTS }, (_, i) => enc.encode(`flight32/${i}`)), 32, async key => { await net.peers[1]?.put(key, new Uint8Array(100)) })
  const putOpsPerSec32 = Math.round(PUTS / ((performance.now() - t32) / 1000))
  const sorted = [...putMs].sort((a, b) => a - b)
  const put = { p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), samples: sorted.length }
  process.stdout.write(JSON.stringify({ keys: KEYS, preloadS, backgroundStall: { first, second }, rounds, putStall: during, put, putOpsPerSec32 }) + '\n')
} finally {
  for (const fn of teardowns.reverse()) await fn().catch(() => {})
}
process.exit(0)
