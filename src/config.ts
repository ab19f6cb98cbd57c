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
import { API_AUTH_FAILURE_LIMIT, API_SERVER_HEADERS_TIMEOUT, API_SERVER_MAX_CONNECTIONS, API_SERVER_MAX_CONNECTIONS_PER_IP, API_SERVER_REQUEST_TIMEOUT, BOOTSTRAP_DIAL_TIMEOUT, BOOTSTRAP_RETRY_MAX, BOOTSTRAP_RETRY_MIN, DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_BAN_DURATION, DEFAULT_BAN_THRESHOLD, DEFAULT_CAPACITY, DEFAULT_FRAME_MEMORY_PER_PEER, DEFAULT_FRAME_MEMORY_TOTAL, DEFAULT_HINTED_BYTES_PER_PEER, DEFAULT_HINTED_BYTES_TOTAL, DEFAULT_INBOUND_CONNECTION_RATE, DEFAULT_INBOUND_UPGRADE_TIMEOUT, DEFAULT_KV_GLOBAL_REQUEST_RATE, DEFAULT_KV_PEER_BYTE_BURST, DEFAULT_KV_PEER_BYTE_RATE, DEFAULT_KV_PEER_MAX_IN_FLIGHT, DEFAULT_KV_PEER_REQUEST_BURST, DEFAULT_KV_PEER_REQUEST_RATE, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_MAX_CONNECTIONS_PER_RANGE, DEFAULT_MAX_PENDING_CONNECTIONS, DEFAULT_N, DEFAULT_PEER_LISTEN, DEFAULT_PENALTY_HALF_LIFE, DEFAULT_R, DEFAULT_SLOW_READER_TIMEOUT, DEFAULT_STREAM_WRITE_BUFFER, DEFAULT_W, DEFAULT_WRITE_MEMORY_PER_PEER, DEFAULT_WRITE_MEMORY_TOTAL, ENCRYPTION_ROTATE_INTERVAL, MAX_CAPACITY, MAX_MAX_CONNECTIONS, MAX_N, MAX_VALUE_BYTES, MAX_ZONE_LENGTH, MIN_FRAME_MEMORY, MIN_MAX_CONNECTIONS, PROFILES, QUERY_SELF_INTERVAL } from './constants.ts'
import { InvalidConfigurationError } from './errors.ts'
import type { ProfileName } from './constants.ts'
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
   * @default DEFAULT_PEER_LISTEN (['/ip4/0.0.0.0/tcp/0']: every interface, any free port)
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
   * Most libp2p connections this peer keeps open (issue #16): its XOR neighbourhood is kept, other
   * connections are opened on demand and closed when idle, down to a low watermark below this cap
   * (libp2p refuses inbound connections at the cap itself). kubo keeps 32–96.
   *
   * @default DEFAULT_MAX_CONNECTIONS (64)
   */
  maxConnections?: number

  /**
   * Most inbound connections from one IP address, open or still upgrading (issue #19): one host
   * cannot take every connection slot. Loopback and the `allow` ranges are exempt.
   *
   * @default DEFAULT_MAX_CONNECTIONS_PER_IP (8)
   */
  maxConnectionsPerIp?: number

  /**
   * Most inbound connections from one address range (a /24 of IPv4, a /64 of IPv6). Loopback and
   * the `allow` ranges are exempt.
   *
   * @default DEFAULT_MAX_CONNECTIONS_PER_RANGE (32)
   */
  maxConnectionsPerRange?: number

  /**
   * Inbound connections one host may open per second (libp2p's `inboundConnectionThreshold`);
   * the `allow` ranges are exempt.
   *
   * @default DEFAULT_INBOUND_CONNECTION_RATE (5)
   */
  inboundConnectionRate?: number

  /**
   * Inbound connections still upgrading at once, over all hosts (libp2p's `maxIncomingPendingConnections`).
   *
   * @default DEFAULT_MAX_PENDING_CONNECTIONS (10)
   */
  maxPendingConnections?: number

  /**
   * An inbound connection must finish Noise and Yamux within this many ms.
   *
   * @default DEFAULT_INBOUND_UPGRADE_TIMEOUT (10 s)
   */
  inboundUpgradeTimeout?: number

  /**
   * Most unsent bytes of answers one kv or membership stream may hold before further answers
   * wait (issue #19): a peer that asks and never reads makes this peer hold this much per stream,
   * or one frame if that is larger, not every answer it asked for.
   *
   * @default DEFAULT_STREAM_WRITE_BUFFER (4 MiB)
   */
  streamWriteBuffer?: number

  /**
   * A stream whose unsent answers waited this many ms for its peer to read any is reset, and the
   * peer penalised (PENALTY_SLOW_READER).
   *
   * @default DEFAULT_SLOW_READER_TIMEOUT (10 s)
   */
  slowReaderTimeout?: number

  /**
   * Most unsent bytes of kv and membership streams to one peer, over all its streams and
   * connections (issue #19): a further answer or request to it waits until it fits (one frame
   * goes alone whatever its size once nothing else to the peer is unsent), and the slow-reader
   * timeout still resets a stream it does not read. At least the largest kv frame
   * (MAX_KV_MESSAGE_BYTES) plus 1 MiB, so that a large sibling set still goes at once, and at
   * most `writeMemoryTotal`.
   *
   * @default DEFAULT_WRITE_MEMORY_PER_PEER (80 MiB)
   */
  writeMemoryPerPeer?: number

  /**
   * Most unsent bytes of kv and membership streams to all peers together: a write past it waits,
   * first come first served.
   *
   * @default DEFAULT_WRITE_MEMORY_TOTAL (320 MiB)
   */
  writeMemoryTotal?: number

  /**
   * Cap loopback connections per IP and range too (tests of the caps; test nets run every peer on
   * 127.0.0.1, so loopback is exempt by default).
   *
   * @internal
   * @default false
   */
  limitLoopback?: boolean

  /**
   * A peer's penalty points (a malformed frame costs PENALTY_MALFORMED_FRAME) halve every this
   * many ms, so that its good standing recovers (issue #19).
   *
   * @default DEFAULT_PENALTY_HALF_LIFE (10 min)
   */
  penaltyHalfLife?: number

  /**
   * A peer whose penalty points reach this is disconnected and refused for `banDuration`: ten
   * malformed frames in a row.
   *
   * @default DEFAULT_BAN_THRESHOLD (100)
   */
  banThreshold?: number

  /**
   * How long a banned peer is refused, in ms (connections either way).
   *
   * @default DEFAULT_BAN_DURATION (10 min)
   */
  banDuration?: number

  /**
   * Most bytes of kv and membership frames still arriving from one peer, over all its streams and
   * connections: a stream whose next chunk would take the peer past it is reset (issue #19). At
   * least the largest kv frame (MAX_KV_MESSAGE_BYTES) plus 1 MiB, and at most `frameMemoryTotal`.
   *
   * @default DEFAULT_FRAME_MEMORY_PER_PEER (80 MiB)
   */
  frameMemoryPerPeer?: number

  /**
   * Most bytes of frames still arriving from all peers together: what every peer at once can make
   * this one hold in partly received frames.
   *
   * @default DEFAULT_FRAME_MEMORY_TOTAL (320 MiB)
   */
  frameMemoryTotal?: number

  /**
   * kv requests a second one peer may make of this one, over all its streams (issue #19): a peer
   * past it is paced — its streams are not read until tokens return — never dropped.
   *
   * @default DEFAULT_KV_PEER_REQUEST_RATE (20 000)
   */
  kvPeerRequestRate?: number

  /**
   * kv requests one peer may make at once above its rate (the token bucket's size).
   *
   * @default DEFAULT_KV_PEER_REQUEST_BURST (4000)
   */
  kvPeerRequestBurst?: number

  /**
   * Bytes of kv frames a second one peer may send this one.
   *
   * @default DEFAULT_KV_PEER_BYTE_RATE (64 MiB)
   */
  kvPeerByteRate?: number

  /**
   * Bytes of kv frames one peer may send at once above its byte rate. A larger frame (up to
   * MAX_KV_MESSAGE_BYTES, a merged sibling set) waits for a full bucket and leaves it in debt.
   *
   * @default DEFAULT_KV_PEER_BYTE_BURST (16 MiB)
   */
  kvPeerByteBurst?: number

  /**
   * kv requests one peer may have in flight with this one over all its streams; its streams are
   * not read while it is at this count.
   *
   * @default DEFAULT_KV_PEER_MAX_IN_FLIGHT (256)
   */
  kvPeerMaxInFlight?: number

  /**
   * kv requests a second from all peers together: at least twice `kvPeerRequestRate`, so that no
   * single peer can use it up alone.
   *
   * @default DEFAULT_KV_GLOBAL_REQUEST_RATE (50 000)
   */
  kvGlobalRequestRate?: number

  /**
   * Most bytes (key and values) of hinted copies one peer may make this one hold for home replicas
   * that could not take its writes; a hinted write past it is refused (the coordinator tries
   * another fallback). 0 takes no hinted copies from other peers.
   *
   * @default DEFAULT_HINTED_BYTES_PER_PEER (64 MiB)
   */
  hintedBytesPerPeer?: number

  /**
   * Most bytes of hinted copies this peer holds for all other peers together (at least
   * `hintedBytesPerPeer`).
   *
   * @default DEFAULT_HINTED_BYTES_TOTAL (256 MiB)
   */
  hintedBytesTotal?: number

  /**
   * How long one dial of one bootstrap peer may take.
   *
   * @default BOOTSTRAP_DIAL_TIMEOUT (10 s)
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
   * @default GOSSIP_DEFAULT (memberlist's LAN values: 1 s probes, 500 ms timeout, …); a daemon
   * takes it from its timing profile (PROFILES)
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
   * @default HANDOFF_INTERVAL (10 s); PROFILES.testnet has 1 s
   */
  handoffInterval?: number

  /**
   * How often the peer compares Merkle summaries with one other member (anti-entropy).
   *
   * @default ANTI_ENTROPY_INTERVAL (30 s); PROFILES.testnet has 2 s
   */
  antiEntropyInterval?: number

  /**
   * A tombstone is garbage-collected once older than this (and held by every replica).
   *
   * @default TOMBSTONE_GRACE (1 h); PROFILES.testnet has 3 s, safe on one machine only: a replica
   * cut off for longer than the grace can bring a deleted value back
   */
  tombstoneGrace?: number

  /**
   * Start the peer before `createPeer()` resolves.
   *
   * @default true
   */
  start?: boolean
}

