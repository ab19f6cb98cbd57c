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
  /** the bearer token the CLI on this machine sends (`token create --save`, `daemon --init-token`), mode 0600 */
  apiToken: 'api-token',
  /** the API tokens a daemon accepts: roles, prefixes, expiries and sha256 digests of the secrets, mode 0600 */
  apiTokens: 'api-tokens.json',
  /** exclusive lock held by the running daemon */
  lock: 'daemon.lock',
  /** the network's signed roster (armoured text, see src/roster); gossip keeps it current */
  roster: 'roster',
  /** the network id this peer trusts (the operator's key as a peer id), one line */
  network: 'network',
  /** the operator's Ed25519 key that signs rosters, mode 0600: move it off daemon machines in production */
  operatorKey: 'operator.key'
} as const

/** Schema version of the data dir; checked on start, written by init. */
export const DATADIR_VERSION = 1

/** Default home of the data dir when neither `--data` nor `P2PSTORE_HOME` is given. */
export const DEFAULT_DATADIR_NAME = '.p2pstore'

/**
 * Encryptions under one data key (DEK) before it is rotated. Each record write draws a random
 * 96-bit nonce; NIST SP 800-38D section 8.3 caps random-nonce invocations of AES-GCM at 2^32 per
 * key (collision probability 2^-32). 2^28 keeps that probability below 2^-40.
 */
export const ENCRYPTION_ROTATE_AFTER = 2 ** 28

/** A data key is also rotated once it is this old (checked on every write). */
export const ENCRYPTION_ROTATE_INTERVAL = 7 * 24 * 60 * minute

/** Default libp2p listen address of a peer built with `createPeer()`: every interface, any free port. */
export const DEFAULT_PEER_LISTEN = ['/ip4/0.0.0.0/tcp/0']

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

/**
 * How often libp2p's connection monitor pings every open connection (its default is 10 s). SWIM
 * already probes one member a second and detects failures; the monitor is kept to measure RTTs and
 * reap dead connections, but at its default it sent about five times SWIM's messages in a 50-peer
 * mesh (each ping a new stream on every connection, both ways). Its cost grows with the
 * connections a peer holds: at 1 min, 25 idle daemons opened 0.63 ping streams/s each, and a peer
 * with 64–99 connections opens 2–3.3 a second (each a protocol negotiation, ~8× a message on a
 * long-lived stream) — as much as test-net SWIM's 3.3 probes/s. Every 5 min it is 0.4–0.7/s.
 */
export const CONNECTION_PING_INTERVAL = 5 * minute

/** kad-dht self-query interval in production (refreshes the view of the key space near us). */
export const QUERY_SELF_INTERVAL = 5 * minute

/**
 * Deadline of the CLI's `status` and `peers` requests (and other requests that do no network work
 * on the daemon's side): a daemon answers them at once, so a paused or stuck one shows in seconds.
 */
export const API_STATUS_TIMEOUT = 5 * second

/** How often `p2pstore status --watch` asks the daemon again (and so redraws at most). */
export const STATUS_WATCH_INTERVAL = 1 * second

/**
 * The longest `status --watch` waits between two polls while `/v1/events` is live: events wake it
 * sooner (the daemon's heartbeat comes every 5 s).
 */
export const STATUS_WATCH_EVENTS_INTERVAL = 5 * second

/** An event stream (`/v1/events`) silent for this long (three missed 5 s heartbeats) is given up. */
export const EVENTS_IDLE_TIMEOUT = 15 * second

/**
 * Deadline of the CLI's `put`, `get` and `delete` requests: the daemon's own deadline of a whole
 * quorum operation (CLIENT_REQUEST_TIMEOUT) plus a margin, so its answer (even a timeout) arrives.
 */
export const API_DATA_TIMEOUT = 15 * second

/** Deadline of the CLI's batch requests (`get K1 K2 …`, `put --batch`): many quorum operations. */
export const API_BATCH_TIMEOUT = 60 * second

/**
 * The API server's limits on clients (Node's http server, through Fastify). A client must send a
 * whole request (headers and body: a value of up to 1 MiB) within `API_SERVER_REQUEST_TIMEOUT`, its
 * headers within `API_SERVER_HEADERS_TIMEOUT`, and may leave a connection silent for
 * `API_SERVER_IDLE_TIMEOUT` (longer than any request takes to answer: quorum calls end within
 * seconds). Without them a client sending one body byte every 5 s held a connection for as long as
 * it liked.
 */
