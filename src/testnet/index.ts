/**
 * Test nets: `createTestnet(n)` builds n real peers in this process, over real libp2p connections on
 * 127.0.0.1, joined through the first one; `ProcessTestnet` (see `processes/`, behind
 * `p2pstore testnet`) runs n daemons as child processes.
 *
 * @packageDocumentation
 */

import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { prefixLogger } from '@libp2p/logger'
import { PROFILES, TESTNET_JOIN_TIMEOUT, second } from '../constants.ts'
import { TestnetError } from '../errors.ts'
import { createPeer } from '../peer.ts'
import { pollUntil } from '../util/index.ts'
import { addTestnetMembers, testnetCredentials } from './credentials.ts'
import type { TestnetCredentials } from './credentials.ts'
import type { PeerInit } from '../config.ts'
import type { Peer } from '../peer.ts'
import type { AbortOptions } from '@libp2p/interface'

export { ProcessTestnet } from './processes/index.ts'
export { writeTestnetCredentials } from './credentials.ts'
export type { TestnetCredentials } from './credentials.ts'
export type { ProcessTestnetInit, ProcessTestnetPeer, TestnetProgress } from './processes/index.ts'

/** Loopback range every test net allows past the per-host inbound connection rate limit. */
export const LOOPBACK_ALLOW = '/ip4/127.0.0.0/ipcidr/8'

/** Test nets refresh their Kademlia view often so that simultaneous joins settle in seconds. */
export const TESTNET_DHT_REFRESH_INTERVAL = 5 * second

/** Options of `createTestnet()`. */
export interface TestnetInit {
  /**
   * Directory holding one data dir per peer (`peer-0`, `peer-1`, …). Reusing one restarts the same
   * peers with the same identities.
   *
   * @default a new temporary directory, removed by `teardown()`
   */
  dir?: string

  /**
   * Called with `teardown` before anything is started, so that a test can register it with its
   * runner first (`onTeardown: fn => cleanups.push(fn)`) and never leaks peers, even when creating
   * the net fails half-way.
   */
  onTeardown?(teardown: () => Promise<void>): void

  /**
   * Wait until every peer knows every other before resolving.
   *
   * @default true
   */
  waitForMesh?: boolean

  /** @default 120_000 */
  joinTimeout?: number

  /**
   * Run an open network (no roster: anyone who reaches a peer may read and write). By default a
   * test net is closed: an operator key is made and every peer is on its signed roster.
   *
   * @default false
   */
  open?: boolean

  /** Extra settings for every peer (swarm key, intervals…); `dataDir`, `listen` and `bootstrap` are set by the test net. */
  peer?: Omit<PeerInit, 'dataDir' | 'listen' | 'bootstrap'>

  /** Zones given round-robin: peer i gets `zones[i % zones.length]`. @default none */
  zones?: string[]

  /** Capacity weight of peer i (`capacities[i]`; peers past the list get the default). @default 1 each */
  capacities?: number[]
}

/** A running in-process test net. */
export interface Testnet {
  /** the peers, `peers[0]` being everyone's bootstrap peer */
  peers: Peer[]
  /** directory of the peers' data dirs */
  dir: string
  /** the operator key and current roster of a closed test net (undefined when `open`) */
  credentials?: TestnetCredentials
  /** data dir of peer `i` */
  dataDir(i: number): string
  /**
   * Starts one more peer with the test net's settings, joined through a peer that is running:
   * with `index` it restarts peer `index` on its data dir (same identity and data), without one
   * it adds a new peer. It is stopped by `teardown()`; `peers` is left as it is.
   */
  startPeer(index?: number, init?: PeerInit): Promise<Peer>
  /** stops every peer and removes the directory if the test net created it; idempotent */
  teardown(): Promise<void>
}

/**
 * Starts `n` peers on 127.0.0.1 (any free port), the first one the bootstrap peer of the rest.
 *
 * @example
 * ```ts
 * const net = await createTestnet(5, { onTeardown: fn => cleanups.push(fn) })
 * const status = await net.peers[3].status()
 * await net.teardown()
 * ```
 */
