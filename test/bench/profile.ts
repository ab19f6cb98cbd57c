/**
 * Where the CPU goes: sums the self time of V8 `.cpuprofile` files (`node --cpu-prof`) per layer
 * of the stack — HTTP, coordinator, causality, protobuf, LevelDB, Noise, Yamux, … — and lists the
 * hottest functions.
 *
 *   node --import tsx test/bench/profile.ts FILE|DIR… [--from US --to US] [--top 25] [--json]
 *
 * A directory stands for every `.cpuprofile` under it (the daemon bench writes one per daemon and
 * a `windows.json` with the monotonic-clock window of its load and idle phases, which `--window
 * NAME` selects). Self time of a native or built-in frame without a script (e.g. `writeBuffer`)
 * counts towards the nearest caller that has one, so a socket write lands in the layer that made it.
 *
 * @packageDocumentation
 */

import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/** The parts of V8's profile format this reads. */
export interface CpuProfile {
  nodes: Array<{ id: number, callFrame: CallFrame, children?: number[] }>
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber?: number
}

/** The layers, in report order. */
export const LAYERS = [
  'HTTP (fastify, node:http, find-my-way, ajv)',
  'API routes (src/api)',
  'coordinator/replication (src/replication)',
  'clock/causality (src/clock)',
  'membership (src/membership)',
  'storage (src/storage)',
  'LevelDB (classic-level)',
  'protobuf (protons-runtime, uint8arraylist, src/protocol)',
  'Noise (libp2p-noise, @noble, node crypto)',
  'Yamux',
  'libp2p other',
  'socket I/O (node:net, streams)',
  'timers',
  'promises/events (node internals)',
  'p2pstore other',
  'node other',
  'GC',
  'V8/native other ((program))',
  'idle'
] as const

export type Layer = typeof LAYERS[number]

