/**
 * `npm run bench:encryption`: what encryption at rest costs, measured side by side in one run
 * (issue 13, item 3: at most 10 % of put and get throughput). Plain and encrypted run interleaved,
 * round by round, on the same machine, so drift hits both alike.
 *
 * Levels: the storage engine alone (LevelEngine update and get; with fsync per write as a daemon
 * runs, and without, where the cipher's share is largest), and a whole peer (createPeer with a
 * data dir, n = w = r = 1: coordinator, engine, LevelDB; no network, so nothing hides the cost).
 *
 *   npm run bench:encryption [-- --quick] [--rounds N] [--ops N] [--value-bytes N] [--json FILE]
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { defaultLogger } from '@libp2p/logger'
import { createPeer } from '../../src/peer.ts'
import { LevelEngine } from '../../src/storage/index.ts'
import { percentile, round, runLoad } from './stats.ts'
import type { Operation } from './stats.ts'
import type { Peer } from '../../src/peer.ts'
import type { EncryptionInit, StoredRecord } from '../../src/storage/index.ts'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    ops: { type: 'string' },
    'value-bytes': { type: 'string' },
    'in-flight': { type: 'string' },
    json: { type: 'string' }
  }
})
const ROUNDS = Number(args.rounds ?? (args.quick ? 2 : 5))
const OPS = Number(args.ops ?? (args.quick ? 2000 : 10_000))
const VALUE_BYTES = Number(args['value-bytes'] ?? 1024)
const IN_FLIGHT = Number(args['in-flight'] ?? 32)

interface Target {
  put: Operation
  get: Operation
  close(): Promise<void>
}

type Level = 'engine, fsync' | 'engine, no fsync' | 'peer, fsync'

const value = randomBytes(VALUE_BYTES)
const keyOf = (i: number): Uint8Array => new TextEncoder().encode(`bench-key-${i % OPS}`)
const recordOf = (i: number): StoredRecord => ({
  set: {
    siblings: [{ dot: { actor: 'aa01', counter: i + 1 }, value, timestamp: 1, deleted: false }],
    context: { vv: new Map([['aa01', i + 1]]), cloud: [] }
  }
})

async function openTarget (level: Level, dir: string, encryption: EncryptionInit | undefined): Promise<Target> {
  if (level === 'peer, fsync') {
    const peer: Peer = await createPeer({ dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], encryption, n: 1, w: 1, r: 1 })
    return {
      put: async (i, signal) => { await peer.put(keyOf(i), value, { signal }) },
      get: async (i, signal) => { await peer.get(keyOf(i), { signal }) },
      close: async () => { await peer.stop() }
    }
  }
  const engine = new LevelEngine({ logger: defaultLogger() }, { path: path.join(dir, 'storage'), sync: level === 'engine, fsync', encryption })
  await engine.open()
  return {
    put: async i => { await engine.update(keyOf(i), () => recordOf(i)) },
    get: async i => { if (await engine.get(keyOf(i)) == null) throw new Error('missing') },
    close: async () => { await engine.close() }
  }
}

interface Figures { opsPerSec: number[], latencies: number[], errors: number }
const results = new Map<string, Figures>()
const figures = (name: string): Figures => {
  let f = results.get(name)
  if (f == null) results.set(name, f = { opsPerSec: [], latencies: [], errors: 0 })
  return f
}

/** One plain or encrypted run of a level: a fresh store, then OPS puts and OPS gets. */
async function measure (level: Level, mode: 'plain' | 'encrypted', dir: string): Promise<void> {
  const target = await openTarget(level, dir, mode === 'encrypted' ? { key: randomBytes(32) } : undefined)
  try {
    for (const op of ['put', 'get'] as const) {
      const run = await runLoad(target[op], { count: OPS, inFlight: IN_FLIGHT, timeLimitMs: 60_000, opTimeoutMs: 10_000 })
      const f = figures(`${level}|${op}|${mode}`)
      f.opsPerSec.push(run.latenciesMs.length / (run.wallMs / 1000))
      f.latencies.push(...run.latenciesMs)
      f.errors += run.errors
    }
  } finally {
    await target.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
}

const base = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-bench-encryption-'))
try {
  const levels: Level[] = ['engine, fsync', 'engine, no fsync', 'peer, fsync']
  for (let r = 0; r < ROUNDS; r++) {
    for (const level of levels) {
      // alternate which goes first, so neither always runs on a warmer machine
      const order = r % 2 === 0 ? ['plain', 'encrypted'] as const : ['encrypted', 'plain'] as const
      for (const mode of order) await measure(level, mode, path.join(base, `${r}-${level.replace(/\W+/g, '-')}-${mode}`))
      process.stderr.write(`round ${r + 1}/${ROUNDS}: ${level} done\n`)
    }
  }

  const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50)
  const rows: Array<Record<string, string | number>> = []
  for (const level of levels) {
    for (const op of ['put', 'get'] as const) {
      const plain = figures(`${level}|${op}|plain`)
      const enc = figures(`${level}|${op}|encrypted`)
      const sorted = (f: Figures): number[] => [...f.latencies].sort((a, b) => a - b)
      rows.push({
        level,
        op,
        plainOpsPerSec: round(median(plain.opsPerSec), 0),
        encryptedOpsPerSec: round(median(enc.opsPerSec), 0),
        ratio: round(median(enc.opsPerSec) / median(plain.opsPerSec), 3),
        plainP50Ms: round(percentile(sorted(plain), 50)),
        encryptedP50Ms: round(percentile(sorted(enc), 50)),
        plainP99Ms: round(percentile(sorted(plain), 99)),
        encryptedP99Ms: round(percentile(sorted(enc), 99)),
        errors: plain.errors + enc.errors
      })
    }
  }
  const header = Object.keys(rows[0] ?? {})
  process.stdout.write(`encryption at rest: ${ROUNDS} interleaved rounds × ${OPS} ops, ${VALUE_BYTES} B values, ${IN_FLIGHT} in flight, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'})\n`)
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`)
  for (const row of rows) process.stdout.write(`| ${header.map(h => String(row[h])).join(' | ')} |\n`)
  if (args.json != null) await fs.writeFile(args.json, JSON.stringify({ rounds: ROUNDS, ops: OPS, valueBytes: VALUE_BYTES, inFlight: IN_FLIGHT, rows }, null, 2))
} finally {
  await fs.rm(base, { recursive: true, force: true })
}
