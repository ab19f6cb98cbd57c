/**
 * What a daemon bounds, and what those bounds cost at worst: one row per limit in force (its value,
 * the setting or constant behind it, and the most memory a hostile peer or client can make it
 * hold), for `GET /v1/limits` and `p2pstore limits` (issue #19). Pure: computed from the resolved
 * settings, no I/O.
 *
 * @packageDocumentation
 */

import {
  DEFAULT_HINTED_BYTES_PER_PEER, DEFAULT_HINTED_BYTES_TOTAL, DEFAULT_KV_GLOBAL_REQUEST_RATE, DEFAULT_KV_PEER_BYTE_BURST,
  DEFAULT_KV_PEER_BYTE_RATE, DEFAULT_KV_PEER_MAX_IN_FLIGHT, DEFAULT_KV_PEER_REQUEST_BURST, DEFAULT_KV_PEER_REQUEST_RATE,
  API_AUTH_FAILURE_ADDRESSES, API_AUTH_FAILURE_LIMIT, API_SERVER_MAX_CONNECTIONS_PER_IP, MAX_CLOCK_SKEW, MAX_GOSSIP_QUEUE, MAX_MEMBER_CANDIDATES, MAX_MEMBERS,
  API_SERVER_HEADERS_TIMEOUT, API_SERVER_IDLE_TIMEOUT, API_SERVER_KEEP_ALIVE_TIMEOUT, API_SERVER_MAX_CONNECTIONS,
  API_SERVER_MAX_HEADER_BYTES, API_SERVER_MAX_REQUESTS_PER_SOCKET, API_SERVER_REQUEST_TIMEOUT, KV_MAX_IN_FLIGHT,
  KV_READ_TIMEOUT, KV_STREAMS_PER_CONNECTION, MAX_CONTEXT_ENTRIES, MAX_KEY_BYTES, MAX_KV_MESSAGE_BYTES, MAX_OBJECT_BYTES, MAX_PIGGYBACK,
  MAX_PIGGYBACK_BYTES, MAX_SIBLINGS, MAX_VALUE_BYTES, MEMBERSHIP_MAX_FRAME, MEMBERSHIP_STREAMS_PER_CONNECTION,
  DEFAULT_BAN_DURATION, DEFAULT_BAN_THRESHOLD, DEFAULT_INBOUND_CONNECTION_RATE, DEFAULT_INBOUND_UPGRADE_TIMEOUT, DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_CONNECTIONS_PER_RANGE, DEFAULT_MAX_PENDING_CONNECTIONS, DEFAULT_PENALTY_HALF_LIFE, PENALTY_MALFORMED_FRAME, STANDING_MAX_PEERS,
  YAMUX_MAX_STREAMS, YAMUX_MAX_STREAM_WINDOW, DEFAULT_STREAM_WRITE_BUFFER, DEFAULT_SLOW_READER_TIMEOUT,
  DEFAULT_WRITE_MEMORY_PER_PEER, DEFAULT_WRITE_MEMORY_TOTAL
} from '../constants.ts'
import type { DaemonConfig, QuotaKey } from '../config.ts'

/** Where a limit applies. */
export type LimitScope = 'network' | 'connection' | 'stream' | 'kv' | 'membership' | 'storage' | 'api'

/** The unit of a limit's value. */
export type LimitUnit = 'count' | 'bytes' | 'ms' | 'per second'

/** One limit in force. */
export interface LimitJson {
  scope: LimitScope
  /** what is bounded, in words: "connections in total" */
  name: string
  value: number
  unit: LimitUnit
  /** the `config.json` key that sets it, or the constant it is fixed at (`constant MAX_SIBLINGS`) */
  source: string
  /** the most memory this limit lets others make the daemon hold, in bytes, when it bounds memory */
  worstCaseBytes?: number
  /** how `worstCaseBytes` is reached: "64 connections × 8 kv streams × 128 MiB read buffer" */
  worstCase?: string
}

/** `GET /v1/limits`: every limit in force and the worst case they add up to. */
export interface LimitsJson {
  limits: LimitJson[]
  /** the sum of every row's worst case: what all peers and clients together could make the daemon hold */
  worstCaseBytes: number
}