/** The `PeerInit` fields that resolvePeerConfig() gives a default. */
type PeerDefaulted = 'listen' | 'announce' | 'open' | 'allow' | 'maxConnections' | 'maxConnectionsPerIp' | 'maxConnectionsPerRange' | 'inboundConnectionRate' | 'maxPendingConnections' | 'inboundUpgradeTimeout' | 'streamWriteBuffer' | 'slowReaderTimeout' | 'writeMemoryPerPeer' | 'writeMemoryTotal' | 'penaltyHalfLife' | 'banThreshold' | 'banDuration' | 'frameMemoryPerPeer' | 'frameMemoryTotal' | QuotaKey | 'dialTimeout' | 'dhtRefreshInterval' | 'bootstrapRetryMin' | 'bootstrapRetryMax' | 'start' | 'sync' | 'syncReads' | 'capacity'

/** The quota settings (issue #19), the same in `PeerInit` and `DaemonConfig`. */
export type QuotaKey = 'kvPeerRequestRate' | 'kvPeerRequestBurst' | 'kvPeerByteRate' | 'kvPeerByteBurst' | 'kvPeerMaxInFlight' | 'kvGlobalRequestRate' | 'hintedBytesPerPeer' | 'hintedBytesTotal'

/** `PeerInit` with every default applied and every address parsed. */
export type PeerConfig = Omit<PeerInit, PeerDefaulted | 'bootstrap'> & Required<Pick<PeerInit, PeerDefaulted>> & {
  bootstrap: Multiaddr[]
}