export const API_SERVER_REQUEST_TIMEOUT = 30 * second
/** See `API_SERVER_REQUEST_TIMEOUT`. */
export const API_SERVER_HEADERS_TIMEOUT = 10 * second
/** See `API_SERVER_REQUEST_TIMEOUT`. */
export const API_SERVER_IDLE_TIMEOUT = 60 * second
/** How long a kept-alive connection may wait for its next request. */
export const API_SERVER_KEEP_ALIVE_TIMEOUT = 5 * second
/** How often Node checks the request and headers timeouts of open connections (its default is 30 s). */
export const API_SERVER_TIMEOUT_CHECK_INTERVAL = 1 * second
/** Requests one kept-alive connection may carry before the server closes it. */
export const API_SERVER_MAX_REQUESTS_PER_SOCKET = 1000
/** Open connections the API accepts at once; further ones are closed as they arrive. */
export const API_SERVER_MAX_CONNECTIONS = 1024
/** Open connections the API accepts from one IP address at once; further ones are closed as they arrive (issue #19). */
export const API_SERVER_MAX_CONNECTIONS_PER_IP = 256
/**
 * Failed authentications (missing or wrong token) one IP address may make per
 * `API_AUTH_FAILURE_WINDOW`; past it, its requests without a valid token get a 429 until the window
 * ends (issue #19). A valid token still works: several clients may share one address.
 */
export const API_AUTH_FAILURE_LIMIT = 200
/** See `API_AUTH_FAILURE_LIMIT`. */
export const API_AUTH_FAILURE_WINDOW = 60 * second
/** Most IP addresses whose failed authentications are counted at once (the oldest is forgotten). */
export const API_AUTH_FAILURE_ADDRESSES = 16_384
/** Largest request head (request line and headers); larger ones get a 431. */
export const API_SERVER_MAX_HEADER_BYTES = 16 * 1024

/** How long the daemon waits for a clean stop on SIGINT/SIGTERM before it exits anyway. */
export const SHUTDOWN_TIMEOUT = 10 * second

/** Deadline for a test-net peer to start and report its addresses. */
export const TESTNET_PEER_START_TIMEOUT = 30 * second

/** Deadline for every test-net peer to know every other. */
export const TESTNET_JOIN_TIMEOUT = 2 * minute

/** Largest test net `p2pstore testnet` starts as processes on one machine. */
export const TESTNET_MAX_PEERS = 128

/** Replica read/write protocol: one long-lived stream per peer pair, requests matched by id. */
export const PROTOCOL_KV = '/p2pstore/kv/1.0.0'

/** Default replication factor: how many home replicas hold each key (Dynamo's N). */
export const DEFAULT_N = 3

/** Default read quorum (Dynamo's R). R + W > N gives read-your-writes on a healthy network. */
export const DEFAULT_R = 2

/** Default write quorum (Dynamo's W). */
export const DEFAULT_W = 2

/** Largest N a request may ask for. */
export const MAX_N = 16

/** Longest key, in bytes. */
export const MAX_KEY_BYTES = 1024

/** Largest value, in bytes. */
export const MAX_VALUE_BYTES = 1024 * 1024

/** Most items in one batch (`POST /v1/batch`, `p2pstore put --batch`, `p2pstore get K1 K2 …`). */
export const MAX_BATCH_ITEMS = 1000

/** Largest body of one batch request, in bytes (its values travel as JSON text or base64). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024

/** Items of one batch the daemon runs at once (items of the same key always run in order). */
export const BATCH_CONCURRENCY = 32

/** A key with more live siblings than this logs a warning (Riak's `warn_siblings`). */
export const WARN_SIBLINGS = 25

/** A write that would leave a key with more siblings than this is refused (Riak's `max_siblings`). */
export const MAX_SIBLINGS = 100

/** A write that would make all siblings of a key weigh more than this is refused. */
export const MAX_OBJECT_BYTES = 16 * 1024 * 1024

/** Most entries (version vector entries plus cloud dots) a causal context may have. */
export const MAX_CONTEXT_ENTRIES = 1024

