/**
 * p2pstore under load: an in-process test net with production (or test-net) timings, keys chosen so
 * that the client peer is, or is not, one of their home replicas, put/get scenarios, the time a
 * newly started peer takes to be known by every other, and disk bytes per stored KiB.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { prefixLogger } from '@libp2p/logger'
import { ANTI_ENTROPY_INTERVAL, DEFAULT_N, GOSSIP_DEFAULT, HANDOFF_INTERVAL, QUERY_SELF_INTERVAL } from '../../src/constants.ts'
import { createPeer } from '../../src/peer.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { dirBytes } from './resources.ts'
import { forEachLimit, MissError } from './scenario.ts'
import { runLoad } from './stats.ts'
import type { Scenario } from './scenario.ts'
import type { PeerInit } from '../../src/config.ts'
import type { Peer } from '../../src/peer.ts'
import type { Testnet, TestnetInit } from '../../src/testnet/index.ts'

/**
 * Background timings of the peers: `production` = a daemon's defaults (SWIM probe every second,
 * anti-entropy every 30 s, handoff every 10 s, Kademlia refresh every 5 min); `testnet` = what
 * `createTestnet()` uses so that tests settle fast (5× faster probing, 2 s anti-entropy, 5 s refresh).
 * Every peer of an in-process net runs its background work on the one event loop, so the choice
 * weighs on the latencies.
 */
export type Timings = 'production' | 'testnet'

/** The value sizes the benchmark stores. */
export const VALUE_SIZES = { '100B': 100, '10KiB': 10 * 1024 } as const

/** A value size label. */
export type SizeLabel = keyof typeof VALUE_SIZES

/** Where the client peer stands for a key: one of its N home replicas, or not. */
export type Role = 'nonReplica' | 'replica'

/** A put/get variant, e.g. `nonReplica100B`. */
export type Variant = `${Role}${SizeLabel}`

/** Every variant, the headline one (`nonReplica100B`) first. */
export const VARIANTS: Array<{ variant: Variant, role: Role, size: SizeLabel }> = [
  { variant: 'nonReplica100B', role: 'nonReplica', size: '100B' },
  { variant: 'replica100B', role: 'replica', size: '100B' },
  { variant: 'nonReplica10KiB', role: 'nonReplica', size: '10KiB' },
  { variant: 'replica10KiB', role: 'replica', size: '10KiB' }
]

/** Deadline of one put or get (the coordinator's own client deadline is 10 s). */
const OP_TIMEOUT = 15_000

/** How often the member views are checked while a net settles. */
const SETTLE_POLL = 250

/** How often membership is polled while a new peer joins. */
const JOIN_POLL_INTERVAL = 50

/** The `peer` settings of `createTestnet()` for `timings`. */
export function timingsInit (timings: Timings): TestnetInit['peer'] {
  if (timings === 'testnet') return {}
  return {
    gossip: GOSSIP_DEFAULT,
    dhtRefreshInterval: QUERY_SELF_INTERVAL,
    handoffInterval: HANDOFF_INTERVAL,
    antiEntropyInterval: ANTI_ENTROPY_INTERVAL
  }
}

/** Options of `startStoreNet()`. */
export interface StoreNetInit {
  timings: Timings
  /** how long every peer may take to see every other alive */
  settleTimeoutMs: number
  /** receives the net's teardown before anything starts */
  onTeardown(teardown: () => Promise<void>): void
  /** fsync every write (the daemon's default). @default true */
  sync?: boolean
}

/**
 * An in-process p2pstore test net on loopback, settled: every peer sees every other `alive` — the
 * condition of `createTestnet()`'s own wait, checked here on the member views directly, because
 * `waitForFullMesh()` polls `peer.peers()` (a peer-store read per member: n² reads every 100 ms),
 * which at 50 peers is itself a large part of the event loop's load.
 */
