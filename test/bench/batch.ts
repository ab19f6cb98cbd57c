/**
 * `npm run bench:batch`: what a batch saves (issue #20, item 5), measured side by side in one run.
 * A 3-peer in-process test net on loopback (real libp2p), peer 0's HTTP API listening on
 * 127.0.0.1, and the CLI's HTTP client. Each sample writes (then reads) K keys of V bytes:
 *
 * - `single, sequential`: one request per key, one after another (a shell loop over the CLI or curl);
 * - `single, 32 in flight`: one request per key, 32 at a time (the best a client does without batches);
 * - `batch`: one `POST /v1/batch` of K items.
 *
 * The three run interleaved, sample by sample, so drift hits them alike. Reported per mode: the
 * median and p99 of a sample's wall time (K keys), keys per second, and the ratio to `batch`.
 *
 *   npm run bench:batch [-- --samples N] [--keys K] [--value-bytes V] [--json FILE]
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { createApiServer } from '../../src/api/index.ts'
import { HttpClient } from '../../src/client/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { percentile, round } from './stats.ts'
import type { BatchItem } from '../../src/api/index.ts'

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string' },
    keys: { type: 'string' },
    'value-bytes': { type: 'string' },
    json: { type: 'string' }
  }
})
const SAMPLES = Number(args.samples ?? 30)
const KEYS = Number(args.keys ?? 100)
const VALUE_BYTES = Number(args['value-bytes'] ?? 256)
const IN_FLIGHT = 32

type Mode = 'single, sequential' | 'single, 32 in flight' | 'batch'
const MODES: Mode[] = ['single, sequential', 'single, 32 in flight', 'batch']

async function pool (count: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, async () => {
    for (let i = next++; i < count; i = next++) await fn(i)
  }))
}

async function main (): Promise<void> {
  const net = await createTestnet(3)
  const peer = net.peers[0]
  if (peer == null) throw new Error('no peer')
  const app = createApiServer({ peer })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const client = new HttpClient({ url })
  const value = 'v'.repeat(VALUE_BYTES)
  const bytes = new TextEncoder().encode(value)
  const times: Record<'put' | 'get', Record<Mode, number[]>> = {
    put: { 'single, sequential': [], 'single, 32 in flight': [], batch: [] },
    get: { 'single, sequential': [], 'single, 32 in flight': [], batch: [] }
  }
  const failures: string[] = []
  const check = (ok: boolean, what: string): void => { if (!ok) failures.push(what) }

  try {
    // warm up connections and JIT
    await client.batch(Array.from({ length: KEYS }, (_, i) => ({ op: 'put', key: `warm-${i}`, value })))
    for (let sample = 0; sample < SAMPLES; sample++) {
      for (const mode of MODES) {
        const keys = Array.from({ length: KEYS }, (_, i) => `${mode.replace(/\W+/g, '-')}-${sample}-${i}`)
        let start = performance.now()
        if (mode === 'batch') {
          const answer = await client.batch(keys.map((key): BatchItem => ({ op: 'put', key, value })))
          check(answer.failed === 0, `batch put failed ${answer.failed}`)
        } else {
          await pool(KEYS, mode === 'single, sequential' ? 1 : IN_FLIGHT, async i => { await client.put(keys[i] ?? '', bytes) })
        }
        times.put[mode].push(performance.now() - start)

        start = performance.now()
        if (mode === 'batch') {
          const answer = await client.batch(keys.map((key): BatchItem => ({ op: 'get', key })))
          check(answer.failed === 0, `batch get failed ${answer.failed}`)
        } else {
          await pool(KEYS, mode === 'single, sequential' ? 1 : IN_FLIGHT, async i => { await client.get(keys[i] ?? '') })
        }
        times.get[mode].push(performance.now() - start)
      }
    }
  } finally {
    await app.close()
    await net.teardown()
  }

  const rows: Array<Record<string, string | number>> = []
  for (const op of ['put', 'get'] as const) {
    const batchMedian = percentile([...times[op].batch].sort((a, b) => a - b), 50)
    for (const mode of MODES) {
      const sorted = [...times[op][mode]].sort((a, b) => a - b)
      const median = percentile(sorted, 50)
      rows.push({
        op,
        mode,
        [`median ms / ${KEYS} keys`]: round(median, 1),
        [`p99 ms / ${KEYS} keys`]: round(percentile(sorted, 99), 1),
        'keys/s': Math.round(KEYS / (median / 1000)),
        'median vs batch': `${round(median / batchMedian, 2)}×`
      })
    }
  }
  console.log(`batch bench: ${SAMPLES} samples of ${KEYS} keys × ${VALUE_BYTES} B per mode, 3 peers in one process, HTTP on loopback (node ${process.version})`)
  console.table(rows)
  if (failures.length > 0) console.log(`FAILURES: ${failures.join('; ')}`)
  if (args.json != null) await fs.writeFile(args.json, JSON.stringify({ samples: SAMPLES, keys: KEYS, valueBytes: VALUE_BYTES, rows, times }, null, 2))
  process.exitCode = failures.length > 0 ? 1 : 0
}

await main()