/** Longest actor id, in bytes (8-byte storage epoch + 4-byte incarnation in practice). */
export const MAX_ACTOR_BYTES = 32

/**
 * Largest frame on `/p2pstore/kv/1.0.0`: one whole sibling set plus headroom for the envelope. A
 * write keeps a key under MAX_OBJECT_BYTES, but the merge of concurrent writes coordinated by
 * different replicas can exceed it; up to 4× is carried so such a key never gets stuck.
 */
export const MAX_KV_MESSAGE_BYTES = 4 * MAX_OBJECT_BYTES + 256 * 1024

/**
 * Most keys one SCAN request may ask a replica for, and most a listing page may hold
 * (`GET /v1/kv?limit=`, `p2pstore keys --limit`): a page is merged in memory, never the key set.
 */
export const MAX_SCAN_PAGE = 1000

/** Keys in a listing page when the request names no limit. */
export const DEFAULT_SCAN_PAGE = 100

/**
 * Bytes of sibling sets a replica puts in one SCAN answer before it stops the page early (always
 * at least one entry): an export page with large values stays well under MAX_KV_MESSAGE_BYTES.
 */
export const SCAN_ANSWER_BYTES = 8 * 1024 * 1024

/** Deadline of one replica request (read, store or forwarded put). */
export const REPLICA_REQUEST_TIMEOUT = 5 * second

/**
 * Longest a placement may wait on a Kademlia lookup while its member view may be partial (bootstrap
 * peers configured, membership not synced yet); after it, the view decides. Never waited on when
 * the routing table is empty: kad-dht would wait for a first peer until the request's deadline.
 */
export const PLACEMENT_LOOKUP_TIMEOUT = 2 * second

/**
 * How many of the members a placement's Kademlia lookup found it asks for their member view (a
 * SWIM full-state sync) while its own view is partial: the first answer completes the view.
 */
export const PLACEMENT_SYNC_PEERS = 3

/** Deadline of a whole client request (a quorum put or get). */
export const CLIENT_REQUEST_TIMEOUT = 10 * second

/** Inbound kv stream: how long a request may take to arrive in full once its first byte did. */
export const KV_READ_TIMEOUT = 10 * second

/** Streams of `/p2pstore/kv/1.0.0` per connection, each way (the handler's `maxInboundStreams`). */
export const KV_STREAMS_PER_CONNECTION = 8

/** Streams of `/p2pstore/membership/1.0.0` per connection, each way. */
export const MEMBERSHIP_STREAMS_PER_CONNECTION = 64

/** Largest membership frame read or written. */
export const MEMBERSHIP_MAX_FRAME = 4 * 1024 * 1024

/** Most requests one peer may have in flight to us on its kv stream. */
export const KV_MAX_IN_FLIGHT = 256

/** HTTP header carrying the opaque context token, both ways (Riak's X-Riak-Vclock). */
export const CONTEXT_HEADER = 'x-p2pstore-context'
/** HTTP header of a request trace (`?trace=1`): the trace as base64url JSON, on every answer */
export const TRACE_HEADER = 'x-p2pstore-trace'
/** how long a traced request waits after its answer for late replies and read repairs to show */
export const TRACE_GRACE = 2 * second

/** Roster gossip: peers swap signed rosters on every new connection; the newest sequence wins. */
export const PROTOCOL_ROSTER = '/p2pstore/roster/1.0.0'

/** Deadline of one roster exchange (dial, send, read). */
export const ROSTER_EXCHANGE_TIMEOUT = 5 * second

/** A roster exchange with one random connected member this often, to heal missed pushes. */
export const ROSTER_GOSSIP_INTERVAL = 30 * second

/** How often a daemon looks at its data dir's roster file for a newer one (`p2pstore roster add`). */
export const ROSTER_FILE_POLL_INTERVAL = 500

/** SWIM gossip protocol (probes, indirect probes, push-pull sync, leave). */
export const PROTOCOL_MEMBERSHIP = '/p2pstore/membership/1.0.0'

/**
 * SWIM timing for production, memberlist's LAN values (used by Consul and Serf on many thousands of
 * machines): one probe per second, 500 ms to answer, 3 indirect probes, suspicion floor
 * 4 × log10(n) protocol periods growing to 6× that for a lone accuser, full-state push-pull every
 * 30 s (stretched × (ceil(log2(n / 32)) + 1) above 32 members), each update sent 4 × log10(n + 1)
 * times, and news gossiped to 3 members every 200 ms while there is any.
 */