/** Applies defaults to a `PeerInit` and validates it; throws `InvalidConfigurationError` naming the key. */
export function resolvePeerConfig (init: PeerInit = {}): PeerConfig {
  const listen = init.listen ?? [...DEFAULT_PEER_LISTEN]
  const announce = init.announce ?? []
  const allow = init.allow ?? []
  for (const [key, list] of [['listen', listen], ['announce', announce], ['allow', allow]] as const) {
    list.forEach(addr => parseMultiaddr(addr, key))
  }
  if (listen.length === 0) {
    throw new InvalidConfigurationError('listen: at least one listen multiaddr is required')
  }

  // every field as given, then those with a default or a check
  const config: PeerConfig = {
    ...init,
    listen,
    announce,
    bootstrap: (init.bootstrap ?? []).map(addr => parseMultiaddr(addr, 'bootstrap')),
    open: init.open ?? false,
    allow,
    maxConnections: maxConnections(init.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 'maxConnections'),
    maxConnectionsPerIp: positiveInt(init.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP, 'maxConnectionsPerIp'),
    maxConnectionsPerRange: positiveInt(init.maxConnectionsPerRange ?? DEFAULT_MAX_CONNECTIONS_PER_RANGE, 'maxConnectionsPerRange'),
    inboundConnectionRate: positiveInt(init.inboundConnectionRate ?? DEFAULT_INBOUND_CONNECTION_RATE, 'inboundConnectionRate'),
    maxPendingConnections: positiveInt(init.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS, 'maxPendingConnections'),
    inboundUpgradeTimeout: positiveInt(init.inboundUpgradeTimeout ?? DEFAULT_INBOUND_UPGRADE_TIMEOUT, 'inboundUpgradeTimeout'),
    streamWriteBuffer: positiveInt(init.streamWriteBuffer ?? DEFAULT_STREAM_WRITE_BUFFER, 'streamWriteBuffer'),
    slowReaderTimeout: positiveInt(init.slowReaderTimeout ?? DEFAULT_SLOW_READER_TIMEOUT, 'slowReaderTimeout'),
    writeMemoryPerPeer: frameMemory(init.writeMemoryPerPeer ?? DEFAULT_WRITE_MEMORY_PER_PEER, 'writeMemoryPerPeer'),
    writeMemoryTotal: frameMemory(init.writeMemoryTotal ?? DEFAULT_WRITE_MEMORY_TOTAL, 'writeMemoryTotal'),
    penaltyHalfLife: positiveInt(init.penaltyHalfLife ?? DEFAULT_PENALTY_HALF_LIFE, 'penaltyHalfLife'),
    banThreshold: positiveInt(init.banThreshold ?? DEFAULT_BAN_THRESHOLD, 'banThreshold'),
    banDuration: positiveInt(init.banDuration ?? DEFAULT_BAN_DURATION, 'banDuration'),
    frameMemoryPerPeer: frameMemory(init.frameMemoryPerPeer ?? DEFAULT_FRAME_MEMORY_PER_PEER, 'frameMemoryPerPeer'),
    frameMemoryTotal: frameMemory(init.frameMemoryTotal ?? DEFAULT_FRAME_MEMORY_TOTAL, 'frameMemoryTotal'),
    ...quotaSettings(init),
    dialTimeout: positiveInt(init.dialTimeout ?? BOOTSTRAP_DIAL_TIMEOUT, 'dialTimeout'),
    dhtRefreshInterval: positiveInt(init.dhtRefreshInterval ?? QUERY_SELF_INTERVAL, 'dhtRefreshInterval'),
    bootstrapRetryMin: positiveInt(init.bootstrapRetryMin ?? BOOTSTRAP_RETRY_MIN, 'bootstrapRetryMin'),
    bootstrapRetryMax: positiveInt(init.bootstrapRetryMax ?? BOOTSTRAP_RETRY_MAX, 'bootstrapRetryMax'),
    start: init.start ?? true,
    sync: init.sync ?? true,
    syncReads: init.syncReads ?? true,
    handoffInterval: init.handoffInterval == null ? undefined : positiveInt(init.handoffInterval, 'handoffInterval'),
    antiEntropyInterval: init.antiEntropyInterval == null ? undefined : positiveInt(init.antiEntropyInterval, 'antiEntropyInterval'),
    tombstoneGrace: init.tombstoneGrace == null ? undefined : positiveInt(init.tombstoneGrace, 'tombstoneGrace'),
    capacity: capacity(init.capacity ?? DEFAULT_CAPACITY, 'capacity'),
    zone: zone(init.zone, 'zone')
  }
  if (config.writeMemoryTotal < config.writeMemoryPerPeer) {
    throw new InvalidConfigurationError(`writeMemoryTotal (${config.writeMemoryTotal}) must be ≥ writeMemoryPerPeer (${config.writeMemoryPerPeer})`)
  }
  if (config.frameMemoryTotal < config.frameMemoryPerPeer) {
    throw new InvalidConfigurationError(`frameMemoryTotal (${config.frameMemoryTotal}) must be ≥ frameMemoryPerPeer (${config.frameMemoryPerPeer})`)
  }
  checkQuotas(config)
  if (config.bootstrapRetryMax < config.bootstrapRetryMin) {
    throw new InvalidConfigurationError(`bootstrapRetryMax (${config.bootstrapRetryMax}) must be ≥ bootstrapRetryMin (${config.bootstrapRetryMin})`)
  }
  return config
}

/**
 * What a daemon is run with: the peer's settings plus where its API listens. These are the keys of
 * `<datadir>/config.json`; SETTINGS says, for each, its type, default, allowed range, flag and help.
 */
export interface DaemonConfig {
  /** libp2p listen multiaddrs. @default DEFAULT_LISTEN (['/ip4/0.0.0.0/tcp/4700']) */
  listen: string[]
  /** multiaddrs to announce instead. @default [] */
  announce: string[]
  /** bootstrap multiaddrs, plus those read from `bootstrapFiles`. @default [] */
  bootstrap: string[]
  /** files with one bootstrap multiaddr per line (`#` comments). @default [] */
  bootstrapFiles: string[]
  /** path of a swarm key file: join that private network only. @default undefined */
  swarmKeyFile?: string
  /** API host. Anything but loopback demands a bearer token. @default DEFAULT_API_HOST ('127.0.0.1') */
  apiHost: string
  /** API port, 0 = any free port. @default DEFAULT_API_PORT (4701) */
  apiPort: number
  /** ms a client has to send a whole request, body included (then 408). @default API_SERVER_REQUEST_TIMEOUT (30 s) */
  apiRequestTimeout: number
  /** ms a client has to send a request's head (at most apiRequestTimeout). @default API_SERVER_HEADERS_TIMEOUT (10 s) */
  apiHeadersTimeout: number
  /** largest request body in bytes (then 413). @default MAX_VALUE_BYTES (1 MiB) */
  apiBodyLimit: number
  /** open API connections at once. @default API_SERVER_MAX_CONNECTIONS (1024) */
  apiMaxConnections: number
  /** open API connections from one IP address at once (at most apiMaxConnections). @default API_SERVER_MAX_CONNECTIONS_PER_IP (256) */
  apiMaxConnectionsPerIp: number
  /** failed authentications per IP address per minute before it gets 429s. @default API_AUTH_FAILURE_LIMIT (200) */
  apiAuthFailureLimit: number
  /** multiaddr ranges exempt from inbound rate limits. @default [] */
  allow: string[]
  /** most connections kept open (see `PeerInit.maxConnections`). @default DEFAULT_MAX_CONNECTIONS (64) */
  maxConnections: number
  /** most inbound connections from one IP (see `PeerInit.maxConnectionsPerIp`). @default DEFAULT_MAX_CONNECTIONS_PER_IP (8) */
  maxConnectionsPerIp: number
  /** most inbound connections from one /24 or /64 (see `PeerInit.maxConnectionsPerRange`). @default DEFAULT_MAX_CONNECTIONS_PER_RANGE (32) */
  maxConnectionsPerRange: number
  /** inbound connections per host per second (see `PeerInit.inboundConnectionRate`). @default DEFAULT_INBOUND_CONNECTION_RATE (5) */
  inboundConnectionRate: number
  /** inbound connections upgrading at once (see `PeerInit.maxPendingConnections`). @default DEFAULT_MAX_PENDING_CONNECTIONS (10) */
  maxPendingConnections: number
  /** ms an inbound connection has to finish its upgrade (see `PeerInit.inboundUpgradeTimeout`). @default DEFAULT_INBOUND_UPGRADE_TIMEOUT (10 s) */
  inboundUpgradeTimeout: number
  /** most unsent answer bytes per stream (see `PeerInit.streamWriteBuffer`). @default DEFAULT_STREAM_WRITE_BUFFER (4 MiB) */
  streamWriteBuffer: number
  /** ms a stream's unsent answers may wait for its peer to read (see `PeerInit.slowReaderTimeout`). @default DEFAULT_SLOW_READER_TIMEOUT (10 s) */
  slowReaderTimeout: number
  /** most unsent bytes of streams to one peer (see `PeerInit.writeMemoryPerPeer`). @default DEFAULT_WRITE_MEMORY_PER_PEER (80 MiB) */
  writeMemoryPerPeer: number
  /** most unsent bytes of streams to all peers (see `PeerInit.writeMemoryTotal`). @default DEFAULT_WRITE_MEMORY_TOTAL (320 MiB) */
  writeMemoryTotal: number
  /** penalty points halve every this many ms (see `PeerInit.penaltyHalfLife`). @default DEFAULT_PENALTY_HALF_LIFE (10 min) */
  penaltyHalfLife: number
  /** points at which a peer is banned (see `PeerInit.banThreshold`). @default DEFAULT_BAN_THRESHOLD (100) */
  banThreshold: number
  /** how long a ban lasts in ms (see `PeerInit.banDuration`). @default DEFAULT_BAN_DURATION (10 min) */
  banDuration: number
  /** most bytes of frames still arriving from one peer (see `PeerInit.frameMemoryPerPeer`). @default DEFAULT_FRAME_MEMORY_PER_PEER (80 MiB) */
  frameMemoryPerPeer: number
  /** most bytes of frames still arriving from all peers (see `PeerInit.frameMemoryTotal`). @default DEFAULT_FRAME_MEMORY_TOTAL (320 MiB) */
  frameMemoryTotal: number
  /** kv requests a second from one peer (see `PeerInit.kvPeerRequestRate`). @default DEFAULT_KV_PEER_REQUEST_RATE (20 000) */
  kvPeerRequestRate: number
  /** kv requests one peer may make at once (see `PeerInit.kvPeerRequestBurst`). @default DEFAULT_KV_PEER_REQUEST_BURST (4000) */
  kvPeerRequestBurst: number
  /** kv frame bytes a second from one peer (see `PeerInit.kvPeerByteRate`). @default DEFAULT_KV_PEER_BYTE_RATE (64 MiB) */
  kvPeerByteRate: number
  /** kv frame bytes one peer may send at once (see `PeerInit.kvPeerByteBurst`). @default DEFAULT_KV_PEER_BYTE_BURST (16 MiB) */
  kvPeerByteBurst: number
  /** kv requests in flight from one peer (see `PeerInit.kvPeerMaxInFlight`). @default DEFAULT_KV_PEER_MAX_IN_FLIGHT (256) */
  kvPeerMaxInFlight: number
  /** kv requests a second from all peers (see `PeerInit.kvGlobalRequestRate`). @default DEFAULT_KV_GLOBAL_REQUEST_RATE (50 000) */
  kvGlobalRequestRate: number
  /** hinted bytes one peer may make us hold (see `PeerInit.hintedBytesPerPeer`). @default DEFAULT_HINTED_BYTES_PER_PEER (64 MiB) */
  hintedBytesPerPeer: number
  /** hinted bytes held for all peers (see `PeerInit.hintedBytesTotal`). @default DEFAULT_HINTED_BYTES_TOTAL (256 MiB) */
  hintedBytesTotal: number
  /** Kademlia self-lookup interval in ms. @default QUERY_SELF_INTERVAL (300_000) */
  dhtRefreshInterval: number
  /** replicas per key. @default DEFAULT_N (3) */
  n: number
  /** read quorum. @default DEFAULT_R (2) */
  r: number
  /** write quorum. @default DEFAULT_W (2) */
  w: number
  /** sync each write to disk before acknowledging it. @default true */
  sync: boolean
  /** read records with LevelDB's synchronous get (see `PeerInit.syncReads`). @default true */
  syncReads: boolean
  /**
   * The timing profile (PROFILES in constants.ts): SWIM probes and suspicion, push-pull, handoff,
   * anti-entropy and the tombstone grace. `testnet` is for one machine only. config.json's
   * `gossip` key and `--gossip` are deprecated aliases.
   *
   * @default 'default'
   */
  profile: ProfileName
  /**
   * path of the key-encryption key file (base64 of 32 bytes) for encryption at rest; keep it off
   * the data dir's disk. `--encryption-key-file` and `P2PSTORE_ENCRYPTION_KEY` win over it.
   * @default undefined (encryption at rest off)
   */
  encryptionKeyFile?: string
  /** age in ms at which the data key of encryption at rest is rotated. @default ENCRYPTION_ROTATE_INTERVAL (7 days) */
  encryptionRotateInterval: number
  /** an open network: no roster, anyone who can reach the daemon reads and writes (SECURITY.md). @default false */
  open: boolean
  /** capacity weight: this peer's share of the keys follows it (see `PeerInit.capacity`). @default 1 */
  capacity: number
  /** zone label: home replicas of a key span distinct zones (see `PeerInit.zone`). @default undefined (none) */
  zone?: string
}

