/**
 * Configuration of a peer and of the daemon that runs one: the types (every field optional, with
 * its default), and the one function that merges CLI flags, the data dir's `config.json` and the
 * defaults — in that order of precedence — and validates the result.
 *
 * @packageDocumentation
 */

import fs from 'node:fs/promises'
import { InvalidMultiaddrError, InvalidParametersError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { BOOTSTRAP_RETRY_MAX, BOOTSTRAP_RETRY_MIN, DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_CAPACITY, DEFAULT_LISTEN, DEFAULT_N, DEFAULT_R, DEFAULT_W, MAX_CAPACITY, MAX_N, MAX_ZONE_LENGTH, QUERY_SELF_INTERVAL } from './constants.ts'
import { InvalidConfigurationError } from './errors.ts'
import type { MembershipInit } from './membership/index.ts'
import type { EncryptionInit, Engine } from './storage/index.ts'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Options of `createPeer()`. Every field is optional.
 */
export interface PeerInit {
  /**
   * Data dir holding the peer's identity (and, with storage, its data). Created on first use.
   * Without one the peer gets a fresh identity each run and keeps nothing on disk.
   *
   * @default undefined
   */
  dataDir?: string

  /**
   * The peer's identity. Takes precedence over the one in `dataDir`.
   *
   * @default the data dir's key, or a new Ed25519 key
   */
  privateKey?: PrivateKey

  /**
   * libp2p listen multiaddrs (TCP).
   *
   * @default ['/ip4/0.0.0.0/tcp/0'] (every interface, any free port)
   */
  listen?: string[]

  /**
   * Multiaddrs to announce instead of the listen addresses (behind NAT or a port forward).
   *
   * @default [] (announce what we listen on)
   */
  announce?: string[]

  /**
   * Bootstrap peers to join through. Tried in parallel, retried with exponential backoff while none
   * answers.
   *
   * @default []
   */
  bootstrap?: string[]

  /**
   * Pre-shared swarm key (the contents of a `swarm.key` file, see `p2pstore keygen --swarm-key`).
   * With it the peer only ever completes connections with peers holding the same key (libp2p pnet).
   *
   * @default undefined (public network, Noise only)
   */
  swarmKey?: Uint8Array

  /**
   * The signed roster of the peer's closed network (the bytes of a roster, see `p2pstore roster`
   * and src/roster): only the members it names may connect, and only they are ever replicas.
   * Newer rosters arrive by gossip.
   *
   * @default the data dir's `roster` file, if there is one
   */
  roster?: Uint8Array

  /**
   * The network id to trust (the operator key's peer id, `12D3KooW…`): a peer that holds no roster
   * yet dials its bootstrap peers and adopts the first roster of this network they send.
   *
   * @default the roster's network, or the data dir's `network` file
   */
  network?: string

  /**
   * Run an open network: any libp2p peer that can reach this one may read and write every key.
   * Without a roster, a network id or a swarm key a peer refuses to start unless this is set.
   *
   * @default false
   */
  open?: boolean

  /**
   * Multiaddr ranges (e.g. `/ip4/127.0.0.0/ipcidr/8`) exempt from the per-host inbound connection
   * rate limit. Test nets on loopback need it: every peer there is the same host.
   *
   * @default []
   */
  allow?: string[]

  /**
   * How long one dial may take.
   *
   * @default 10_000
   */
  dialTimeout?: number

  /**
   * How often the Kademlia self-lookup refreshes this peer's view of the key space near it.
   *
   * @default 300_000 (5 minutes)
   */
  dhtRefreshInterval?: number

  /**
   * First delay before the bootstrap peers are tried again when none answered; doubles each time.
   *
   * @default 1_000
   */
  bootstrapRetryMin?: number

  /**
   * Ceiling of the bootstrap retry delay.
   *
   * @default 60_000
   */
  bootstrapRetryMax?: number

  /**
   * Where logs go; test nets pass `prefixLogger('peer-3')`.
   *
   * @default defaultLogger() (enable with DEBUG=p2pstore:*,libp2p:*)
   */
  logger?: ComponentLogger

  /**
   * Replicas per key (Dynamo's N), for requests that do not say.
   *
   * @default 3
   */
  n?: number

  /**
   * Read quorum (Dynamo's R).
   *
   * @default 2
   */
  r?: number

  /**
   * Write quorum (Dynamo's W). R + W > N gives read-your-writes on a healthy network.
   *
   * @default 2
   */
  w?: number

  /**
   * Sync every write to disk before acknowledging it. Turning it off trades crash safety (an
   * acknowledged write may be lost on power failure or kill -9) for speed.
   *
   * @default true
   */
  sync?: boolean

  /**
   * Read records with LevelDB's synchronous get: a read served from memory or the page cache takes
   * microseconds instead of a thread-pool round trip and an event-loop turn (about a quarter of a
   * get's latency under load). Turn it off on slow disks holding far more data than RAM, where a
   * cold read would block the event loop (and with it gossip) for a disk seek.
   *
   * @default true
   */
  syncReads?: boolean

  /**
   * Encryption at rest of the LevelDB in `<dataDir>/storage` (AES-256-GCM; SECURITY.md): the
   * key-encryption key and the rotation schedule of the data keys. Given for a data dir holding
   * plaintext records, start-up encrypts them all first. Ignored with `engine` or without a data dir.
   *
   * @default undefined (values stored in plaintext; an encrypted data dir then fails to start)
   */
  encryption?: EncryptionInit

  /**
   * The storage engine. Without one, a peer with a `dataDir` keeps a LevelDB in `<dataDir>/storage`;
   * a peer without a data dir keeps its data in memory (lost when it stops).
   *
   * @default LevelEngine or MemoryEngine, as above
   */
  engine?: Engine

  /**
   * SWIM gossip timing (probe period and timeout, indirect checks, suspicion multipliers,
   * retransmissions, push-pull period).
   *
   * @default GOSSIP_DEFAULT (memberlist's LAN values: 1 s probes, 500 ms timeout, …)
   */
  gossip?: MembershipInit

  /**
   * This peer's capacity weight: it occupies round(capacity × POSITIONS_PER_CAPACITY) positions
   * in the key space, so its share of the keys follows it. Gossiped with its member record;
   * restarting with another value moves data as a membership change does (issue #15).
   *
   * @default DEFAULT_CAPACITY (1); a positive number up to MAX_CAPACITY (64)
   */
  capacity?: number

  /**
   * This peer's zone (rack, room, site): the N home replicas of every key span min(N, zones)
   * distinct zones. Gossiped with its member record.
   *
   * @default undefined (no zone)
   */
  zone?: string

  /**
   * How often the peer hands off hinted copies and keys it no longer owns.
   *
   * @default HANDOFF_INTERVAL (10 s); test nets use 1 s
   */
  handoffInterval?: number

  /**
   * How often the peer compares Merkle summaries with one other member (anti-entropy).
   *
   * @default ANTI_ENTROPY_INTERVAL (30 s); test nets use 2 s
   */
  antiEntropyInterval?: number

  /**
   * A tombstone is garbage-collected once older than this (and held by every replica).
   *
   * @default TOMBSTONE_GRACE (1 h); test nets use 3 s
   */
  tombstoneGrace?: number

  /**
   * Start the peer before `createPeer()` resolves.
   *
   * @default true
   */
  start?: boolean
}

/** `PeerInit` with every default applied and every address parsed. */
export interface PeerConfig {
  dataDir?: string
  privateKey?: PrivateKey
  listen: string[]
  announce: string[]
  bootstrap: Multiaddr[]
  swarmKey?: Uint8Array
  roster?: Uint8Array
  network?: string
  open: boolean
  allow: string[]
  dialTimeout: number
  dhtRefreshInterval: number
  bootstrapRetryMin: number
  bootstrapRetryMax: number
  logger?: ComponentLogger
  start: boolean
  n?: number
  r?: number
  w?: number
  sync: boolean
  syncReads: boolean
  encryption?: EncryptionInit
  engine?: Engine
  gossip?: MembershipInit
  capacity: number
  zone?: string
  handoffInterval?: number
  antiEntropyInterval?: number
  tombstoneGrace?: number
}

/** Applies defaults to a `PeerInit` and validates it; throws `InvalidConfigurationError` naming the key. */
export function resolvePeerConfig (init: PeerInit = {}): PeerConfig {
  const listen = init.listen ?? ['/ip4/0.0.0.0/tcp/0']
  const announce = init.announce ?? []
  const allow = init.allow ?? []
  for (const [key, list] of [['listen', listen], ['announce', announce], ['allow', allow]] as const) {
    list.forEach(addr => parseMultiaddr(addr, key))
  }
  if (listen.length === 0) {
    throw new InvalidConfigurationError('listen: at least one listen multiaddr is required')
  }

  const config: PeerConfig = {
    dataDir: init.dataDir,
    privateKey: init.privateKey,
    listen,
    announce,
    bootstrap: (init.bootstrap ?? []).map(addr => parseMultiaddr(addr, 'bootstrap')),
    swarmKey: init.swarmKey,
    roster: init.roster,
    network: init.network,
    open: init.open ?? false,
    allow,
    dialTimeout: positiveInt(init.dialTimeout ?? 10_000, 'dialTimeout'),
    dhtRefreshInterval: positiveInt(init.dhtRefreshInterval ?? QUERY_SELF_INTERVAL, 'dhtRefreshInterval'),
    bootstrapRetryMin: positiveInt(init.bootstrapRetryMin ?? BOOTSTRAP_RETRY_MIN, 'bootstrapRetryMin'),
    bootstrapRetryMax: positiveInt(init.bootstrapRetryMax ?? BOOTSTRAP_RETRY_MAX, 'bootstrapRetryMax'),
    logger: init.logger,
    start: init.start ?? true,
    n: init.n,
    r: init.r,
    w: init.w,
    sync: init.sync ?? true,
    syncReads: init.syncReads ?? true,
    encryption: init.encryption,
    engine: init.engine,
    gossip: init.gossip,
    capacity: capacity(init.capacity ?? DEFAULT_CAPACITY, 'capacity'),
    zone: zone(init.zone, 'zone'),
    handoffInterval: init.handoffInterval == null ? undefined : positiveInt(init.handoffInterval, 'handoffInterval'),
    antiEntropyInterval: init.antiEntropyInterval == null ? undefined : positiveInt(init.antiEntropyInterval, 'antiEntropyInterval'),
    tombstoneGrace: init.tombstoneGrace == null ? undefined : positiveInt(init.tombstoneGrace, 'tombstoneGrace')
  }
  if (config.bootstrapRetryMax < config.bootstrapRetryMin) {
    throw new InvalidConfigurationError(`bootstrapRetryMax (${config.bootstrapRetryMax}) must be ≥ bootstrapRetryMin (${config.bootstrapRetryMin})`)
  }
  return config
}

/**
 * What a daemon is run with: the peer's settings plus where its API listens. These are the keys of
 * `<datadir>/config.json` and, under the same names, the daemon's flags.
 */
export interface DaemonConfig {
  /** libp2p listen multiaddrs. @default ['/ip4/0.0.0.0/tcp/4700'] */
  listen: string[]
  /** multiaddrs to announce instead. @default [] */
  announce: string[]
  /** bootstrap multiaddrs, plus those read from `bootstrapFiles`. @default [] */
  bootstrap: string[]
  /** files with one bootstrap multiaddr per line (`#` comments). @default [] */
  bootstrapFiles: string[]
  /** path of a swarm key file: join that private network only. @default undefined */
  swarmKeyFile?: string
  /** API host. Anything but loopback demands a bearer token. @default '127.0.0.1' */
  apiHost: string
  /** API port, 0 = any free port. @default 4701 */
  apiPort: number
  /** multiaddr ranges exempt from inbound rate limits. @default [] */
  allow: string[]
  /** Kademlia self-lookup interval in ms. @default 300_000 */
  dhtRefreshInterval: number
  /** replicas per key. @default 3 */
  n: number
  /** read quorum. @default 2 */
  r: number
  /** write quorum. @default 2 */
  w: number
  /** sync each write to disk before acknowledging it. @default true */
  sync: boolean
  /** read records with LevelDB's synchronous get (see `PeerInit.syncReads`). @default true */
  syncReads: boolean
  /** SWIM timing profile: `default` (GOSSIP_DEFAULT) or `testnet` (GOSSIP_TESTNET). @default 'default' */
  gossip: 'default' | 'testnet'
  /**
   * path of the key-encryption key file (base64 of 32 bytes) for encryption at rest; keep it off
   * the data dir's disk. `--encryption-key-file` and `P2PSTORE_ENCRYPTION_KEY` win over it.
   * @default undefined (encryption at rest off)
   */
  encryptionKeyFile?: string
  /** age in ms at which the data key of encryption at rest is rotated. @default ENCRYPTION_ROTATE_INTERVAL (7 days) */
  encryptionRotateInterval?: number
  /** an open network: no roster, anyone who can reach the daemon reads and writes (SECURITY.md). @default false */
  open: boolean
  /** capacity weight: this peer's share of the keys follows it (see `PeerInit.capacity`). @default 1 */
  capacity: number
  /** zone label: home replicas of a key span distinct zones (see `PeerInit.zone`). @default undefined (none) */
  zone?: string
}

const DAEMON_KEYS = ['listen', 'announce', 'bootstrap', 'bootstrapFiles', 'swarmKeyFile', 'apiHost', 'apiPort', 'allow', 'dhtRefreshInterval', 'n', 'r', 'w', 'sync', 'syncReads', 'gossip', 'encryptionKeyFile', 'encryptionRotateInterval', 'open', 'capacity', 'zone'] as const

/** Defaults of a daemon, used by `p2pstore init` to write a commented starting config. */
export function defaultDaemonConfig (): DaemonConfig {
  return {
    listen: [...DEFAULT_LISTEN],
    announce: [],
    bootstrap: [],
    bootstrapFiles: [],
    apiHost: DEFAULT_API_HOST,
    apiPort: DEFAULT_API_PORT,
    allow: [],
    dhtRefreshInterval: QUERY_SELF_INTERVAL,
    n: DEFAULT_N,
    r: DEFAULT_R,
    w: DEFAULT_W,
    sync: true,
    syncReads: true,
    gossip: 'default',
    open: false,
    capacity: DEFAULT_CAPACITY
  }
}

/**
 * Merges the daemon's settings: CLI flags over `config.json` over defaults. Only keys a source
 * actually sets count (`undefined` means "not given"; 0 and empty lists are values). Unknown keys
 * in the file are refused so that a typo never silently does nothing.
 */
export function resolveDaemonConfig (flags: Partial<DaemonConfig>, file: Record<string, unknown>): DaemonConfig {
  for (const key of Object.keys(file)) {
    if (!(DAEMON_KEYS as readonly string[]).includes(key)) {
      throw new InvalidConfigurationError(`config.json: unknown setting "${key}" (known: ${DAEMON_KEYS.join(', ')})`)
    }
  }
  const fromFile = file as Partial<Record<keyof DaemonConfig, unknown>>
  const defaults = defaultDaemonConfig()
  const pick = <K extends keyof DaemonConfig>(key: K): unknown => flags[key] ?? fromFile[key] ?? defaults[key]

  const config: DaemonConfig = {
    listen: stringList(pick('listen'), 'listen'),
    announce: stringList(pick('announce'), 'announce'),
    bootstrap: stringList(pick('bootstrap'), 'bootstrap'),
    bootstrapFiles: stringList(pick('bootstrapFiles'), 'bootstrapFiles'),
    swarmKeyFile: optionalString(pick('swarmKeyFile'), 'swarmKeyFile'),
    apiHost: requiredString(pick('apiHost'), 'apiHost'),
    apiPort: port(pick('apiPort'), 'apiPort'),
    allow: stringList(pick('allow'), 'allow'),
    dhtRefreshInterval: positiveInt(pick('dhtRefreshInterval'), 'dhtRefreshInterval'),
    n: positiveInt(pick('n'), 'n'),
    r: positiveInt(pick('r'), 'r'),
    w: positiveInt(pick('w'), 'w'),
    sync: bool(pick('sync'), 'sync'),
    syncReads: bool(pick('syncReads'), 'syncReads'),
    gossip: oneOf(pick('gossip'), 'gossip', ['default', 'testnet'] as const),
    encryptionKeyFile: optionalString(pick('encryptionKeyFile'), 'encryptionKeyFile'),
    encryptionRotateInterval: pick('encryptionRotateInterval') === undefined ? undefined : positiveInt(pick('encryptionRotateInterval'), 'encryptionRotateInterval'),
    open: bool(pick('open'), 'open'),
    capacity: capacity(pick('capacity'), 'capacity'),
    zone: zone(pick('zone'), 'zone')
  }
  for (const key of ['listen', 'announce', 'bootstrap', 'allow'] as const) {
    config[key].forEach(addr => parseMultiaddr(addr, key))
  }
  if (config.n > MAX_N) throw new InvalidConfigurationError(`n: at most ${MAX_N}, got ${config.n}`)
  if (config.r > config.n) throw new InvalidConfigurationError(`r (${config.r}) must be at most n (${config.n})`)
  if (config.w > config.n) throw new InvalidConfigurationError(`w (${config.w}) must be at most n (${config.n})`)
  return config
}

/**
 * Reads a bootstrap list file: one multiaddr per line; blank lines and `#` comments are skipped.
 * A bad line raises `InvalidMultiaddrError` naming the file and line.
 */
export async function readBootstrapFile (file: string): Promise<string[]> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidParametersError(`cannot read bootstrap list ${file}: ${(err as Error).message}`)
  }
  const addrs: string[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') return
    parseMultiaddr(line, `${file}:${i + 1}`)
    addrs.push(line)
  })
  return addrs
}