export const GOSSIP_DEFAULT = {
  probeInterval: 1 * second,
  probeTimeout: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  retransmitMult: 4,
  pushPullInterval: 30 * second,
  gossipInterval: 200,
  gossipNodes: 3
} as const

/**
 * SWIM timing for test nets on one machine: 3× faster probing so that failure detection shows in
 * a second or two, with the same multipliers. Loopback answers in well under a millisecond, so the
 * shorter timeouts cost no accuracy there; across real networks use GOSSIP_DEFAULT. (The period
 * was 200 ms: probes were then most of an idle test-net daemon's CPU, 1.3 % of a core of its 2.1 %.)
 */
export const GOSSIP_TESTNET = {
  probeInterval: 300,
  probeTimeout: 100,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  retransmitMult: 4,
  pushPullInterval: 3 * second,
  gossipInterval: 200,
  gossipNodes: 3
} as const

/**
 * A closed connection makes membership probe the member at once (a crashed peer's sockets close
 * within milliseconds) at most this often per member: under a connection budget connections also
 * close because a budget trimmed them, and each probe would reopen one.
 */
export const DISCONNECT_HINT_INTERVAL = 30 * second

/**
 * Deadline of the dial (TCP, Noise, Yamux) that opens a membership channel to a member not yet
 * connected; the request's own timeout (a probe's 100–500 ms) starts once the channel is open. Under
 * a connection budget most members are not connected, and a dial on a loaded machine took longer
 * than a test-net probe timeout: counted in it, every such probe was a missed ack.
 */
export const MEMBERSHIP_DIAL_TIMEOUT = 2 * second

/**
 * A member's membership stream to another (its channel: probes, indirect probes, push-pull and
 * leave, each request with an id) is closed once unused this long, and reopened on the next
 * request; the other side closes an inbound one idle twice as long. Round-robin probing reaches
 * each member once per n protocol periods, so a channel lives across rounds up to ~300 members.
 */
export const GOSSIP_CHANNEL_IDLE_TIMEOUT = 5 * minute

/** Lifeguard: the local health multiplier saturates here (probes then run 9× slower). */
export const MAX_LOCAL_HEALTH = 8

/** How long a leaving peer waits for its LEAVE messages to be acknowledged. */
export const LEAVE_TIMEOUT = 1 * second

/**
 * How far ahead of this peer's clock an incarnation in a membership message may be (incarnations
 * start at the wall clock in ms and rise by one per refutation): an update above `now +
 * MAX_CLOCK_SKEW` is dropped, so a stranger cannot push a member to an incarnation (2^53, say)
 * above which it could never refute (issue #19).
 */
export const MAX_CLOCK_SKEW = 10 * minute

/**
 * Most members one peer keeps in its member table (verified members only: a peer that was reached
 * or spoke itself over a connection authenticated as it). A new member past it is taken only in
 * place of a dead or left one (issue #19).
 */
export const MAX_MEMBERS = 16_384

/**
 * Most members heard of from others but not yet reached (candidates): each is pinged before it
 * enters the member table and placement; past this bound news of more is dropped (issue #19: 20 000
 * forged ids once made every put answer 503).
 */
export const MAX_MEMBER_CANDIDATES = 4096

/** A candidate member not reached within this long is forgotten (it comes back with newer news). */
export const MEMBER_CANDIDATE_TTL = 1 * minute

/**
 * A member whose news of newcomers answered no ping this many times within MEMBER_CANDIDATE_TTL
 * is not believed about newcomers for the rest of it: a forged flood costs this many pings, not
 * one per forged id (issue #19).
 */
export const CANDIDATE_SENDER_FAILURES = 32

/** How often candidate members are pinged while there are any. */
export const CANDIDATE_INTERVAL = 200

/** Candidates pinged per round, and most such pings in flight at once. */
export const CANDIDATE_PINGS_PER_ROUND = 8
export const MAX_CANDIDATE_PINGS = 32

/**
 * Most dead or left claims (from a member other than the one they name) being checked at once: each
 * makes this peer probe the named member itself, and the claim is believed only if that fails.
 */
export const MAX_CLAIM_CHECKS = 64