/** Settings given on the command line: any of DaemonConfig, plus the deprecated `gossip` (= `profile`). */
export type DaemonFlags = Partial<DaemonConfig> & { gossip?: ProfileName }

/** The command-line flag of a setting. */
export interface SettingFlag {
  /** the flag without its dashes, kebab-case: `api-port` */
  name: string
  /** the argument's name in `--help` (`<port>`); none for an on/off switch */
  arg?: string
  /** given more than once, the values add up to a list */
  repeatable?: boolean
  /** what `--help` says besides the setting's help (e.g. an environment variable that also sets it) */
  note?: string
}

/**
 * One daemon setting: everything parsing, validation, `--help` and README's configuration table
 * need to know about it. Built by the helpers below, listed in SETTINGS.
 */
export interface Setting<T> {
  /** what the value may be, in words: named by every error about it, shown in README */
  range: string
  /** the value when neither a flag nor config.json gives one */
  default: T
  /** what the default means, when the value alone says too little (`5 min`, `7 days`) */
  defaultNote?: string
  /** the flag of `p2pstore daemon`; a setting without one is set in config.json only */
  flag?: SettingFlag
  /** one line of help: `--help` and README say it */
  help: string
  /** a former name, still accepted as config.json key and flag, said to be deprecated */
  deprecatedAlias?: string
  /** the value, checked; throws `InvalidConfigurationError` (or `InvalidMultiaddrError`) naming `key` */
  parse(value: unknown, key: string): T
  /** the values a flag's argument may take, when there are few */
  choices?: readonly string[]
  /** a flag's argument as a value, for the CLI; throws `InvalidConfigurationError` saying the range */
  fromArg?(text: string): T
}

type Settings = { [K in keyof DaemonConfig]-?: Setting<DaemonConfig[K]> }

/** Most characters of a string, and most items of a list or object, an error message quotes. */
const DESCRIBE_TEXT = 100
const DESCRIBE_ITEMS = 5
/** Lists and objects nested deeper than this are shown as `[…]` and `{…}`. */
const DESCRIBE_DEPTH = 2

/**
 * A config value as an error message quotes it: JSON for small values, cut short for long strings,
 * long lists and deep nesting. JSON.stringify would recurse once per level of a deeply nested
 * config.json value (a RangeError at some 10 000 levels) and quote a huge one whole.
 */
function describeValue (value: unknown, depth = 0): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value.length > DESCRIBE_TEXT ? `${value.slice(0, DESCRIBE_TEXT)}…` : value)
  if (value === null || typeof value !== 'object') return String(value)
  if (depth >= DESCRIBE_DEPTH) return Array.isArray(value) ? '[…]' : '{…}'
  const items = Array.isArray(value)
    ? value.slice(0, DESCRIBE_ITEMS).map(item => describeValue(item, depth + 1))
    : Object.entries(value).slice(0, DESCRIBE_ITEMS).map(([k, item]) => `${describeValue(k)}:${describeValue(item, depth + 1)}`)
  const size = Array.isArray(value) ? value.length : Object.keys(value).length
  if (size > DESCRIBE_ITEMS) items.push('…')
  return Array.isArray(value) ? `[${items.join(',')}]` : `{${items.join(',')}}`
}

