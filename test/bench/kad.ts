/**
 * kad-dht `put`/`get` for comparison with p2pstore.
 *
 * A p2pstore peer runs kad-dht under `/p2pstore/kad/1.0.0` but configures no validator or selector
 * of its own, so its DHT accepts only kad-dht's built-in `/pk/` records (a key `/pk/<multihash of a
 * public key>` whose value must be exactly that public key) — no values of our sizes. Hence two
 * measurements:
 *
 * - the main one on a net of plain libp2p nodes built like p2pstore's (`nodes.ts`) plus a validator
 *   and selector for `/p2pstore-bench/`, storing the same value sizes as the p2pstore scenarios;
 * - a cross-check on the p2pstore peers' own DHT with `/pk/` records (36-byte Ed25519 keys).
 *
 * `dht.put` does not throw when remote peers reject a record (QUERY_ERROR events), and `dht.get` of
 * a missing key ends without a value: both are counted.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { PROTOCOL_KAD } from '../../src/constants.ts'
import { createKadNode, BENCH_NAMESPACE } from './nodes.ts'
import { VALUE_SIZES } from './p2pstore.ts'
import { forEachLimit, MissError } from './scenario.ts'
import { runLoad } from './stats.ts'
import type { KadServices } from './nodes.ts'
import type { SizeLabel } from './p2pstore.ts'
import type { Scenario } from './scenario.ts'
import type { RunResult } from './stats.ts'
import type { Peer } from '../../src/peer.ts'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

/** Deadline of one kad-dht put or get (a full Kademlia walk; seconds at 50 peers). */
const OP_TIMEOUT = 30_000

/** Deadline of one dial while the kad net is meshed. */
const DIAL_TIMEOUT = 10_000

/** Dials at once while the kad net is meshed. */
const MESH_CONCURRENCY = 8

/** How often a settling kad net is checked (and its missing pairs repaired). */
const SETTLE_POLL = 1_000

/** Bytes of an Ed25519 public key in libp2p's protobuf: the value of every `/pk/` record. */
export const PK_VALUE_BYTES = 36

/** kad-dht's put reached no remote peer: nothing but the local copy was stored. */
export class NotStoredError extends Error {
  override name = 'NotStoredError'
}

/** What a put or get through kad-dht counted besides its latency. */
interface KadCounters {
  /** QUERY_ERROR events: a peer failed to answer, or rejected the record */
  queryErrors: number
  /** PUT_VALUE responses that echoed the record back: remote copies stored */
  remoteCopies: number
}

/** `dht.put`, draining its events; throws `NotStoredError` when no remote peer stored it. */
export async function kadPut (dht: Pick<KadDHT, 'put'>, key: Uint8Array, value: Uint8Array, signal: AbortSignal, counters: KadCounters): Promise<void> {
  let copies = 0
  for await (const event of dht.put(key, value, { signal })) {
    if (event.name === 'QUERY_ERROR') counters.queryErrors++
    else if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') copies++
  }
  counters.remoteCopies += copies
  if (copies === 0) throw new NotStoredError('kad-dht put stored no remote copy')
}

/** `dht.get`, draining its events (the call as an application makes it); throws `MissError` without a value. */
export async function kadGet (dht: Pick<KadDHT, 'get'>, key: Uint8Array, signal: AbortSignal, counters: KadCounters): Promise<void> {
  let found = false
  for await (const event of dht.get(key, { signal })) {
    if (event.name === 'VALUE') found = true
    else if (event.name === 'QUERY_ERROR') counters.queryErrors++
  }
  if (!found) throw new MissError('kad-dht get ended without a value')
}

/** A running net of kad-dht nodes. */
export interface KadNet {
  nodes: Array<Libp2p<KadServices>>
  /** how it settled: ms from the first start until every node had every other in its peer store as a kad-dht server */
  settle: { ms: number, meshDialFailures: number }
  /** stops every node; idempotent */
  teardown(): Promise<void>
}

/** Options of `startKadNet()`. */
export interface KadNetInit {
  querySelfInterval: number
  settleTimeoutMs: number
  /** receives the teardown before anything starts */
  onTeardown(teardown: () => Promise<void>): void
}

/**
 * Starts `n` kad-dht nodes on loopback and connects every pair, so that every routing table holds
 * every node it has room for — the most favourable state for kad-dht (every lookup hop is an open
 * connection), and the same state a settled p2pstore net is measured in (every member known).
 */