/**
 * A member named dead or left by another is probed for it at most this often: a peer repeating
 * the claim on every message makes this peer probe the member once per interval, not once per
 * message (its own probe rounds and suspicions still run in between).
 */
export const CLAIM_CHECK_INTERVAL = 5 * second

/** Most updates waiting in the gossip queue; past it the most-sent one makes room (issue #19). */
export const MAX_GOSSIP_QUEUE = 4096

/** Most updates piggybacked on one probe message. */
export const MAX_PIGGYBACK = 16

/**
 * Most updates a received ping, ping-req, ack, nack, gossip or leave may carry (4 × MAX_PIGGYBACK,
 * room for a peer configured to piggyback more); more is a malformed frame, refused before its
 * member ids are parsed (issue #19: a forged-membership flood of 200 ids a message).
 */
export const MAX_PIGGYBACK_RECEIVED = 64

/**
 * Updates of push-pull requests (sync, sync-digest, sync-push) one sender may have this peer
 * decode: a bucket of MEMBERSHIP_BULK_UPDATES_BURST (one full-state sync of a frame's worth of
 * members) refilled at MEMBERSHIP_BULK_UPDATES_RATE a second. An honest member sends one push-pull
 * per push-pull interval to one member (at most 16 384 members every 3 s, under test-net timing);
 * past it a request is refused unread, unpenalised (issue #19: parsing a forged member id and its
 * addresses is what a flood costs).
 */
export const MEMBERSHIP_BULK_UPDATES_BURST = 40_000
export const MEMBERSHIP_BULK_UPDATES_RATE = 1_000
/** Senders whose push-pull budget is remembered (a full bucket is forgotten first: it is a new one). */
export const MAX_MEMBERSHIP_BULK_SENDERS = 4096

/**
 * Most bytes of updates piggybacked on one membership message (probe, ack, gossip): memberlist's
 * UDP budget of 1 400 bytes less its headers. An update alone larger than this is never sent.
 */
export const MAX_PIGGYBACK_BYTES = 1200

/**
 * Above this many members the push-pull interval is stretched by ceil(log2(n / 32)) + 1, as
 * memberlist's pushPullScale does: 2× at 33–64, 10× at 10 000 members.
 */
export const PUSH_PULL_SCALE_THRESHOLD = 32

/**
 * The periodic push-pull compares digests of buckets of the member table, about this many
 * members to a bucket (a power of two of buckets, at most MAX_SYNC_BUCKETS), and then ships only
 * the records of the buckets that differ.
 */
export const SYNC_BUCKET_MEMBERS = 8

/** Most buckets of a digest push-pull (4 bytes of digest each). */
export const MAX_SYNC_BUCKETS = 4096

/**
 * How often a peer walks its store to hand off what it should not keep: hinted copies (delivered
 * to their home replicas, then deleted) and keys it no longer owns after a join (sent to the new
 * owners, deleted once they acknowledged). Membership changes trigger a pass sooner.
 */
export const HANDOFF_INTERVAL = 10 * second

/**
 * A peer drops a key it holds as a (non-hinted) replica only when it is farther than this many
 * places beyond the N home replicas, so a membership flap does not move data back and forth.
 */
export const HANDOFF_MARGIN = 1

/** Test nets hand off every second. */
export const HANDOFF_INTERVAL_TESTNET = 1 * second

/**
 * Anti-entropy: every this often a peer compares Merkle summaries with one other member (round
 * robin) and exchanges only the keys that differ. Membership changes start a sweep over every
 * member at once (that is how N copies are restored after a death, and how a newcomer gets what
 * it now owns).
 */
export const ANTI_ENTROPY_INTERVAL = 30 * second

/** Test nets compare every 2 s. */
export const ANTI_ENTROPY_INTERVAL_TESTNET = 2 * second

/**
 * A member whose last anti-entropy round found every leaf equal is skipped while nothing was
 * written here and the view is unchanged, for up to this many intervals; then a round runs anyway.
 */
export const ANTI_ENTROPY_QUIET_ROUNDS = 10
/** First wait before a sweep's failed round is tried again; it doubles up to the anti-entropy interval. */
export const ANTI_ENTROPY_SWEEP_RETRY = 1 * second

/** Keys transferred at once during an anti-entropy round (the throttle that keeps foreground requests first). */
export const ANTI_ENTROPY_CONCURRENCY = 4