function invalid (key: string, range: string, value: unknown): InvalidConfigurationError {
  return new InvalidConfigurationError(`${key}: expected ${range}, got ${describeValue(value)}`)
}

type SettingText = Pick<Setting<unknown>, 'help' | 'flag' | 'defaultNote' | 'deprecatedAlias'>

function stringListSetting (def: string[], text: SettingText, multiaddrs: boolean): Setting<string[]> {
  const range = multiaddrs ? 'a list of multiaddrs' : 'a list of file paths'
  return {
    ...text,
    range,
    default: def,
    parse: (value, key) => {
      if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) throw invalid(key, range, value)
      if (multiaddrs) value.forEach(addr => parseMultiaddr(addr, key))
      return [...value]
    }
  }
}

function textSetting (def: string, text: SettingText, range = 'a non-empty string'): Setting<string> {
  const parse = (value: unknown, key: string): string => {
    if (typeof value !== 'string' || value === '') throw invalid(key, range, value)
    return value
  }
  return { ...text, range, default: def, parse }
}

function optionalTextSetting (text: SettingText, range = 'a file path'): Setting<string | undefined> {
  const required = textSetting('', text, range)
  return { ...required, default: undefined, parse: (value, key) => value === undefined ? undefined : required.parse(value, key) }
}

