/**
 * What a daemon bounds, and what those bounds cost at worst: one row per limit in force (its value,
 * the setting or constant behind it, and the most memory a hostile peer or client can make it
 * hold), for `GET /v1/limits` and `p2pstore limits` (issue #19). Pure: computed from the resolved
 * settings, no I/O.
 *
 * @packageDocumentation
 */

import {
  API_AUTH_FAILURE_ADDRESSES, API_AUTH_FAILURE_LIMIT, API_SERVER_MAX_CONNECTIONS_PER_IP, MAX_CLOCK_SKEW, MAX_GOSSIP_QUEUE, MAX_MEMBER_CANDIDATES, MAX_MEMBERS,
  API_SERVER_HEADERS_TIMEOUT, API_SERVER_IDLE_TIMEOUT, API_SERVER_KEEP_ALIVE_TIMEOUT, API_SERVER_MAX_CONNECTIONS,
  API_SERVER_MAX_HEADER_BYTES, API_SERVER_MAX_REQUESTS_PER_SOCKET, API_SERVER_REQUEST_TIMEOUT, KV_MAX_IN_FLIGHT,
  KV_READ_TIMEOUT, KV_STREAMS_PER_CONNECTION, MAX_CONTEXT_ENTRIES, MAX_KEY_BYTES, MAX_KV_MESSAGE_BYTES, MAX_OBJECT_BYTES, MAX_PIGGYBACK,
  MAX_PIGGYBACK_BYTES, MAX_SIBLINGS, MAX_VALUE_BYTES, MEMBERSHIP_MAX_FRAME, MEMBERSHIP_STREAMS_PER_CONNECTION
} from '../constants.ts'
import type { DaemonConfig } from '../config.ts'

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

/** The settings the limits come from: the daemon's (see `DaemonConfig`). */
export type LimitsConfig = Pick<DaemonConfig, 'maxConnections' | 'frameMemoryPerPeer' | 'frameMemoryTotal'> &
  Partial<Pick<DaemonConfig, 'apiRequestTimeout' | 'apiHeadersTimeout' | 'apiBodyLimit' | 'apiMaxConnections' | 'apiMaxConnectionsPerIp' | 'apiAuthFailureLimit'>>

const MiB = 1024 * 1024

/** Every limit in force for a daemon run with `config`, and their worst case together. */
export function limitsReport (config: LimitsConfig): LimitsJson {
  const conns = config.maxConnections
  const apiConns = config.apiMaxConnections ?? API_SERVER_MAX_CONNECTIONS
  const apiBody = config.apiBodyLimit ?? MAX_VALUE_BYTES
  // a stream buffers a whole frame before it is decoded: its read buffer is twice the largest frame
  const kvStreamBuffer = 2 * MAX_KV_MESSAGE_BYTES
  const membershipStreamBuffer = 2 * MEMBERSHIP_MAX_FRAME
  const limits: LimitJson[] = [
    { scope: 'network', name: 'connections in total', value: conns, unit: 'count', source: 'maxConnections' },
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