export async function startStoreNet (n: number, init: StoreNetInit): Promise<Testnet> {
  // open: the join trial adds newcomers that no roster names (admission costs one set lookup per connection)
  const net = await createTestnet(n, { open: true, waitForMesh: false, peer: { ...timingsInit(init.timings), sync: init.sync ?? true }, onTeardown: init.onTeardown })
  const deadline = performance.now() + init.settleTimeoutMs
  for (;;) {
    const alive = net.peers.map(peer => peer.membership.members().filter(m => m.state === 'alive').length)
    if (alive.every(a => a === n - 1)) return net
    if (performance.now() > deadline) {
      const incomplete = alive.filter(a => a < n - 1).length
      throw new Error(`${n} peers did not settle within ${init.settleTimeoutMs / 1000} s: ${incomplete} peers see fewer than ${n - 1} others alive (min ${Math.min(...alive)}, mean ${(alive.reduce((a, b) => a + b, 0) / n).toFixed(1)})`)
    }
    await sleep(SETTLE_POLL)
  }
}

/** Whether `client` is one of the N home replicas of `key` in its own member view. */
export function isHomeReplica (client: Peer, key: Uint8Array, n = DEFAULT_N): boolean {
  return client.placement.fromView(key, n).some(p => p.peerId.equals(client.peerId))
}

/** Fresh keys `prefix/<i>` for which `client` has `role`; unbounded, each key handed out once. */
export class KeyPool {
  private readonly client: Peer
  private readonly role: Role
  private readonly prefix: string
  private counter = 0

  constructor (client: Peer, role: Role, prefix: string) {
    this.client = client
    this.role = role
    this.prefix = prefix
  }

  /** The next key with the wanted role. */
  next (): Uint8Array {
    for (;;) {
      const key = new TextEncoder().encode(`${this.prefix}/${this.counter++}`)
      if (isHomeReplica(this.client, key) === (this.role === 'replica')) return key
    }
  }

  /** `count` keys at once. */
  take (count: number): Uint8Array[] {
    return Array.from({ length: count }, () => this.next())
  }
}

/** Options of `storeScenarios()`. */
export interface StoreScenariosInit {
  /** the peer every request goes through */
  client: Peer
  /** keys per get variant, written before the measurements and then read round-robin */
  getKeys: number
  /** a run stops starting operations after this many ms */
  timeLimitMs: number
  /** prefix of every key, unique per benchmark run */
  prefix: string
}

/** The put and get scenarios of every variant, plus the keys preloaded for the gets. */
export interface StoreScenarios {
  put: Map<Variant, Scenario>
  get: Map<Variant, Scenario>
  /** writes the keys the gets read; call once before the first get run */
  preload(variant: Variant, options: { signal: AbortSignal }): Promise<{ keys: number, valueBytes: number }>
}

/**
 * Builds put scenarios (each put writes a fresh key: a blind write, never a sibling) and get
 * scenarios (reading the preloaded keys round-robin; a read without a live value is a `MissError`).
 */
export function storeScenarios (init: StoreScenariosInit): StoreScenarios {
  const put = new Map<Variant, Scenario>()
  const get = new Map<Variant, Scenario>()
  const preloaded = new Map<Variant, Uint8Array[]>()
  const { client } = init
  for (const { variant, role, size } of VARIANTS) {
    const value = randomBytes(VALUE_SIZES[size])
    const putKeys = new KeyPool(client, role, `${init.prefix}/put/${variant}`)
    put.set(variant, {
      id: `p2pstore.put.${variant}`,
      run: async (inFlight, count) => runLoad(async (_, signal) => {
        await client.put(putKeys.next(), value, { signal })
      }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT })
    })
    get.set(variant, {
      id: `p2pstore.get.${variant}`,
      run: async (inFlight, count) => {
        const keys = preloaded.get(variant)
        if (keys == null || keys.length === 0) throw new Error(`get ${variant} ran before its keys were preloaded`)
        return runLoad(async (i, signal) => {
          const { siblings } = await client.get(keys[i % keys.length] ?? keys[0] ?? new Uint8Array(), { signal })
          if (siblings.length === 0) throw new MissError('get found no live value')
        }, { count, inFlight, timeLimitMs: init.timeLimitMs, opTimeoutMs: OP_TIMEOUT })
      }
    })
  }
  return {
    put,
    get,
    preload: async (variant, options) => {
      const spec = VARIANTS.find(v => v.variant === variant)
      if (spec == null) throw new Error(`unknown variant ${variant}`)
      const keys = new KeyPool(client, spec.role, `${init.prefix}/get/${variant}`).take(init.getKeys)
      const value = randomBytes(VALUE_SIZES[spec.size])
      // 8 at a time: quick, without measuring anything
      await forEachLimit(keys, 8, async key => { await client.put(key, value, { signal: options.signal }) })
      preloaded.set(variant, keys)
      return { keys: keys.length, valueBytes: value.byteLength }
    }
  }
}