function integerSetting (def: number, min: number, max: number, text: SettingText, range = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`): Setting<number> {
  const parse = (value: unknown, key: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw invalid(key, range, value)
    return value
  }
  return {
    ...text,
    range,
    default: def,
    parse,
    fromArg: arg => {
      const n = Number(arg)
      if (!/^\d+$/.test(arg) || n < min || n > max) throw new InvalidConfigurationError(`expected ${range}`)
      return n
    }
  }
}

function capacitySetting (text: SettingText): Setting<number> {
  const range = `a positive number up to ${MAX_CAPACITY}`
  const parse = (value: unknown, key: string): number => capacity(value, key, range)
  return {
    ...text,
    range,
    default: DEFAULT_CAPACITY,
    parse,
    fromArg: arg => {
      if (!/^\d+(\.\d+)?$/.test(arg.trim())) throw new InvalidConfigurationError(`expected ${range}`)
      return parse(Number(arg), 'capacity')
    }
  }
}

function zoneSetting (text: SettingText): Setting<string | undefined> {
  const range = `a label of 1–${MAX_ZONE_LENGTH} characters (e.g. rack-1)`
  return { ...text, range, default: undefined, parse: (value, key) => zone(value, key, range), fromArg: arg => zone(arg, 'zone', range) }
}

/** A capacity weight: positive, finite, at most MAX_CAPACITY. */
function capacity (value: unknown, key: string, range = `a positive number up to ${MAX_CAPACITY}`): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_CAPACITY) throw invalid(key, range, value)
  return value
}

/** A zone label, or none. */
function zone (value: unknown, key: string, range = `a label of 1–${MAX_ZONE_LENGTH} characters (e.g. rack-1)`): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '' || value.length > MAX_ZONE_LENGTH) throw invalid(key, range, value)
  return value
}

function booleanSetting (def: boolean, text: SettingText): Setting<boolean> {
  return {
    ...text,
    range: 'true or false',
    default: def,
    parse: (value, key) => {
      if (typeof value !== 'boolean') throw invalid(key, 'true or false', value)
      return value
    }
  }
}

function choiceSetting<T extends string> (def: T, choices: readonly T[], text: SettingText): Setting<T> {
  const range = `one of ${choices.join(', ')}`
  const parse = (value: unknown, key: string): T => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) throw invalid(key, range, value)
    return value as T
  }
  return { ...text, range, default: def, parse, choices }
}

/**
 * Every daemon setting, in the order `--help` and README list them. The one place a setting is
 * written down: resolveDaemonConfig() parses and validates from it, the CLI builds the daemon's
 * flags from it, `p2pstore init` writes its defaults, and a test keeps README's table in step.
 */
export const SETTINGS: Settings = {
  listen: stringListSetting([...DEFAULT_LISTEN], { help: 'libp2p TCP listen addresses', flag: { name: 'listen', arg: '<multiaddr>', repeatable: true } }, true),
  announce: stringListSetting([], { help: 'addresses to announce instead (NAT, port forward)', flag: { name: 'announce', arg: '<multiaddr>', repeatable: true } }, true),
  bootstrap: stringListSetting([], { help: 'bootstrap peers, best with `/p2p/<peer id>`', flag: { name: 'bootstrap', arg: '<multiaddr>', repeatable: true } }, true),
  bootstrapFiles: stringListSetting([], { help: 'files of bootstrap multiaddrs, one per line (`#` comments)', flag: { name: 'bootstrap-file', arg: '<file>', repeatable: true } }, false),
  swarmKeyFile: optionalTextSetting({ help: 'join the private network of this swarm key (see `npx p2pstore keygen`)', flag: { name: 'swarm-key', arg: '<file>' } }),
  open: booleanSetting(false, { help: 'run an open network: no roster, anyone who can reach the daemon reads and writes (SECURITY.md)', flag: { name: 'open' } }),
  apiHost: textSetting(DEFAULT_API_HOST, { help: 'API host; anything but loopback refuses to start without an API token (see "API tokens and roles")', flag: { name: 'api-host', arg: '<host>' } }, 'a host name or IP address'),
  apiPort: integerSetting(DEFAULT_API_PORT, 0, 65535, { help: 'API port, 0 = any free port', flag: { name: 'api-port', arg: '<port>' } }, 'a port number 0–65535 (0 = any free port)'),
  apiRequestTimeout: integerSetting(API_SERVER_REQUEST_TIMEOUT, 100, 3_600_000, { help: 'ms a client has to send a whole API request, body included: a slower one gets a 408 and its connection closed', defaultNote: '30 s', flag: { name: 'api-request-timeout', arg: '<ms>' } }),
  apiHeadersTimeout: integerSetting(API_SERVER_HEADERS_TIMEOUT, 100, 3_600_000, { help: 'ms a client has to send an API request\'s head (at most apiRequestTimeout)', defaultNote: '10 s', flag: { name: 'api-headers-timeout', arg: '<ms>' } }),
  apiBodyLimit: integerSetting(MAX_VALUE_BYTES, 1, MAX_VALUE_BYTES, { help: 'largest API request body (a value) in bytes: a larger one gets a 413', defaultNote: '1 MiB', flag: { name: 'api-body-limit', arg: '<bytes>' } }),
  apiMaxConnections: integerSetting(API_SERVER_MAX_CONNECTIONS, 1, 65_535, { help: 'open API connections at once; further ones are closed as they arrive', flag: { name: 'api-max-connections', arg: '<n>' } }),
  apiMaxConnectionsPerIp: integerSetting(API_SERVER_MAX_CONNECTIONS_PER_IP, 1, 65_535, { help: 'open API connections from one IP address at once (at most apiMaxConnections)', flag: { name: 'api-max-connections-per-ip', arg: '<n>' } }),
  apiAuthFailureLimit: integerSetting(API_AUTH_FAILURE_LIMIT, 1, 1_000_000, { help: 'requests without a valid token one IP address may make per minute; past it, such requests get a 429 until the minute ends (a valid token still works)', flag: { name: 'api-auth-failure-limit', arg: '<n>' } }),
  allow: stringListSetting([], { help: 'address ranges exempt from the inbound connection rate limit (e.g. `/ip4/10.0.0.0/ipcidr/8`)', flag: { name: 'allow', arg: '<multiaddr>', repeatable: true } }, true),
  maxConnections: integerSetting(DEFAULT_MAX_CONNECTIONS, MIN_MAX_CONNECTIONS, MAX_MAX_CONNECTIONS, { help: 'most libp2p connections kept open: the XOR neighbourhood is kept, others are opened on demand and closed when idle (libp2p refuses inbound connections at this count)', flag: { name: 'max-connections', arg: '<n>' } }),
  maxConnectionsPerIp: integerSetting(DEFAULT_MAX_CONNECTIONS_PER_IP, 1, Number.MAX_SAFE_INTEGER, { help: 'most inbound connections from one IP address, open or still upgrading (loopback and `allow` ranges exempt)', flag: { name: 'max-connections-per-ip', arg: '<n>' } }),
  maxConnectionsPerRange: integerSetting(DEFAULT_MAX_CONNECTIONS_PER_RANGE, 1, Number.MAX_SAFE_INTEGER, { help: 'most inbound connections from one /24 (IPv4) or /64 (IPv6) range (loopback and `allow` ranges exempt)', flag: { name: 'max-connections-per-range', arg: '<n>' } }),
  inboundConnectionRate: integerSetting(DEFAULT_INBOUND_CONNECTION_RATE, 1, Number.MAX_SAFE_INTEGER, { help: 'inbound connections one host may open per second (`allow` ranges exempt)', flag: { name: 'inbound-connection-rate', arg: '<n>' } }),
  maxPendingConnections: integerSetting(DEFAULT_MAX_PENDING_CONNECTIONS, 1, Number.MAX_SAFE_INTEGER, { help: 'inbound connections still in their Noise/Yamux upgrade at once, over all hosts', flag: { name: 'max-pending-connections', arg: '<n>' } }),
  inboundUpgradeTimeout: integerSetting(DEFAULT_INBOUND_UPGRADE_TIMEOUT, 1, Number.MAX_SAFE_INTEGER, { help: 'ms an inbound connection has to finish its Noise/Yamux upgrade', defaultNote: '10 s', flag: { name: 'inbound-upgrade-timeout', arg: '<ms>' } }),
  streamWriteBuffer: integerSetting(DEFAULT_STREAM_WRITE_BUFFER, 1024, Number.MAX_SAFE_INTEGER, { help: 'most unsent bytes of answers one kv or membership stream may hold before further answers wait (one larger frame is still taken whole)', defaultNote: '4 MiB', flag: { name: 'stream-write-buffer', arg: '<bytes>' } }),
  slowReaderTimeout: integerSetting(DEFAULT_SLOW_READER_TIMEOUT, 1, Number.MAX_SAFE_INTEGER, { help: 'a stream whose unsent answers waited this many ms for its peer to read any is reset, and the peer penalised', defaultNote: '10 s', flag: { name: 'slow-reader-timeout', arg: '<ms>' } }),
  writeMemoryPerPeer: integerSetting(DEFAULT_WRITE_MEMORY_PER_PEER, MIN_FRAME_MEMORY, Number.MAX_SAFE_INTEGER, { help: 'most unsent bytes of kv and membership streams to one peer, over all its streams: a further answer to it waits (one frame still goes alone; at most writeMemoryTotal)', defaultNote: '80 MiB', flag: { name: 'write-memory-per-peer', arg: '<bytes>' } }),
  writeMemoryTotal: integerSetting(DEFAULT_WRITE_MEMORY_TOTAL, MIN_FRAME_MEMORY, Number.MAX_SAFE_INTEGER, { help: 'most unsent bytes of kv and membership streams to all peers together', defaultNote: '320 MiB', flag: { name: 'write-memory-total', arg: '<bytes>' } }),
  penaltyHalfLife: integerSetting(DEFAULT_PENALTY_HALF_LIFE, 1, Number.MAX_SAFE_INTEGER, { help: 'a peer\'s penalty points (10 per malformed frame) halve every this many ms, so its good standing recovers', defaultNote: '10 min', flag: { name: 'penalty-half-life', arg: '<ms>' } }),
  banThreshold: integerSetting(DEFAULT_BAN_THRESHOLD, 1, Number.MAX_SAFE_INTEGER, { help: 'penalty points at which a peer is disconnected and refused for banDuration (one `p2pstore: banned peer …` line on stderr)', flag: { name: 'ban-threshold', arg: '<points>' } }),
  banDuration: integerSetting(DEFAULT_BAN_DURATION, 1, Number.MAX_SAFE_INTEGER, { help: 'how long a banned peer is refused, in ms', defaultNote: '10 min', flag: { name: 'ban-duration', arg: '<ms>' } }),
  frameMemoryPerPeer: integerSetting(DEFAULT_FRAME_MEMORY_PER_PEER, MIN_FRAME_MEMORY, Number.MAX_SAFE_INTEGER, { help: 'most bytes of kv and membership frames still arriving from one peer, over all its streams: a stream that would take it past this is reset (at most frameMemoryTotal)', defaultNote: '80 MiB', flag: { name: 'frame-memory-per-peer', arg: '<bytes>' } }),
  frameMemoryTotal: integerSetting(DEFAULT_FRAME_MEMORY_TOTAL, MIN_FRAME_MEMORY, Number.MAX_SAFE_INTEGER, { help: 'most bytes of frames still arriving from all peers together', defaultNote: '320 MiB', flag: { name: 'frame-memory-total', arg: '<bytes>' } }),
  kvPeerRequestRate: integerSetting(DEFAULT_KV_PEER_REQUEST_RATE, 1, Number.MAX_SAFE_INTEGER, { help: 'kv requests a second one peer may make of this one, over all its streams; past it its streams are not read until tokens return (at most half of kvGlobalRequestRate)', flag: { name: 'kv-peer-request-rate', arg: '<n>' } }),
  kvPeerRequestBurst: integerSetting(DEFAULT_KV_PEER_REQUEST_BURST, 1, Number.MAX_SAFE_INTEGER, { help: 'kv requests one peer may make at once above its rate', flag: { name: 'kv-peer-request-burst', arg: '<n>' } }),
  kvPeerByteRate: integerSetting(DEFAULT_KV_PEER_BYTE_RATE, 1, Number.MAX_SAFE_INTEGER, { help: 'bytes of kv frames a second one peer may send this one', defaultNote: '64 MiB', flag: { name: 'kv-peer-byte-rate', arg: '<bytes>' } }),
  kvPeerByteBurst: integerSetting(DEFAULT_KV_PEER_BYTE_BURST, 1, Number.MAX_SAFE_INTEGER, { help: 'bytes of kv frames one peer may send at once above its byte rate (a larger frame waits for a full bucket and leaves a debt)', defaultNote: '16 MiB', flag: { name: 'kv-peer-byte-burst', arg: '<bytes>' } }),
  kvPeerMaxInFlight: integerSetting(DEFAULT_KV_PEER_MAX_IN_FLIGHT, 1, Number.MAX_SAFE_INTEGER, { help: 'kv requests one peer may have in flight with this one; its streams are not read while it is at this count', flag: { name: 'kv-peer-max-in-flight', arg: '<n>' } }),
  kvGlobalRequestRate: integerSetting(DEFAULT_KV_GLOBAL_REQUEST_RATE, 2, Number.MAX_SAFE_INTEGER, { help: 'kv requests a second from all peers together (at least twice kvPeerRequestRate: one peer alone cannot use it up)', flag: { name: 'kv-global-request-rate', arg: '<n>' } }),
  hintedBytesPerPeer: integerSetting(DEFAULT_HINTED_BYTES_PER_PEER, 0, Number.MAX_SAFE_INTEGER, { help: 'most bytes of hinted copies one peer may make this one hold for replicas that could not take its writes; past it its hinted writes are refused (0: take none)', defaultNote: '64 MiB', flag: { name: 'hinted-bytes-per-peer', arg: '<bytes>' } }),
  hintedBytesTotal: integerSetting(DEFAULT_HINTED_BYTES_TOTAL, 0, Number.MAX_SAFE_INTEGER, { help: 'most bytes of hinted copies held for all other peers together (at least hintedBytesPerPeer)', defaultNote: '256 MiB', flag: { name: 'hinted-bytes-total', arg: '<bytes>' } }),
  dhtRefreshInterval: integerSetting(QUERY_SELF_INTERVAL, 1, Number.MAX_SAFE_INTEGER, { help: 'Kademlia self-lookup interval in ms', defaultNote: '5 min', flag: { name: 'dht-refresh-interval', arg: '<ms>' } }),
  n: integerSetting(DEFAULT_N, 1, MAX_N, { help: 'replicas per key, for requests that do not say (put/get/delete --n)' }),
  r: integerSetting(DEFAULT_R, 1, MAX_N, { help: 'read quorum, at most n (get/delete --r)' }),
  w: integerSetting(DEFAULT_W, 1, MAX_N, { help: 'write quorum, at most n (put/delete --w)' }),
  sync: booleanSetting(true, { help: 'sync every write to disk before acknowledging it' }),
  syncReads: booleanSetting(true, { help: 'read records with LevelDB\'s synchronous get (microseconds from memory or the page cache; turn it off on slow disks holding far more data than RAM, where a cold read would stall the event loop)' }),
  profile: choiceSetting<ProfileName>('default', Object.keys(PROFILES) as ProfileName[], {
    help: `timing profile: default (real networks) or testnet (one machine only: it also shortens the tombstone grace to ${duration(PROFILES.testnet.tombstoneGrace)}), see "Timing profiles"`,
    flag: { name: 'profile', arg: '<name>' },
    deprecatedAlias: 'gossip'
  }),
  encryptionKeyFile: optionalTextSetting({ help: 'key-encryption key file (base64 of 32 bytes): turns on encryption at rest', flag: { name: 'encryption-key-file', arg: '<file>', note: 'flag > `$P2PSTORE_ENCRYPTION_KEY` > config.json' } }),
  encryptionRotateInterval: integerSetting(ENCRYPTION_ROTATE_INTERVAL, 1, Number.MAX_SAFE_INTEGER, { help: 'age in ms at which the data key of encryption at rest is rotated', defaultNote: '7 days' }),
  capacity: capacitySetting({ help: 'capacity weight: this peer holds a share of the keys proportional to it (2 holds about twice the keys of 1); gossiped, so a restart with another value moves data as a membership change does', flag: { name: 'capacity', arg: '<weight>' } }),
  zone: zoneSetting({ help: 'zone label (rack, room, site): the N home replicas of every key span min(N, zones) distinct zones; gossiped', flag: { name: 'zone', arg: '<label>' } })
}