/** The settings the limits come from: the daemon's (see `DaemonConfig`); those left out are at their defaults. */
export type LimitsConfig = Pick<DaemonConfig, 'maxConnections' | 'frameMemoryPerPeer' | 'frameMemoryTotal'> &
  Partial<Pick<DaemonConfig, 'maxConnectionsPerIp' | 'maxConnectionsPerRange' | 'inboundConnectionRate' | 'maxPendingConnections' |
  'inboundUpgradeTimeout' | 'streamWriteBuffer' | 'slowReaderTimeout' | 'writeMemoryPerPeer' | 'writeMemoryTotal' | 'penaltyHalfLife' | 'banThreshold' | 'banDuration' | QuotaKey |
  'apiRequestTimeout' | 'apiHeadersTimeout' | 'apiBodyLimit' | 'apiMaxConnections' | 'apiMaxConnectionsPerIp' | 'apiAuthFailureLimit'>>

/** What one entry of the standing table costs at most, a score or a ban with its timer (a peer id string, its record, the map's slot). */
const STANDING_ENTRY_BYTES = 512

const MiB = 1024 * 1024

/** Every limit in force for a daemon run with `config`, and their worst case together. */
export function limitsReport (config: LimitsConfig): LimitsJson {
  const conns = config.maxConnections
  const apiConns = config.apiMaxConnections ?? API_SERVER_MAX_CONNECTIONS
  const apiBody = config.apiBodyLimit ?? MAX_VALUE_BYTES
  // a stream buffers a whole frame before it is decoded: its read buffer is twice the largest frame
  const kvStreamBuffer = 2 * MAX_KV_MESSAGE_BYTES
  const membershipStreamBuffer = 2 * MEMBERSHIP_MAX_FRAME
  const writeBuffer = config.streamWriteBuffer ?? DEFAULT_STREAM_WRITE_BUFFER
  // a stream holds at most the bound unsent, or one larger frame taken whole when nothing else waits
  const kvUnsent = Math.max(writeBuffer, MAX_KV_MESSAGE_BYTES)
  const membershipUnsent = Math.max(writeBuffer, MEMBERSHIP_MAX_FRAME)
  const unsentPerConnection = KV_STREAMS_PER_CONNECTION * kvUnsent + MEMBERSHIP_STREAMS_PER_CONNECTION * membershipUnsent
  const writePerPeer = config.writeMemoryPerPeer ?? DEFAULT_WRITE_MEMORY_PER_PEER
  const writeTotal = config.writeMemoryTotal ?? DEFAULT_WRITE_MEMORY_TOTAL
  // one frame goes alone whatever its size when nothing else is unsent (the setting's floor admits the largest)
  const largestFrame = Math.max(MAX_KV_MESSAGE_BYTES, MEMBERSHIP_MAX_FRAME) + 4
  const limits: LimitJson[] = [
    { scope: 'network', name: 'connections in total', value: conns, unit: 'count', source: 'maxConnections' },
    { scope: 'network', name: 'inbound connections from one IP', value: config.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP, unit: 'count', source: 'maxConnectionsPerIp' },
    { scope: 'network', name: 'inbound connections from one /24 or /64', value: config.maxConnectionsPerRange ?? DEFAULT_MAX_CONNECTIONS_PER_RANGE, unit: 'count', source: 'maxConnectionsPerRange' },
    { scope: 'network', name: 'inbound connections per host', value: config.inboundConnectionRate ?? DEFAULT_INBOUND_CONNECTION_RATE, unit: 'per second', source: 'inboundConnectionRate' },
    { scope: 'network', name: 'inbound connections upgrading at once', value: config.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS, unit: 'count', source: 'maxPendingConnections' },
    { scope: 'network', name: 'inbound upgrade must finish within', value: config.inboundUpgradeTimeout ?? DEFAULT_INBOUND_UPGRADE_TIMEOUT, unit: 'ms', source: 'inboundUpgradeTimeout' },
    { scope: 'network', name: `penalty points that ban a peer (a malformed frame: ${PENALTY_MALFORMED_FRAME})`, value: config.banThreshold ?? DEFAULT_BAN_THRESHOLD, unit: 'count', source: 'banThreshold' },
    { scope: 'network', name: 'a ban lasts', value: config.banDuration ?? DEFAULT_BAN_DURATION, unit: 'ms', source: 'banDuration' },
    { scope: 'network', name: 'penalty points halve every', value: config.penaltyHalfLife ?? DEFAULT_PENALTY_HALF_LIFE, unit: 'ms', source: 'penaltyHalfLife' },
    {
      scope: 'network',
      name: 'peers scored, and peers banned, at most',
      value: STANDING_MAX_PEERS,
      unit: 'count',
      source: 'constant STANDING_MAX_PEERS',
      worstCaseBytes: 2 * STANDING_MAX_PEERS * STANDING_ENTRY_BYTES,
      worstCase: `${STANDING_MAX_PEERS} scores + ${STANDING_MAX_PEERS} bans × ~${STANDING_ENTRY_BYTES} B (the lowest score is forgotten first)`
    },
    { scope: 'connection', name: 'yamux streams per connection, each way', value: YAMUX_MAX_STREAMS, unit: 'count', source: 'constant YAMUX_MAX_STREAMS' },
    {
      scope: 'connection',
      name: 'yamux stream window (largest data frame accepted)',
      value: YAMUX_MAX_STREAM_WINDOW,
      unit: 'bytes',
      source: 'constant YAMUX_MAX_STREAM_WINDOW',
      worstCaseBytes: conns * YAMUX_MAX_STREAM_WINDOW,
      worstCase: `${conns} connections × one data frame of ${mib(YAMUX_MAX_STREAM_WINDOW)} being decoded (a longer one is refused at its header; the library alone buffered up to 4 GiB)`
    },
    { scope: 'stream', name: 'unsent answer bytes per kv or membership stream (counted in writeMemoryPerPeer and writeMemoryTotal)', value: writeBuffer, unit: 'bytes', source: 'streamWriteBuffer' },
    { scope: 'network', name: 'unsent bytes of streams to one peer', value: writePerPeer, unit: 'bytes', source: 'writeMemoryPerPeer' },
    {
      scope: 'network',
      name: 'unsent bytes of streams to all peers',
      value: writeTotal,
      unit: 'bytes',
      source: 'writeMemoryTotal',
      worstCaseBytes: Math.max(writeTotal, largestFrame),
      worstCase: `kv and membership answers and requests written but unsent on every stream of every connection together, for at most slowReaderTimeout per stream; without this budget ${conns} connections × (${KV_STREAMS_PER_CONNECTION} kv streams × ${mib(kvUnsent)} + ${MEMBERSHIP_STREAMS_PER_CONNECTION} membership streams × ${mib(membershipUnsent)}) = ${gib(conns * unsentPerConnection)}, and without the per-stream guard ${KV_MAX_IN_FLIGHT} answers in flight per kv stream, ${gib(conns * KV_STREAMS_PER_CONNECTION * KV_MAX_IN_FLIGHT * MAX_KV_MESSAGE_BYTES)}, until the stream ends`
    },
    { scope: 'stream', name: 'a stream whose peer reads nothing is reset after', value: config.slowReaderTimeout ?? DEFAULT_SLOW_READER_TIMEOUT, unit: 'ms', source: 'slowReaderTimeout' },
    { scope: 'kv', name: 'kv streams per connection', value: KV_STREAMS_PER_CONNECTION, unit: 'count', source: 'constant KV_STREAMS_PER_CONNECTION' },
    {
      scope: 'network',
      name: 'frames still arriving, from one peer',
      value: config.frameMemoryPerPeer,
      unit: 'bytes',
      source: 'frameMemoryPerPeer'
    },
    {
      scope: 'network',
      name: 'frames still arriving, from all peers',
      value: config.frameMemoryTotal,
      unit: 'bytes',
      source: 'frameMemoryTotal',
      worstCaseBytes: config.frameMemoryTotal,
      worstCase: `kv and membership frames in progress on every stream of every connection together; without this budget ${conns} connections × (${KV_STREAMS_PER_CONNECTION} kv streams × ${mib(kvStreamBuffer)} + ${MEMBERSHIP_STREAMS_PER_CONNECTION} membership streams × ${mib(membershipStreamBuffer)}) = ${gib(conns * (KV_STREAMS_PER_CONNECTION * kvStreamBuffer + MEMBERSHIP_STREAMS_PER_CONNECTION * membershipStreamBuffer))}`
    },
    { scope: 'kv', name: 'largest kv frame', value: MAX_KV_MESSAGE_BYTES, unit: 'bytes', source: 'constant MAX_KV_MESSAGE_BYTES' },
    { scope: 'kv', name: 'kv requests in flight per stream', value: KV_MAX_IN_FLIGHT, unit: 'count', source: 'constant KV_MAX_IN_FLIGHT' },
    { scope: 'kv', name: 'kv requests a second from one peer (past it its streams are not read)', value: config.kvPeerRequestRate ?? DEFAULT_KV_PEER_REQUEST_RATE, unit: 'per second', source: 'kvPeerRequestRate' },
    { scope: 'kv', name: 'kv requests one peer may make at once above its rate', value: config.kvPeerRequestBurst ?? DEFAULT_KV_PEER_REQUEST_BURST, unit: 'count', source: 'kvPeerRequestBurst' },
    { scope: 'kv', name: 'kv frame bytes a second from one peer', value: config.kvPeerByteRate ?? DEFAULT_KV_PEER_BYTE_RATE, unit: 'per second', source: 'kvPeerByteRate' },
    { scope: 'kv', name: 'kv frame bytes one peer may send at once above its byte rate', value: config.kvPeerByteBurst ?? DEFAULT_KV_PEER_BYTE_BURST, unit: 'bytes', source: 'kvPeerByteBurst' },
    { scope: 'kv', name: 'kv requests in flight from one peer, over all its streams', value: config.kvPeerMaxInFlight ?? DEFAULT_KV_PEER_MAX_IN_FLIGHT, unit: 'count', source: 'kvPeerMaxInFlight' },
    { scope: 'kv', name: 'kv requests a second from all peers together', value: config.kvGlobalRequestRate ?? DEFAULT_KV_GLOBAL_REQUEST_RATE, unit: 'per second', source: 'kvGlobalRequestRate' },
    { scope: 'kv', name: 'idle kv stream closed after', value: KV_READ_TIMEOUT, unit: 'ms', source: 'constant KV_READ_TIMEOUT' },
    { scope: 'membership', name: 'membership streams per connection', value: MEMBERSHIP_STREAMS_PER_CONNECTION, unit: 'count', source: 'constant MEMBERSHIP_STREAMS_PER_CONNECTION' },
    { scope: 'membership', name: 'largest membership frame', value: MEMBERSHIP_MAX_FRAME, unit: 'bytes', source: 'constant MEMBERSHIP_MAX_FRAME' },
    { scope: 'membership', name: 'updates piggybacked per message', value: MAX_PIGGYBACK, unit: 'count', source: 'constant MAX_PIGGYBACK' },
    { scope: 'membership', name: 'members in the member table', value: MAX_MEMBERS, unit: 'count', source: 'constant MAX_MEMBERS' },
    { scope: 'membership', name: 'members heard of, waiting for a ping', value: MAX_MEMBER_CANDIDATES, unit: 'count', source: 'constant MAX_MEMBER_CANDIDATES' },
    { scope: 'membership', name: 'updates in the gossip queue', value: MAX_GOSSIP_QUEUE, unit: 'count', source: 'constant MAX_GOSSIP_QUEUE' },
    { scope: 'membership', name: 'incarnation ahead of the clock at most', value: MAX_CLOCK_SKEW, unit: 'ms', source: 'constant MAX_CLOCK_SKEW' },
    { scope: 'membership', name: 'piggybacked bytes per message', value: MAX_PIGGYBACK_BYTES, unit: 'bytes', source: 'constant MAX_PIGGYBACK_BYTES' },
    { scope: 'storage', name: 'largest key', value: MAX_KEY_BYTES, unit: 'bytes', source: 'constant MAX_KEY_BYTES' },
    { scope: 'storage', name: 'largest value', value: MAX_VALUE_BYTES, unit: 'bytes', source: 'constant MAX_VALUE_BYTES' },
    { scope: 'storage', name: 'siblings per key', value: MAX_SIBLINGS, unit: 'count', source: 'constant MAX_SIBLINGS' },
    { scope: 'storage', name: 'largest stored object (siblings with values)', value: MAX_OBJECT_BYTES, unit: 'bytes', source: 'constant MAX_OBJECT_BYTES' },
    { scope: 'storage', name: 'hinted copies (key and value bytes, on disk) one peer may make us hold', value: config.hintedBytesPerPeer ?? DEFAULT_HINTED_BYTES_PER_PEER, unit: 'bytes', source: 'hintedBytesPerPeer' },
    { scope: 'storage', name: 'hinted copies (on disk) held for all other peers', value: config.hintedBytesTotal ?? DEFAULT_HINTED_BYTES_TOTAL, unit: 'bytes', source: 'hintedBytesTotal' },
    { scope: 'storage', name: 'causal context entries', value: MAX_CONTEXT_ENTRIES, unit: 'count', source: 'constant MAX_CONTEXT_ENTRIES' },
    {
      scope: 'api',
      name: 'API connections',
      value: apiConns,
      unit: 'count',
      source: config.apiMaxConnections == null ? 'constant API_SERVER_MAX_CONNECTIONS' : 'apiMaxConnections',
      worstCaseBytes: apiConns * (API_SERVER_MAX_HEADER_BYTES + apiBody),
      worstCase: `${apiConns} connections × (${API_SERVER_MAX_HEADER_BYTES / 1024} KiB head + ${mib(apiBody)} body)`
    },
    { scope: 'api', name: 'API connections from one IP address', value: config.apiMaxConnectionsPerIp ?? API_SERVER_MAX_CONNECTIONS_PER_IP, unit: 'count', source: config.apiMaxConnectionsPerIp == null ? 'constant API_SERVER_MAX_CONNECTIONS_PER_IP' : 'apiMaxConnectionsPerIp' },
    { scope: 'api', name: 'API request head', value: API_SERVER_MAX_HEADER_BYTES, unit: 'bytes', source: 'constant API_SERVER_MAX_HEADER_BYTES' },
    { scope: 'api', name: 'API request body', value: apiBody, unit: 'bytes', source: config.apiBodyLimit == null ? 'constant MAX_VALUE_BYTES' : 'apiBodyLimit' },
    { scope: 'api', name: 'API request must arrive within', value: config.apiRequestTimeout ?? API_SERVER_REQUEST_TIMEOUT, unit: 'ms', source: config.apiRequestTimeout == null ? 'constant API_SERVER_REQUEST_TIMEOUT' : 'apiRequestTimeout' },
    { scope: 'api', name: 'API request head must arrive within', value: config.apiHeadersTimeout ?? API_SERVER_HEADERS_TIMEOUT, unit: 'ms', source: config.apiHeadersTimeout == null ? 'constant API_SERVER_HEADERS_TIMEOUT' : 'apiHeadersTimeout' },
    { scope: 'api', name: 'requests without a valid token per IP address per minute', value: config.apiAuthFailureLimit ?? API_AUTH_FAILURE_LIMIT, unit: 'count', source: config.apiAuthFailureLimit == null ? 'constant API_AUTH_FAILURE_LIMIT' : 'apiAuthFailureLimit' },
    { scope: 'api', name: 'IP addresses counted for failed authentications', value: API_AUTH_FAILURE_ADDRESSES, unit: 'count', source: 'constant API_AUTH_FAILURE_ADDRESSES' },
    { scope: 'api', name: 'silent API connection closed after', value: API_SERVER_IDLE_TIMEOUT, unit: 'ms', source: 'constant API_SERVER_IDLE_TIMEOUT' },
    { scope: 'api', name: 'kept-alive API connection waits', value: API_SERVER_KEEP_ALIVE_TIMEOUT, unit: 'ms', source: 'constant API_SERVER_KEEP_ALIVE_TIMEOUT' },
    { scope: 'api', name: 'requests per API connection', value: API_SERVER_MAX_REQUESTS_PER_SOCKET, unit: 'count', source: 'constant API_SERVER_MAX_REQUESTS_PER_SOCKET' }
  ]
  return { limits, worstCaseBytes: limits.reduce((sum, l) => sum + (l.worstCaseBytes ?? 0), 0) }
}

/** `bytes` in GiB, for the worst-case texts: "64.3 GiB". */
function gib (bytes: number): string {
  return `${(bytes / (1024 * MiB)).toFixed(1)} GiB`
}

/** `bytes` in MiB, for the worst-case texts: "128.5 MiB". */
function mib (bytes: number): string {
  const value = bytes / MiB
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`
}