const RULES: Array<[RegExp, Layer]> = [
  [/node_modules\/(fastify|@fastify\/|find-my-way|ajv|avvio|light-my-request|fast-json-stringify|fast-uri|fast-querystring|secure-json-parse|toad-cache|process-warning|abstract-logging|pino|rfdc|fast-decode-uri-component|json-schema-traverse)/, 'HTTP (fastify, node:http, find-my-way, ajv)'],
  [/^node:(_http_|http$|internal\/http)/, 'HTTP (fastify, node:http, find-my-way, ajv)'],
  [/\/src\/api\//, 'API routes (src/api)'],
  [/\/src\/replication\//, 'coordinator/replication (src/replication)'],
  [/\/src\/clock\//, 'clock/causality (src/clock)'],
  [/\/src\/membership\//, 'membership (src/membership)'],
  [/\/src\/storage\/record\.[jt]s|\/src\/protocol\/|node_modules\/(protons-runtime|uint8arraylist)\//, 'protobuf (protons-runtime, uint8arraylist, src/protocol)'],
  [/\/src\/storage\//, 'storage (src/storage)'],
  [/node_modules\/(classic-level|abstract-level|level-transcoder|level-supports|module-error|maybe-combine-errors)\//, 'LevelDB (classic-level)'],
  [/node_modules\/(@chainsafe\/libp2p-noise|@noble\/|@chainsafe\/as-chacha20poly1305|@chainsafe\/as-sha256)|^node:(internal\/)?crypto/, 'Noise (libp2p-noise, @noble, node crypto)'],
  // the only WebAssembly a daemon runs: @chainsafe/as-chacha20poly1305 and as-sha256 (Noise)
  [/^wasm:\/\//, 'Noise (libp2p-noise, @noble, node crypto)'],
  [/node_modules\/@chainsafe\/libp2p-yamux\//, 'Yamux'],
  [/node_modules\/(libp2p|@libp2p\/|@multiformats\/|multiformats|it-[a-z-]+|uint8arrays|main-event|p-queue|p-event|p-defer|race-signal|any-signal|abort-error|progress-events|interface-datastore|datastore-core|weald|debug|@chainsafe\/is-ip|@chainsafe\/netmask|mortice|eventemitter3|race-event|delay|timeout-abort-controller|get-iterator)\b/, 'libp2p other'],
  [/^node:(net|stream|internal\/stream_base_commons|internal\/streams\/|internal\/net|dgram|internal\/dgram)/, 'socket I/O (node:net, streams)'],
  [/^node:(timers|internal\/timers)/, 'timers'],
  [/^node:(events|internal\/process\/task_queues|internal\/event_target|internal\/abort_controller|internal\/process\/promises|internal\/async_hooks)/, 'promises/events (node internals)'],
  [/\/(src|dist\/src)\//, 'p2pstore other'],
  [/^node:/, 'node other']
]

/** The layer of a frame that has a script; undefined for one without (native or built-in). */
export function layerOf (frame: CallFrame): Layer | undefined {
  switch (frame.functionName) {
    case '(idle)': return 'idle'
    case '(garbage collector)': return 'GC'
    case '(program)': return 'V8/native other ((program))'
    case '(root)': return 'V8/native other ((program))'
    default: break
  }
  const url = frame.url.replace(/^file:\/\//, '')
  if (url === '') return undefined
  for (const [re, layer] of RULES) if (re.test(url)) return layer
  return 'node other'
}

/** A sample window in the profile's clock (µs, CLOCK_MONOTONIC on Linux). */
export interface Window {
  from: number
  to: number
}

/** Self time per layer and per function, over one or more profiles. */
export interface Summary {
  totalMs: number
  /** every layer, ms of self time */
  layers: Record<Layer, number>
  /** the hottest functions by self time */
  top: Array<{ fn: string, layer: Layer, ms: number }>
  /** self time (the callees' built-in work included) by the package or p2pstore file that caused it */
  origins: Array<{ origin: string, ms: number }>
  /** profiles read and samples counted */
  profiles: number
  samples: number
}

/** Adds the self time of `profile`'s samples (within one of `windows`, if given) into `acc`. */
export function addProfile (acc: Accumulated, profile: CpuProfile, windows?: Window[]): void {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // the layer and name each node's self time goes to (a frame without a script: its nearest caller's)
  const resolved = new Map<number, { layer: Layer, fn: string }>()
  // the nearest frame (itself or a caller) in a package or in p2pstore: who made a node built-in work
  const origins = new Map<number, string>()
  const origin = (id: number): string => {
    const hit = origins.get(id)
    if (hit != null) return hit
    const node = byId.get(id)
    let result = '(none)'
    if (node != null) {
      const url = node.callFrame.url
      if (url !== '' && !url.startsWith('node:') && !url.startsWith('wasm:')) {
        result = frameName(node.callFrame)
      } else {
        const up = parent.get(id)
        result = up == null ? (node.callFrame.url === '' ? node.callFrame.functionName : '(none)') : origin(up)
      }
    }
    origins.set(id, result)
    return result
  }
  const resolve = (id: number): { layer: Layer, fn: string } => {
    const hit = resolved.get(id)
    if (hit != null) return hit
    const node = byId.get(id)
    if (node == null) return { layer: 'V8/native other ((program))', fn: '(unknown)' }
    const own = layerOf(node.callFrame)
    const name = frameName(node.callFrame)
    let result: { layer: Layer, fn: string }
    if (own != null) {
      result = { layer: own, fn: name }
    } else {
      const up = parent.get(id)
      const caller = up == null ? undefined : resolve(up)
      result = { layer: caller?.layer ?? 'V8/native other ((program))', fn: caller == null ? name : `${name} ← ${caller.fn}` }
    }
    resolved.set(id, result)
    return result
  }
  let t = profile.startTime
  acc.profiles++
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    // a sample stands for the time until the next one
    const dur = (profile.timeDeltas[i + 1] ?? 0) / 1000
    if (windows != null && !windows.some(w => t >= w.from && t <= w.to)) continue
    const id = profile.samples[i]
    if (id == null) continue
    const { layer, fn } = resolve(id)
    acc.samples++
    acc.layers.set(layer, (acc.layers.get(layer) ?? 0) + dur)
    const from = origin(id)
    const key = `${fn}${from === fn || fn.startsWith(`${from} `) ? '' : `  ⇐ ${from}`}\u0000${layer}`
    acc.fns.set(key, (acc.fns.get(key) ?? 0) + dur)
    if (!from.startsWith('(')) {
      const pkg = packageOf(from)
      acc.origins.set(pkg, (acc.origins.get(pkg) ?? 0) + dur)
    }
  }
}

/** Running totals of `addProfile()`. */
export interface Accumulated {
  layers: Map<Layer, number>
  fns: Map<string, number>
  /** self time by the package or p2pstore file of the nearest frame that is not node's own */
  origins: Map<string, number>
  profiles: number
  samples: number
}

export function accumulator (): Accumulated {
  return { layers: new Map(), fns: new Map(), origins: new Map(), profiles: 0, samples: 0 }
}

/** The summary of what `acc` holds, with the `top` hottest functions. */
export function summary (acc: Accumulated, top = 25): Summary {
  const layers = Object.fromEntries(LAYERS.map(l => [l, round(acc.layers.get(l) ?? 0)])) as Record<Layer, number>
  const totalMs = round([...acc.layers.values()].reduce((a, b) => a + b, 0))
  const fns = [...acc.fns].map(([key, ms]) => {
    const [fn = '', layer = 'node other'] = key.split('\u0000')
    return { fn, layer: layer as Layer, ms: round(ms) }
  }).sort((a, b) => b.ms - a.ms).slice(0, top)
  const origins = [...acc.origins].map(([origin, ms]) => ({ origin, ms: round(ms) })).sort((a, b) => b.ms - a.ms).slice(0, top)
  return { totalMs, layers, top: fns, origins, profiles: acc.profiles, samples: acc.samples }
}

/** `@scope/name` or `name` of a package frame, the file of a p2pstore frame, the name of the others. */
export function packageOf (frameLabel: string): string {
  const m = /\(([^()]*):\d+\)$/.exec(frameLabel)
  if (m?.[1] == null) return frameLabel
  const file = m[1]
  if (/^(dist\/)?src\//.test(file)) return `p2pstore ${file.replace(/^dist\//, '').replace(/\.js$/, '.ts')}`
  const parts = file.split('/')
  return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : parts[0] ?? file
}

/** `name (file:line)`, with the path shortened to the package or the repository's folder. */
export function frameName (frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
  if (frame.url === '') return name
  const url = frame.url.replace(/^file:\/\//, '')
  const nm = url.lastIndexOf('node_modules/')
  const short = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(/^.*?\/((dist\/)?src\/)/, '$1')
  return `${name} (${short}:${frame.lineNumber + 1})`
}

function round (x: number): number {
  return Math.round(x * 10) / 10
}

/** The summary as text: the layers (ms and % of all, % of busy = all but idle), then the top functions. */
export function renderSummary (s: Summary, title: string): string {
  const idle = s.layers.idle
  const busy = s.totalMs - idle
  const pct = (ms: number, of: number): string => of > 0 ? `${(100 * ms / of).toFixed(1)} %` : '–'
  const lines = [`${title}: ${s.profiles} profile(s), ${s.samples} samples, ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (not idle)`]
  lines.push(`  ${'layer'.padEnd(58)}${'self ms'.padStart(10)}${'of all'.padStart(9)}${'of busy'.padStart(9)}`)
  for (const layer of [...LAYERS].sort((a, b) => s.layers[b] - s.layers[a])) {
    if (s.layers[layer] === 0) continue
    lines.push(`  ${layer.padEnd(58)}${s.layers[layer].toFixed(1).padStart(10)}${pct(s.layers[layer], s.totalMs).padStart(9)}${(layer === 'idle' ? '' : pct(s.layers[layer], busy)).padStart(9)}`)
  }
  lines.push(`  top ${s.top.length} functions by self time (% of busy):`)
  for (const { fn, layer, ms } of s.top) {
    if (layer !== 'idle') lines.push(`  ${ms.toFixed(1).padStart(9)} ms ${pct(ms, busy).padStart(7)}  ${fn}  [${layer.replace(/ \(.*$/, '')}]`)
  }
  lines.push('  self time by the package or p2pstore file of the nearest non-node frame (who caused node\'s built-in work; % of busy):')
  for (const { origin, ms } of s.origins) lines.push(`  ${ms.toFixed(1).padStart(9)} ms ${pct(ms, busy).padStart(7)}  ${origin}`)
  return lines.join('\n') + '\n'
}

/** Every `.cpuprofile` file of `paths` (directories searched recursively). */
export function profileFiles (paths: string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      out.push(...profileFiles(readdirSync(p).map(f => path.join(p, f)).filter(f => statSync(f).isDirectory() || f.endsWith('.cpuprofile'))))
    } else {
      out.push(p)
    }
  }
  return out.sort()
}

/** Summarizes `files` over `windows` (every sample when undefined). */
export function summarizeFiles (files: string[], windows?: Window[], top = 25): Summary {
  const acc = accumulator()
  for (const f of files) addProfile(acc, JSON.parse(readFileSync(f, 'utf8')) as CpuProfile, windows)
  return summary(acc, top)
}

const USAGE = 'usage: node --import tsx test/bench/profile.ts FILE|DIR… [--window NAME (from DIR/windows.json)] [--from US --to US] [--top 25] [--json]\n'

function main (argv: string[]): number {
  let values, positionals
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, window: { type: 'string' }, top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }))
  } catch (err) {
    process.stderr.write(`profile: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (values.help || positionals.length === 0) {
    process.stderr.write(USAGE)
    return values.help ? 0 : 2
  }
  let window: Window[] | undefined
  if (values.window != null) {
    const file = path.join(positionals[0] ?? '.', 'windows.json')
    const windows = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Window[]>
    window = windows[values.window]
    if (window == null) {
      process.stderr.write(`profile: no window '${values.window}' in ${file} (has: ${Object.keys(windows).join(', ')})\n`)
      return 2
    }
  } else if (values.from != null || values.to != null) {
    window = [{ from: Number(values.from ?? 0), to: Number(values.to ?? Number.MAX_SAFE_INTEGER) }]
  }
  const files = profileFiles(positionals)
  if (files.length === 0) {
    process.stderr.write(`profile: no .cpuprofile files in ${positionals.join(' ')}\n`)
    return 1
  }
  const s = summarizeFiles(files, window, Number(values.top))
  process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : renderSummary(s, `${positionals.join(' ')}${values.window == null ? '' : ` (window ${values.window})`}`))
  return 0
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2))
