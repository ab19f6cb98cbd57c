/**
 * Placement balance: how evenly the N home replicas of 10 000 keys fall on 10 peers with random
 * identities (XOR distance, N = 3). Prints max/mean and min/mean keys per peer over several
 * independent trials (fresh peer ids each), and their median.
 *
 *   node --import tsx test/bench/placement.ts [peers] [keys] [trials]
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { homeReplicas, keyId, peerKadId } from '../../src/routing/index.ts'

const peers = Number(process.argv[2] ?? 10)
const keys = Number(process.argv[3] ?? 10_000)
const trials = Number(process.argv[4] ?? 20)
const n = 3

const ratios: Array<{ max: number, min: number }> = []
for (let t = 0; t < trials; t++) {
  const placed = await Promise.all(Array.from({ length: peers }, async (_, i) => ({ i, kadId: peerKadId(peerIdFromPrivateKey(await generateKeyPair('Ed25519'))) })))
  const load = new Array<number>(peers).fill(0)
  for (let k = 0; k < keys; k++) {
    for (const p of homeReplicas(keyId(new TextEncoder().encode(`key-${k}`)), placed, n)) load[p.i] = (load[p.i] ?? 0) + 1
  }
  const mean = (keys * n) / peers
  ratios.push({ max: Math.max(...load) / mean, min: Math.min(...load) / mean })
  process.stderr.write(`trial ${t + 1}/${trials}: keys per peer ${load.join(' ')}\n`)
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const maxes = ratios.map(r => r.max)
const mins = ratios.map(r => r.min)
console.log(`placement balance, ${keys} keys × N=${n} on ${peers} peers, ${trials} trials:`)
console.log(`  max/mean: median ${median(maxes).toFixed(2)}, best ${Math.min(...maxes).toFixed(2)}, worst ${Math.max(...maxes).toFixed(2)}`)
console.log(`  min/mean: median ${median(mins).toFixed(2)}, worst ${Math.min(...mins).toFixed(2)}`)