/**
 * A tombstone is garbage-collected only after this grace period, and only when every member
 * among the key's first N places — dead ones included, only members that left are skipped — holds
 * exactly the same tombstone: a replica cut off by a partition can then never bring the old value
 * back.
 */
export const TOMBSTONE_GRACE = 1 * 60 * minute

/** Test nets collect tombstones after 3 s. */
export const TOMBSTONE_GRACE_TESTNET = 3 * second

/**
 * The timing profiles a daemon runs with (`--profile`, config.json `profile`): every value a
 * profile sets, in one place. `default` is for real networks; `testnet` is for many peers on one
 * machine and shortens everything, **including the tombstone grace (3 s)**: a replica cut off for
 * longer than the grace can bring a deleted value back, so never run `testnet` across real networks.
 */
export const PROFILES = {
  default: {
    gossip: GOSSIP_DEFAULT,
    handoffInterval: HANDOFF_INTERVAL,
    antiEntropyInterval: ANTI_ENTROPY_INTERVAL,
    tombstoneGrace: TOMBSTONE_GRACE
  },
  testnet: {
    gossip: GOSSIP_TESTNET,
    handoffInterval: HANDOFF_INTERVAL_TESTNET,
    antiEntropyInterval: ANTI_ENTROPY_INTERVAL_TESTNET,
    tombstoneGrace: TOMBSTONE_GRACE_TESTNET
  }
} as const

/** The name of a timing profile (see PROFILES). */
export type ProfileName = keyof typeof PROFILES

/**
 * Virtual positions per unit of capacity (issue #15): a member of capacity c occupies
 * round(c × POSITIONS_PER_CAPACITY) positions in the XOR key space. The spread of a member's share
 * shrinks with the square root of its positions; 128 keeps the busiest of 10 000 equal members
 * within 1.25 × the mean (README, placement; `npm run bench -- placement`).
 */
export const POSITIONS_PER_CAPACITY = 128

/** Default capacity weight of a peer (`capacity` in config.json, `--capacity`). */
export const DEFAULT_CAPACITY = 1

/** Largest capacity weight a peer may declare (its positions: capacity × POSITIONS_PER_CAPACITY). */
export const MAX_CAPACITY = 64

/** Longest zone label, in characters. */
export const MAX_ZONE_LENGTH = 64

/** `GET /v1/events`: most server-sent-event subscribers at once (each holds a connection open); more get 503. */
export const MAX_EVENT_SUBSCRIBERS = 16
/** `GET /v1/events`: the health report is sent at least this often, as a heartbeat (issue #18). */
export const EVENTS_HEARTBEAT = 5 * second
/** The `/ui` traffic strip: one sample of the kv API's requests per this period, the last `UI_TRAFFIC_SAMPLES` kept. */
export const UI_TRAFFIC_PERIOD = 5 * second
/** See `UI_TRAFFIC_PERIOD`: 36 samples are three minutes. */
export const UI_TRAFFIC_SAMPLES = 36

/**
 * Connection budget (issue #16): most connections a peer keeps open (`maxConnections` in
 * config.json, `--max-connections`). kubo keeps 32–96; the XOR neighbourhood is kept, the rest is
 * opened on demand and closed when idle. libp2p refuses inbound connections at this count.
 */
export const DEFAULT_MAX_CONNECTIONS = 64
/** Smallest connection budget: one protected neighbour and one connection opened on demand. */
export const MIN_MAX_CONNECTIONS = 2
/** Largest connection budget (libp2p's own default cap is 300). */
export const MAX_MAX_CONNECTIONS = 10_000

/**
 * Inbound budget (issue #19): most bytes of kv and membership frames still arriving from one peer,
 * over all its streams and connections (`frameMemoryPerPeer`). The largest kv frame must fit.
 */
