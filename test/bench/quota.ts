/**
 * Do the default kv quotas slow honest traffic? A 3-peer in-process test net runs the same put/get
 * loop (64 in flight, 100 B values, every peer a client, no fsync so that CPU is the limit) with the default quotas and with quotas
 * a thousand times larger, and prints the throughput of each, the requests each quota held back
 * (p2pstore_quota_throttled_total) and the busiest peer pair's replica request rate.
 * `node --import tsx test/bench/quota.ts [seconds]`
 *
 * @packageDocumentation
 */

import '../../src/polyfill.ts'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createTestnet } from '../../src/testnet/index.ts'
import type { PeerInit } from '../../src/config.ts'

const seconds = Number(process.argv[2] ?? 8)

async function run (label: string, peer: PeerInit): Promise<void> {
  const teardowns: Array<() => Promise<void>> = []
  const net = await createTestnet(3, { open: true, peer, onTeardown: fn => { teardowns.push(fn) } })
  try {
    const until = performance.now() + seconds * 1000
    let ops = 0
    const value = randomBytes(100)
    await Promise.all(Array.from({ length: 64 }, async (_, worker) => {
      const client = net.peers[worker % net.peers.length]
      if (client == null) return
      for (let i = 0; performance.now() < until; i++) {
        const key = new TextEncoder().encode(`k-${worker}-${i % 200}`)
        await client.put(key, value)
        await client.get(key)
        ops += 2
      }
    }))
    let throttled = 0
    let served = 0
    for (const p of net.peers) {
      for (const v of (await p.metrics.quotaThrottled.get()).values) throttled += v.value
      for (const v of (await p.metrics.replicaRequests.get()).values) served += v.value
    }
    // every peer serves two others: the busiest pair is at least the mean per pair
    const perPair = served / (net.peers.length * (net.peers.length - 1)) / seconds
    process.stdout.write(`${label}: ${Math.round(ops / seconds)} client ops/s, ${Math.round(perPair)} replica requests/s per peer pair (mean), ${throttled} requests held back by a quota\n`)
  } finally {
    for (const t of teardowns) await t()
  }
}

await run('default quotas', { sync: false })
await run('quotas ×1000', { sync: false, kvPeerRequestRate: 20_000_000, kvPeerRequestBurst: 4_000_000, kvPeerByteRate: 2 ** 40, kvPeerByteBurst: 2 ** 34, kvPeerMaxInFlight: 256_000, kvGlobalRequestRate: 50_000_000 })
await run('default quotas', { sync: false })