/** Parses a multiaddr, raising `InvalidMultiaddrError` that names where it came from. */
export function parseMultiaddr (addr: string, where: string): Multiaddr {
  try {
    return multiaddr(addr)
  } catch (err) {
    throw new InvalidMultiaddrError(`${where}: "${addr}" is not a valid multiaddr (${(err as Error).message}); expected e.g. /ip4/192.0.2.1/tcp/4700/p2p/12D3KooW…`)
  }
}

function stringList (value: unknown, key: string): string[] {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) {
    throw new InvalidConfigurationError(`${key}: expected a list of strings, got ${JSON.stringify(value)}`)
  }
  return value
}

function optionalString (value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined
  return requiredString(value, key)
}

function requiredString (value: unknown, key: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidConfigurationError(`${key}: expected a non-empty string, got ${JSON.stringify(value)}`)
  }
  return value
}

function port (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new InvalidConfigurationError(`${key}: expected a port number 0–65535 (0 = any free port), got ${JSON.stringify(value)}`)
  }
  return value
}

function oneOf<T extends string> (value: unknown, key: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidConfigurationError(`${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as T
}

function bool (value: unknown, key: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidConfigurationError(`${key}: expected true or false, got ${JSON.stringify(value)}`)
  return value
}

function positiveInt (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigurationError(`${key}: expected a positive whole number, got ${JSON.stringify(value)}`)
  }
  return value
}

function capacity (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_CAPACITY) {
    throw new InvalidConfigurationError(`${key}: expected a positive number up to ${MAX_CAPACITY} (a weight: 2 holds twice the keys of 1), got ${JSON.stringify(value)}`)
  }
  return value
}

function zone (value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '' || value.length > MAX_ZONE_LENGTH) {
    throw new InvalidConfigurationError(`${key}: expected a label of 1–${MAX_ZONE_LENGTH} characters (e.g. "rack-1"), got ${JSON.stringify(value)}`)
  }
  return value
}