export const DEFAULT_FRAME_MEMORY_PER_PEER = 80 * 1024 * 1024
/** Most bytes of frames still arriving from all peers together (`frameMemoryTotal`): four peers' shares. */
export const DEFAULT_FRAME_MEMORY_TOTAL = 4 * DEFAULT_FRAME_MEMORY_PER_PEER
/** Smallest inbound budget: the largest kv frame and 1 MiB of what follows it. */
export const MIN_FRAME_MEMORY = MAX_KV_MESSAGE_BYTES + 1024 * 1024
/**
 * kv quotas (issue #19): the requests a second one peer may make of us on the kv protocol, over
 * all its streams (`kvPeerRequestRate`). A token bucket: a peer past it is paced (its streams are
 * not read) until tokens return. Honest traffic, our own coordinators' replica writes included,
 * stays far below it: a 3-peer put/get loop at 64 in flight (test/bench/quota.ts) sent ~100
 * replica requests/s per peer pair on this machine, and no request was held back.
 */
export const DEFAULT_KV_PEER_REQUEST_RATE = 20_000
/** Requests one peer may make at once above its rate (`kvPeerRequestBurst`): 200 ms at the default rate. */
export const DEFAULT_KV_PEER_REQUEST_BURST = 4000
/** Bytes of kv frames a second one peer may send us (`kvPeerByteRate`). */
export const DEFAULT_KV_PEER_BYTE_RATE = 64 * 1024 * 1024
/** Bytes one peer may send at once above its byte rate (`kvPeerByteBurst`); every kv frame must fit. */
export const DEFAULT_KV_PEER_BYTE_BURST = 16 * 1024 * 1024
/** Requests one peer may have in flight with us over all its kv streams (`kvPeerMaxInFlight`). */
export const DEFAULT_KV_PEER_MAX_IN_FLIGHT = 256
/**
 * kv requests a second from all peers together (`kvGlobalRequestRate`): at least twice one
 * peer's rate, so that no single peer can use it up alone.
 */
export const DEFAULT_KV_GLOBAL_REQUEST_RATE = 50_000
/** The global bucket holds this many seconds of its rate (and at least two peers' bursts). */
export const KV_GLOBAL_BURST_SECONDS = 0.2
/**
 * A peer kept waiting by its kv quota for this long in total (ms) earns one penalty point with
 * its standing: sustained abuse, not a burst.
 */
export const QUOTA_PENALTY_AFTER = 1 * second
/** Per-peer quota state whose buckets have refilled is dropped at most this often (ms). */
export const QUOTA_SWEEP_INTERVAL = 1 * second
/**
 * Hinted storage (issue #19): most bytes of hinted copies (key and values) one peer may make us
 * hold for home replicas that could not take its writes (`hintedBytesPerPeer`).
 */
export const DEFAULT_HINTED_BYTES_PER_PEER = 64 * 1024 * 1024
/** Most bytes of hinted copies we hold for all peers together (`hintedBytesTotal`). */
export const DEFAULT_HINTED_BYTES_TOTAL = 256 * 1024 * 1024

/**
 * The budget trims idle connections down to this fraction of `maxConnections` (its low
 * watermark), so that inbound connections (a SWIM probe among them) find room below libp2p's cap.
 */
export const CONNECTION_LOW_WATER = 0.75
/** At most this fraction of `maxConnections` is held for the protected XOR neighbourhood. */
export const CONNECTION_PROTECTED_SHARE = 0.5
/**
 * A new connection no request has used yet is not trimmed for this long (go-libp2p's grace
 * period): the gap between a remote opening it and its first request arriving, and what libp2p
 * itself does on it first (identify, a join's first exchange). Work in flight is protected by
 * `acquire()`, whatever its age.
 */
export const CONNECTION_GRACE_PERIOD = 2 * second
/**
 * A connection whose peer's last request ended less than this long ago is not trimmed yet: a
 * request and its follow-up (a probe and its indirect probe, a read and its repair) share it.
 */
export const CONNECTION_IDLE_AFTER = 250
/** How often the budget looks for idle connections to trim besides when one opens or is released. */
export const CONNECTION_TRIM_INTERVAL = 1 * second
/** A trimmed connection's graceful close may take this long before it is aborted (until then it still counts). */
export const CONNECTION_CLOSE_TIMEOUT = 500
/**
 * The libp2p tag on protected neighbours. Not a KEEP_ALIVE tag: libp2p would redial such a peer
 * the moment the other side trimmed the connection (a neighbour is not always mutual), and the
 * other side would trim it again — a loop seen every ~2 s under a budget of 3.
 */