export async function startKadNet (n: number, init: KadNetInit): Promise<KadNet> {
  const nodes: Array<Libp2p<KadServices>> = []
  let stopped: Promise<void> | undefined
  const teardown = async (): Promise<void> => {
    stopped ??= Promise.allSettled(nodes.map(async node => { await node.stop() })).then(() => {})
    return stopped
  }
  init.onTeardown(teardown)
  const began = performance.now()
  await forEachLimit(Array.from({ length: n }, (_, i) => i), 10, async () => {
    nodes.push(await createKadNode({ querySelfInterval: init.querySelfInterval }))
  })
  const pairs = nodes.flatMap((a, i) => nodes.slice(i + 1).map(b => [a, b] as const))
  let meshDialFailures = 0
  await forEachLimit(pairs, MESH_CONCURRENCY, async ([a, b]) => {
    await a.dial(b.getMultiaddrs(), { signal: AbortSignal.timeout(DIAL_TIMEOUT) }).catch(() => { meshDialFailures++ })
  })
  const deadline = began + init.settleTimeoutMs
  for (;;) {
    const lacking = await kadLacking(nodes)
    if (lacking.length === 0) break
    if (performance.now() > deadline) throw new Error(`kad-dht net of ${n} did not settle within ${init.settleTimeoutMs} ms: ${lacking.length} node pairs still unknown`)
    await sleep(SETTLE_POLL)
    // a dial that failed (a busy process) is retried; a connection whose identify failed is identified again
    await forEachLimit(await kadLacking(nodes), MESH_CONCURRENCY, async ([a, b]) => {
      const signal = AbortSignal.timeout(DIAL_TIMEOUT)
      const conn = a.getConnections(b.peerId)[0] ?? await a.dial(b.getMultiaddrs(), { signal }).catch(() => undefined)
      if (conn != null) await a.services.identify.identify(conn, { signal }).catch(() => {})
    })
  }
  return { nodes, settle: { ms: Math.round(performance.now() - began), meshDialFailures }, teardown }
}

/** Every (node, other node) pair where the node's peer store lacks the other as a kad-dht server. */
async function kadLacking (nodes: Array<Libp2p<KadServices>>): Promise<Array<[Libp2p<KadServices>, Libp2p<KadServices>]>> {
  const lacking = await Promise.all(nodes.map(async node => {
    const known = new Set((await node.peerStore.all({ filters: [p => p.protocols.includes(PROTOCOL_KAD)] })).map(p => p.id.toString()))
    return nodes.filter(other => other !== node && !known.has(other.peerId.toString())).map(other => [node, other] as [Libp2p<KadServices>, Libp2p<KadServices>])
  }))
  return lacking.flat()
}

/** Options of `kadScenarios()`. */
export interface KadScenariosInit {
  /** keys per get size, written (by another node) before the measurements, read round-robin */
  getKeys: number
  timeLimitMs: number
  /** prefix of every key, unique per benchmark run */
  prefix: string
}

/** kad-dht put/get scenarios by value size, plus their preload. */
export interface KadScenarios {
  put: Map<SizeLabel, Scenario>
  get: Map<SizeLabel, Scenario>
  preload(size: SizeLabel, options: { signal: AbortSignal }): Promise<void>
}

/**
 * Scenarios on the bench net: node 1 puts fresh keys and gets keys that node 2 put (with k = 20
 * and at most a few dozen nodes, kad-dht stores a record on nearly every node, node 1 included; a
 * get still walks the DHT, as `dht.get` always does).
 */
export function kadScenarios (net: KadNet, init: KadScenariosInit): KadScenarios {
  const client = net.nodes[1] ?? net.nodes[0]
  const writer = net.nodes[2] ?? net.nodes[0]
  if (client == null || writer == null) throw new Error('kad scenarios need a net with nodes')
  const dht = client.services.dht
  const put = new Map<SizeLabel, Scenario>()
  const get = new Map<SizeLabel, Scenario>()
  const preloaded = new Map<SizeLabel, Uint8Array[]>()
  const key = (kind: string, size: SizeLabel, i: number): Uint8Array => new TextEncoder().encode(`/${BENCH_NAMESPACE}/${init.prefix}/${kind}/${size}/${i}`)
  for (const size of Object.keys(VALUE_SIZES) as SizeLabel[]) {
    const value = randomBytes(VALUE_SIZES[size])
    let putCounter = 0
    put.set(size, {
      id: `kadDht.put.${size}`,
      run: async (inFlight, count) => withCounters(async counters => runLoad(async (_, signal) => {
        await kadPut(dht, key('put', size, putCounter++), value, signal, counters)
      }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT }))
    })
    get.set(size, {
      id: `kadDht.get.${size}`,
      run: async (inFlight, count) => {
        const keys = preloaded.get(size)
        if (keys == null || keys.length === 0) throw new Error(`kad get ${size} ran before its keys were preloaded`)
        return withCounters(async counters => runLoad(async (i, signal) => {
          await kadGet(dht, keys[i % keys.length] ?? keys[0] ?? new Uint8Array(), signal, counters)
        }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT }))
      }
    })
  }
  return {
    put,
    get,
    preload: async (size, options) => {
      const value = randomBytes(VALUE_SIZES[size])
      const keys = Array.from({ length: init.getKeys }, (_, i) => key('get', size, i))
      const counters = { queryErrors: 0, remoteCopies: 0 }
      await forEachLimit(keys, 4, async k => { await kadPut(writer.services.dht, k, value, anySignal(options.signal, OP_TIMEOUT), counters) })
      preloaded.set(size, keys)
    }
  }
}