/** Bytes under every peer's `<dataDir>/storage`. */
export async function storageBytes (net: Testnet): Promise<number> {
  const sizes = await Promise.all(net.peers.map(async (_, i) => dirBytes(path.join(net.dataDir(i), 'storage'))))
  return sizes.reduce((a, b) => a + b, 0)
}

/** What one join trial saw. */
export interface JoinTrial {
  /** ms from `createPeer()` until every other peer listed the newcomer alive; undefined if not by the deadline */
  allMs?: number
  /** ms until the first other peer did */
  firstMs?: number
  /** how many of the others knew it alive at the end */
  knownBy: number
  others: number
}

/**
 * Starts a new peer with the net's own settings (bootstrapping through peer 0), times until every
 * peer of the net lists it `alive` in its member view, then stops it (a graceful leave), so that
 * the net keeps its size for the next trial.
 */
export async function joinTrial (net: Testnet, trial: number, options: { timeoutMs: number }): Promise<JoinTrial> {
  const template = net.peers[1] ?? net.peers[0]
  const bootstrapPeer = net.peers[0]
  if (template == null || bootstrapPeer == null) throw new Error('join trial on an empty net')
  const began = performance.now()
  const newcomer = await createPeer(newcomerInit(template, {
    dataDir: path.join(net.dir, `joiner-${trial}`),
    logger: prefixLogger(`joiner-${trial}`),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: bootstrapPeer.getMultiaddrs().map(ma => ma.toString())
  }))
  try {
    const id = newcomer.peerId
    const seenAt = new Map<Peer, number>()
    const deadline = began + options.timeoutMs
    while (seenAt.size < net.peers.length && performance.now() < deadline) {
      for (const peer of net.peers) {
        if (seenAt.has(peer)) continue
        if (peer.membership.members().some(m => m.state === 'alive' && m.peerId.equals(id))) seenAt.set(peer, performance.now() - began)
      }
      await sleep(JOIN_POLL_INTERVAL)
    }
    const times = [...seenAt.values()]
    return {
      allMs: seenAt.size === net.peers.length ? Math.max(...times) : undefined,
      firstMs: times.length > 0 ? Math.min(...times) : undefined,
      knownBy: seenAt.size,
      others: net.peers.length
    }
  } finally {
    await newcomer.stop()
  }
}

/**
 * The settings of `template` (a peer of the net, so: the same timings, allow list, quorums and
 * sync policy) for a new peer, with its own data dir, logger, listen and bootstrap addresses.
 */
function newcomerInit (template: Peer, own: Required<Pick<PeerInit, 'dataDir' | 'logger' | 'listen' | 'bootstrap'>>): PeerInit {
  const c = template.config
  return {
    ...own,
    allow: c.allow,
    dialTimeout: c.dialTimeout,
    dhtRefreshInterval: c.dhtRefreshInterval,
    bootstrapRetryMin: c.bootstrapRetryMin,
    bootstrapRetryMax: c.bootstrapRetryMax,
    swarmKey: c.swarmKey,
    open: c.open,
    n: c.n,
    r: c.r,
    w: c.w,
    sync: c.sync,
    gossip: c.gossip,
    handoffInterval: c.handoffInterval,
    antiEntropyInterval: c.antiEntropyInterval
  }
}