export const CONNECTION_PROTECT_TAG = 'p2pstore-neighbour'
/** The value of the neighbourhood tag: above kad-dht's `kad-close` (50), so libp2p's pruner spares them first. */
export const CONNECTION_PROTECT_VALUE = 100
/**
 * A kv request that failed because its connection or stream closed is tried again this many
 * times at most (within its deadline): the connection budget may close an idle connection just as
 * a request starts on it.
 */
export const KV_CLOSED_RETRIES = 3

/**
 * Standing (issue #19): a peer's penalty points halve every this long (`penaltyHalfLife`), so
 * that an honest peer that sent one bad frame is in good standing again soon.
 */
export const DEFAULT_PENALTY_HALF_LIFE = 10 * minute
/** A peer whose points reach this is disconnected and refused for `banDuration` (`banThreshold`). */
export const DEFAULT_BAN_THRESHOLD = 100
/** How long a banned peer is refused (`banDuration`). */
export const DEFAULT_BAN_DURATION = 10 * minute
/** Points a malformed kv or membership frame (decode error, protocol violation) costs: ten of them ban the sender. */
export const PENALTY_MALFORMED_FRAME = 10
/** Points a frame announced over its protocol's size limit costs. */
export const PENALTY_OVERSIZED_FRAME = 10
/** Points a stream reset for not reading what we wrote to it costs (a slow link looks the same: lightly). */
export const PENALTY_SLOW_READER = 5
/**
 * Most peers the standing table keeps scores of: past it the lowest scores are forgotten, so that
 * a flood of fresh identities costs bounded memory (bans themselves are kept, up to the same count).
 */
export const STANDING_MAX_PEERS = 4096

/**
 * Most inbound connections from one IP address, open or still upgrading (`maxConnectionsPerIp`;
 * go-libp2p's resource manager allows 8). Loopback and the `allow` ranges are exempt.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 8
/** Most inbound connections from one address range, a /24 of IPv4 or a /64 of IPv6 (`maxConnectionsPerRange`). */
export const DEFAULT_MAX_CONNECTIONS_PER_RANGE = 32
/** Inbound connections one host may open per second (libp2p's `inboundConnectionThreshold`; `inboundConnectionRate`). */
export const DEFAULT_INBOUND_CONNECTION_RATE = 5
/** Inbound connections still upgrading (Noise, Yamux) at once, over all hosts (libp2p's `maxIncomingPendingConnections`; `maxPendingConnections`). */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 10
/** An inbound connection must finish its upgrade (Noise, Yamux) within this long (`inboundUpgradeTimeout`). */
export const DEFAULT_INBOUND_UPGRADE_TIMEOUT = 10 * second

/**
 * Yamux streams one connection may have open each way (issue #19; the library allows 1 000 and
 * go-libp2p's resource manager 256 inbound per peer). Each p2pstore protocol caps its own
 * streams far below this (KV_STREAMS_PER_CONNECTION, MEMBERSHIP_STREAMS_PER_CONNECTION).
 */
export const YAMUX_MAX_STREAMS = 256
/**
 * Largest receive window a yamux stream grows to (the library's default is 16 MiB): what a
 * sender may have in flight on one stream, and so the largest data frame an honest peer sends.
 * A data frame announced longer is refused at its header, before its body is buffered.
 */
export const YAMUX_MAX_STREAM_WINDOW = 4 * 1024 * 1024

/**
 * Most unsent bytes of answers one kv or membership stream may hold before further answers wait
 * (`streamWriteBuffer`; libp2p's own write buffer is unbounded): one frame larger than this is
 * still taken whole when nothing else waits.
 */
export const DEFAULT_STREAM_WRITE_BUFFER = 4 * 1024 * 1024
/** A stream whose unsent answers waited this long for its peer to read any is reset (`slowReaderTimeout`). */
export const DEFAULT_SLOW_READER_TIMEOUT = 10 * second
/**
 * Most unsent bytes of kv and membership streams to one peer, over all its streams and connections
 * (`writeMemoryPerPeer`): the largest kv frame and then some, as `DEFAULT_FRAME_MEMORY_PER_PEER`.
 */
export const DEFAULT_WRITE_MEMORY_PER_PEER = 80 * 1024 * 1024
/** Most unsent bytes of kv and membership streams to all peers together (`writeMemoryTotal`): four peers' shares. */
export const DEFAULT_WRITE_MEMORY_TOTAL = 4 * DEFAULT_WRITE_MEMORY_PER_PEER
