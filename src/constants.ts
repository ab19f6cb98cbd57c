/**
 * Every protocol id, default and limit of p2pstore, in one place. Durations are in milliseconds and
 * written with their unit so that `5 * second` reads as what it is.
 *
 * @packageDocumentation
 */

export const second = 1000
export const minute = 60 * second

/** The package version, reported by `/v1/status` and `p2pstore --version`. */
export const VERSION = '0.1.0'

/** Kademlia protocol of p2pstore's own DHT: never the public IPFS DHT's `/ipfs/kad/1.0.0`. */
export const PROTOCOL_KAD = '/p2pstore/kad/1.0.0'

/** Data dir layout: file names inside `<datadir>`. */
export const DATADIR_FILES = {
  /** the peer's Ed25519 private key, protobuf-encoded, mode 0600 */
  identity: 'identity.key',
  /** operator configuration (JSON), written by `p2pstore init` */
  config: 'config.json',
  /** the running daemon's API URL; present only while a daemon runs (kubo's convention) */
  api: 'api',
  /** the bearer token the API demands when bound beyond loopback, mode 0600 */
  apiToken: 'api-token',
  /** exclusive lock held by the running daemon */
  lock: 'daemon.lock'
} as const

/** Schema version of the data dir; checked on start, written by init. */
export const DATADIR_VERSION = 1

/** Default home of the data dir when neither `--data` nor `P2PSTORE_HOME` is given. */
export const DEFAULT_DATADIR_NAME = '.p2pstore'

/** Default libp2p listen address of a daemon: every interface, a fixed port operators can open. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4700']

/** Default API host: loopback, so the API is never exposed by accident. */
export const DEFAULT_API_HOST = '127.0.0.1'

/** Default API port. */
export const DEFAULT_API_PORT = 4701

/** First delay before retrying the bootstrap peers when none answered. */
export const BOOTSTRAP_RETRY_MIN = 1 * second

/** The bootstrap retry backoff doubles up to this delay. */
export const BOOTSTRAP_RETRY_MAX = 1 * minute

/** How long one dial of one bootstrap peer may take. */
export const BOOTSTRAP_DIAL_TIMEOUT = 10 * second

/** How often a joined peer checks that it still has at least one connection, and rejoins if not. */
export const REJOIN_CHECK_INTERVAL = 30 * second

/** How long the Kademlia self-lookup at join may take. */
export const JOIN_LOOKUP_TIMEOUT = 30 * second

/** kad-dht self-query interval in production (refreshes the view of the key space near us). */
export const QUERY_SELF_INTERVAL = 5 * minute

/** Deadline of one HTTP request from the CLI to a daemon. */
export const API_REQUEST_TIMEOUT = 30 * second

/** How long the daemon waits for a clean stop on SIGINT/SIGTERM before it exits anyway. */
export const SHUTDOWN_TIMEOUT = 10 * second

/** Deadline for a test-net peer to start and report its addresses. */
export const TESTNET_PEER_START_TIMEOUT = 30 * second

/** Deadline for every test-net peer to know every other. */
export const TESTNET_JOIN_TIMEOUT = 2 * minute

/** Largest test net `p2pstore testnet` starts as processes on one machine. */
export const TESTNET_MAX_PEERS = 64