/** The config.json keys of SETTINGS, in order. */
export const SETTING_KEYS = Object.keys(SETTINGS) as Array<keyof DaemonConfig>

/** Every key config.json may hold: the settings and their deprecated aliases. */
const FILE_KEYS: readonly string[] = [...SETTING_KEYS, ...SETTING_KEYS.flatMap(key => SETTINGS[key].deprecatedAlias ?? [])]

/** A setting's default as `--help` and README show it: the value (JSON but for strings), or `undefined` for none. */
export function settingDefaultText (key: keyof DaemonConfig): string | undefined {
  const value: unknown = SETTINGS[key].default
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** Defaults of a daemon, used by `p2pstore init` to write a starting config. */
export function defaultDaemonConfig (): DaemonConfig {
  const config: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) {
    const value: unknown = SETTINGS[key].default
    if (value !== undefined) config[key] = Array.isArray(value) ? [...value] : value
  }
  return config as unknown as DaemonConfig
}

/** The deprecated aliases a config.json uses, each with the setting's current key. */
export function deprecatedKeys (file: Record<string, unknown>): Array<{ alias: string, key: keyof DaemonConfig }> {
  return SETTING_KEYS.flatMap(key => {
    const alias = SETTINGS[key].deprecatedAlias
    return alias != null && file[alias] !== undefined ? [{ alias, key }] : []
  })
}

/**
 * A setting's value in one source: its key, else its deprecated alias; both with different values
 * is refused (which one was meant?).
 */
function given (source: Record<string, unknown>, key: keyof DaemonConfig, where: string): { value: unknown, name: string } | undefined {
  const alias = SETTINGS[key].deprecatedAlias
  const value = source[key]
  // null counts as not given, as undefined does
  if (alias == null || source[alias] == null) return value == null ? undefined : { value, name: key }
  if (value != null && value !== source[alias]) {
    throw new InvalidConfigurationError(`${where}: ${key} (${describeValue(value)}) and its deprecated alias ${alias} (${describeValue(source[alias])}) disagree; keep ${key} only`)
  }
  return { value: source[alias], name: value == null ? `${alias} (deprecated alias of ${key})` : key }
}

/**
 * Merges the daemon's settings: CLI flags over `config.json` over defaults. Only keys a source
 * actually sets count (`undefined` means "not given"; 0 and empty lists are values). Unknown keys
 * in the file are refused so that a typo never silently does nothing. Every value is checked
 * against its setting's range (SETTINGS); a bad one raises `InvalidConfigurationError` naming the
 * key and the range.
 */
export function resolveDaemonConfig (flags: DaemonFlags, file: Record<string, unknown>): DaemonConfig {
  for (const key of Object.keys(file)) {
    if (!FILE_KEYS.includes(key)) {
      throw new InvalidConfigurationError(`config.json: unknown setting "${key}" (known: ${SETTING_KEYS.join(', ')})`)
    }
  }
  const config: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) {
    const setting: Setting<unknown> = SETTINGS[key]
    const { value, name } = given(flags, key, 'flags') ?? given(file, key, 'config.json') ?? { value: setting.default, name: key }
    config[key] = setting.parse(value, name)
  }
  const resolved = config as unknown as DaemonConfig
  if (resolved.r > resolved.n) throw new InvalidConfigurationError(`r (${resolved.r}) must be at most n (${resolved.n})`)
  if (resolved.w > resolved.n) throw new InvalidConfigurationError(`w (${resolved.w}) must be at most n (${resolved.n})`)
  checkQuotas(resolved)
  if (resolved.apiHeadersTimeout > resolved.apiRequestTimeout) throw new InvalidConfigurationError(`apiHeadersTimeout (${resolved.apiHeadersTimeout}) must be at most apiRequestTimeout (${resolved.apiRequestTimeout})`)
  if (resolved.apiMaxConnectionsPerIp > resolved.apiMaxConnections) throw new InvalidConfigurationError(`apiMaxConnectionsPerIp (${resolved.apiMaxConnectionsPerIp}) must be at most apiMaxConnections (${resolved.apiMaxConnections})`)
  return resolved
}