/**
 * The cross-check on the p2pstore peers' own DHT: `/pk/` records (the only namespace it accepts),
 * put by `client` (fresh key pairs) and read by `client` after `writer` put them.
 */
export function pkScenarios (client: Peer, writer: Peer, init: KadScenariosInit): { put: Scenario, get: Scenario, preload(options: { signal: AbortSignal }): Promise<void> } {
  const dht = client.libp2p.services.dht
  let preloaded: Uint8Array[] = []
  return {
    put: {
      id: 'kadDht.put.samePeersPk36B',
      run: async (inFlight, count) => {
        // key pairs are made before the clock starts
        const records = await pkRecords(count)
        return withCounters(async counters => runLoad(async (i, signal) => {
          const record = records[i]
          if (record == null) throw new RangeError(`no record ${i}`)
          await kadPut(dht, record.key, record.value, signal, counters)
        }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT }))
      }
    },
    get: {
      id: 'kadDht.get.samePeersPk36B',
      run: async (inFlight, count) => {
        if (preloaded.length === 0) throw new Error('pk get ran before its keys were preloaded')
        const keys = preloaded
        return withCounters(async counters => runLoad(async (i, signal) => {
          await kadGet(dht, keys[i % keys.length] ?? new Uint8Array(), signal, counters)
        }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT }))
      }
    },
    preload: async options => {
      const records = await pkRecords(init.getKeys)
      const counters = { queryErrors: 0, remoteCopies: 0 }
      await forEachLimit(records, 4, async r => { await kadPut(writer.libp2p.services.dht, r.key, r.value, anySignal(options.signal, OP_TIMEOUT), counters) })
      preloaded = records.map(r => r.key)
    }
  }
}

/** `count` valid `/pk/` records: key `/pk/<multihash of a new Ed25519 public key>`, value that key. */
async function pkRecords (count: number): Promise<Array<{ key: Uint8Array, value: Uint8Array }>> {
  return Promise.all(Array.from({ length: count }, async () => {
    const { publicKey } = await generateKeyPair('Ed25519')
    return { key: concat(new TextEncoder().encode('/pk/'), publicKey.toMultihash().bytes), value: publicKeyToProtobuf(publicKey) }
  }))
}

/** What a p2pstore peer's DHT did with a record of one namespace. */
export interface NamespaceProbe {
  namespace: string
  /** remote peers that stored the record */
  remoteCopies: number
  /** QUERY_ERROR events of the put (rejections by remote peers, among others) */
  queryErrors: number
  /** the first rejection's message */
  firstError?: string
  /** whether another peer's `dht.get` found the value */
  readBack: boolean
}

/**
 * Puts one record in each namespace through `writer`'s DHT and reads it back through `reader`'s:
 * shows which namespaces a p2pstore peer's kad-dht accepts as it is configured in `src/peer.ts`.
 */
export async function probeNamespaces (writer: Peer, reader: Peer): Promise<NamespaceProbe[]> {
  const [pk] = await pkRecords(1)
  const tag = randomBytes(4).toString('hex')
  const records = [
    { namespace: BENCH_NAMESPACE, key: new TextEncoder().encode(`/${BENCH_NAMESPACE}/probe-${tag}`), value: randomBytes(100) },
    { namespace: 'ipns', key: new TextEncoder().encode(`/ipns/probe-${tag}`), value: randomBytes(100) },
    ...(pk == null ? [] : [{ namespace: 'pk', ...pk }])
  ]
  const probes: NamespaceProbe[] = []
  for (const { namespace, key, value } of records) {
    const probe: NamespaceProbe = { namespace, remoteCopies: 0, queryErrors: 0, readBack: false }
    for await (const event of writer.libp2p.services.dht.put(key, value, { signal: AbortSignal.timeout(OP_TIMEOUT) })) {
      if (event.name === 'QUERY_ERROR') {
        probe.queryErrors++
        probe.firstError ??= event.error.message
      } else if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
        probe.remoteCopies++
      }
    }
    try {
      await kadGet(reader.libp2p.services.dht, key, AbortSignal.timeout(OP_TIMEOUT), { queryErrors: 0, remoteCopies: 0 })
      probe.readBack = true
    } catch (err) {
      probe.firstError ??= (err as Error).message
    }
    probes.push(probe)
  }
  return probes
}

/** Runs `fn` with fresh counters and attaches them to its result. */
async function withCounters (fn: (counters: KadCounters) => Promise<RunResult>): Promise<RunResult> {
  const counters: KadCounters = { queryErrors: 0, remoteCopies: 0 }
  const run = await fn(counters)
  return { ...run, counters: { ...counters } }
}

/**
 * `signal` joined with a deadline of `ms`. kad-dht adds a listener to an operation's signal per
 * query path and peer, past Node's warning threshold of 10 at 50 nodes: not a leak.
 */
function anySignal (signal: AbortSignal, ms: number): AbortSignal {
  const joined = AbortSignal.any([signal, AbortSignal.timeout(ms)])
  setMaxListeners(Infinity, joined)
  return joined
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}