export async function createTestnet (n: number, init: TestnetInit = {}): Promise<Testnet> {
  if (!Number.isInteger(n) || n < 1) throw new TestnetError(`a test net needs at least 1 peer, got ${n}`)

  const ownsDir = init.dir == null
  const dir = init.dir ?? await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-testnet-'))
  const peers: Peer[] = []
  const started: Peer[] = []
  let tornDown: Promise<void> | undefined
  const teardown = async (): Promise<void> => {
    tornDown ??= (async () => {
      await Promise.allSettled([...peers, ...started].map(async p => { await p.stop() }))
      if (ownsDir) await fs.rm(dir, { recursive: true, force: true })
    })()
    return tornDown
  }
  init.onTeardown?.(teardown)

  const dataDir = (i: number): string => path.join(dir, `peer-${i}`)
  // closed by default: every peer's identity first, then one roster naming them all
  let credentials = init.open === true ? undefined : await testnetCredentials(Array.from({ length: n }, (_, i) => dataDir(i)))
  const peerInit = (i: number, bootstrap: string[]): PeerInit => ({
    ...(credentials == null ? { open: true } : { roster: credentials.roster.bytes, network: credentials.roster.network }),
    dhtRefreshInterval: TESTNET_DHT_REFRESH_INTERVAL,
    bootstrapRetryMin: 200,
    bootstrapRetryMax: 2 * second,
    logger: prefixLogger(`peer-${i}`),
    ...PROFILES.testnet,
    ...init.peer,
    ...(init.zones == null || init.zones.length === 0 ? {} : { zone: init.zones[i % init.zones.length] }),
    ...(init.capacities?.[i] == null ? {} : { capacity: init.capacities[i] }),
    allow: [LOOPBACK_ALLOW, ...(init.peer?.allow ?? [])],
    dataDir: dataDir(i),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap
  })

  try {
    const first = await createPeer(peerInit(0, []))
    peers.push(first)
    const bootstrap = first.getMultiaddrs().map(ma => ma.toString())
    const rest = await Promise.all(Array.from({ length: n - 1 }, async (_, i) => {
      const peer = await createPeer(peerInit(i + 1, bootstrap))
      peers.push(peer)
      return peer
    }))
    // keep peers in index order whatever order they started in
    peers.splice(0, peers.length, first, ...rest)

    if (init.waitForMesh ?? true) {
      await waitForFullMesh(peers, { signal: AbortSignal.timeout(init.joinTimeout ?? TESTNET_JOIN_TIMEOUT) })
    }
  } catch (err) {
    await teardown()
    throw err
  }

  let added = n
  const startPeer = async (index?: number, extra: PeerInit = {}): Promise<Peer> => {
    if (tornDown != null) throw new TestnetError('the test net was torn down')
    const through = [...started, ...peers].find(p => p.isStarted)
    if (through == null) throw new TestnetError('no running peer to join through')
    const i = index ?? added++
    if (credentials != null && index == null) {
      // a new peer: the operator adds it to the roster, and the running peers learn it first
      credentials = await addTestnetMembers(credentials, [{ dir: dataDir(i), label: `peer-${i}` }])
      net.credentials = credentials
      const roster = credentials.roster
      await Promise.all([...started, ...peers].filter(p => p.isStarted).map(async p => { await p.updateRoster(roster.bytes).catch(() => {}) }))
    }
    const peer = await createPeer({ ...peerInit(i, through.getMultiaddrs().map(ma => ma.toString())), ...extra })
    started.push(peer)
    return peer
  }

  const net: Testnet = { peers, dir, credentials, dataDir, startPeer, teardown }
  return net
}

/**
 * Resolves once every peer sees every other as an `alive` member (so every member view, and with
 * it placement, is complete). Rejects with `TestnetError` naming the peers still missing when
 * `options.signal` fires.
 */
export async function waitForFullMesh (peers: Peer[], options: AbortOptions = {}): Promise<void> {
  const ids = peers.map(p => p.peerId.toString())
  let missing: string[] = []
  await pollUntil(async () => {
    missing = []
    for (const [i, peer] of peers.entries()) {
      const known = new Set((await peer.peers(options)).filter(p => p.state === 'alive').map(p => p.peerId))
      const lacking = ids.filter(id => id !== ids[i] && !known.has(id))
      if (lacking.length > 0) missing.push(`peer-${i} lacks ${lacking.length}`)
    }
    return missing.length === 0
  }, { interval: 100, signal: options.signal, error: () => new TestnetError(`test net did not settle: ${missing.join(', ')}`) })
}