/**
 * README's configuration table: one row per setting, from SETTINGS. A test compares it with
 * README.md and prints these rows when they differ.
 */
export function settingsMarkdown (): string {
  const code = (text: string): string => `\`${text}\``
  const rows = SETTING_KEYS.map(key => {
    const setting: Setting<unknown> = SETTINGS[key]
    const flag = setting.flag == null
      ? '—'
      : [
          code(`--${setting.flag.name}`),
          ...(setting.flag.repeatable === true ? ['(repeatable)'] : []),
          ...(setting.deprecatedAlias == null ? [] : [`(deprecated alias ${code(`--${setting.deprecatedAlias}`)})`])
        ].join(' ')
    const name = setting.deprecatedAlias == null ? code(key) : `${code(key)} (deprecated alias ${code(setting.deprecatedAlias)})`
    const help = setting.flag?.note == null ? setting.help : `${setting.help}; ${setting.flag.note}`
    const value = settingDefaultText(key)
    const def = value == null ? 'none' : `${code(value)}${setting.defaultNote == null ? '' : ` (${setting.defaultNote})`}`
    return `| ${name} | ${flag} | ${def} | ${setting.range} | ${help.replaceAll('|', '\\|')} |`
  })
  return ['| `config.json` key | flag | default | allowed | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
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
  return parseBootstrapList(text, file)
}

/**
 * The multiaddrs of a bootstrap list's text: one per line; blank lines and `#` comments are
 * skipped. A bad line raises `InvalidMultiaddrError` naming `file` and the line.
 */
export function parseBootstrapList (text: string, file: string): string[] {
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

/** An inbound budget in bytes: a whole number of at least MIN_FRAME_MEMORY. */
function frameMemory (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_FRAME_MEMORY) {
    throw invalid(key, `a whole number of bytes of at least ${MIN_FRAME_MEMORY} (the largest kv frame and 1 MiB)`, value)
  }
  return value
}

/** The quota settings of a `PeerInit`, defaulted and range-checked as SETTINGS checks them. */
function quotaSettings (init: PeerInit): Pick<PeerConfig, QuotaKey> {
  const pick = (key: QuotaKey, def: number): number => SETTINGS[key].parse(init[key] ?? def, key)
  return {
    kvPeerRequestRate: pick('kvPeerRequestRate', DEFAULT_KV_PEER_REQUEST_RATE),
    kvPeerRequestBurst: pick('kvPeerRequestBurst', DEFAULT_KV_PEER_REQUEST_BURST),
    kvPeerByteRate: pick('kvPeerByteRate', DEFAULT_KV_PEER_BYTE_RATE),
    kvPeerByteBurst: pick('kvPeerByteBurst', DEFAULT_KV_PEER_BYTE_BURST),
    kvPeerMaxInFlight: pick('kvPeerMaxInFlight', DEFAULT_KV_PEER_MAX_IN_FLIGHT),
    kvGlobalRequestRate: pick('kvGlobalRequestRate', DEFAULT_KV_GLOBAL_REQUEST_RATE),
    hintedBytesPerPeer: pick('hintedBytesPerPeer', DEFAULT_HINTED_BYTES_PER_PEER),
    hintedBytesTotal: pick('hintedBytesTotal', DEFAULT_HINTED_BYTES_TOTAL)
  }
}

/** The quota settings that bound each other: a global rate one peer cannot reach, a total at least one share. */
function checkQuotas (config: Pick<PeerConfig, QuotaKey>): void {
  if (config.kvGlobalRequestRate < 2 * config.kvPeerRequestRate) {
    throw new InvalidConfigurationError(`kvGlobalRequestRate (${config.kvGlobalRequestRate}) must be at least twice kvPeerRequestRate (${config.kvPeerRequestRate}), so that one peer alone cannot use it up; raise it or lower kvPeerRequestRate`)
  }
  if (config.hintedBytesTotal < config.hintedBytesPerPeer) {
    throw new InvalidConfigurationError(`hintedBytesTotal (${config.hintedBytesTotal}) must be ≥ hintedBytesPerPeer (${config.hintedBytesPerPeer})`)
  }
}

/** A connection budget: a whole number from MIN_MAX_CONNECTIONS to MAX_MAX_CONNECTIONS. */
function maxConnections (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_MAX_CONNECTIONS || value > MAX_MAX_CONNECTIONS) {
    throw invalid(key, `a whole number from ${MIN_MAX_CONNECTIONS} to ${MAX_MAX_CONNECTIONS}`, value)
  }
  return value
}

function positiveInt (value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigurationError(`${key}: expected a positive whole number, got ${describeValue(value)}`)
  }
  return value
}

/** What each value of a timing profile (PROFILES) sets, for README's profile table. */
const PROFILE_FIELDS: Record<keyof typeof PROFILES.default.gossip | Exclude<keyof typeof PROFILES.default, 'gossip'>, string> = {
  probeInterval: 'SWIM probe period',
  probeTimeout: 'SWIM probe timeout (direct ack)',
  indirectChecks: 'SWIM indirect probes after a missed ack',
  suspicionMult: 'suspicion floor, × log10(n) probe periods (Lifeguard)',
  suspicionMaxMult: 'suspicion for a lone accuser, × the floor',
  retransmitMult: 'each update piggybacked × log10(n + 1) times',
  pushPullInterval: 'digest push-pull with one member, × (ceil(log2(n / 32)) + 1) above 32 members',
  gossipInterval: 'news gossiped to `gossipNodes` members this often, while there is any',
  gossipNodes: 'members each gossip round sends news to (connected ones first)',
  handoffInterval: 'hinted and ownership handoff pass',
  antiEntropyInterval: 'Merkle anti-entropy round with one member',
  tombstoneGrace: '**tombstone grace**: a replica cut off for longer can bring a deleted value back'
}

/** A duration in ms the way README writes it: `500 ms`, `3 s`, `1 h`. */
function duration (ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`
  }
  return `${ms} ms`
}

/**
 * README's table of the timing profiles: every value each profile sets (PROFILES). A test
 * compares it with README.md and prints these rows when they differ.
 */
export function profilesMarkdown (): string {
  const names = Object.keys(PROFILES) as ProfileName[]
  const flat = (name: ProfileName): Record<string, number> => {
    const { gossip, ...rest } = PROFILES[name]
    return { ...gossip, ...rest }
  }
  const rows = (Object.keys(PROFILE_FIELDS) as Array<keyof typeof PROFILE_FIELDS>).map(field => {
    const isDuration = /Interval|Timeout|Grace/.test(field)
    const cells = names.map(name => {
      const value = flat(name)[field] ?? NaN
      return isDuration ? duration(value) : String(value)
    })
    return `| \`${field}\` | ${PROFILE_FIELDS[field]} | ${cells.join(' | ')} |`
  })
  return [`| value | what | ${names.map(name => `\`${name}\``).join(' | ')} |`, `|---|---|${names.map(() => '---|').join('')}`, ...rows].join('\n')
}
