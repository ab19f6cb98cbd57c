/**
 * A small validator of the JSON a daemon answers: `--api` may point at any HTTP server, and a
 * wrong-shaped answer must become a clear error (NotADaemonError), never a `TypeError` deep in a
 * command. Extra fields are allowed, so a newer daemon that adds fields is still understood.
 *
 * @packageDocumentation
 */

import type { HealthJson, HealthNote, HealthReason } from './types.ts'
import type { BatchItemJson, BatchJson, GetJson, KeysPageJson, ListedKeyJson, WriteJson } from '../api/index.ts'
import type { LimitJson, LimitsJson } from '../limits/index.ts'
import type { TraceJson } from '../metrics/index.ts'
import type { KnownPeer, PeerStatus, RingMember } from '../peer.ts'
import type { KeyLocation, LocatedCopy, LocatedPeer } from '../replication/index.ts'

/** Checks that `value` has the shape of T and returns it typed; throws ShapeMismatch otherwise. */
export type Shape<T> = (value: unknown, path: string) => T

/** Where and how a value did not match: `peers[0].multiaddrs: expected an array, got a string`. */
export class ShapeMismatch extends Error {
  override readonly name = 'ShapeMismatch'
}

function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function primitive<T> (kind: 'string' | 'number' | 'boolean'): Shape<T> {
  return (value, path) => {
    const actual: string = typeof value
    if (actual !== kind || (kind === 'number' && !Number.isFinite(value))) {
      throw new ShapeMismatch(`${path}: expected a ${kind}, got ${describe(value)}`)
    }
    return value as T
  }
}

const string: Shape<string> = primitive('string')
const number: Shape<number> = primitive('number')
const boolean: Shape<boolean> = primitive('boolean')

function oneOf<T extends string> (...values: T[]): Shape<T> {
  return (value, path) => {
    if (!values.includes(value as T)) throw new ShapeMismatch(`${path}: expected one of ${values.join(', ')}, got ${JSON.stringify(value) ?? describe(value)}`)
    return value as T
  }
}

function arrayOf<T> (item: Shape<T>): Shape<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new ShapeMismatch(`${path}: expected an array, got ${describe(value)}`)
    value.forEach((v, i) => item(v, `${path}[${i}]`))
    return value as T[]
  }
}

type Fields<T> = { [K in keyof T]-?: Shape<T[K]> }

function object<T> (fields: Fields<T>): Shape<T> {
  return (value, path) => {
    if (value == null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ShapeMismatch(`${path}: expected an object, got ${describe(value)}`)
    }
    for (const [name, field] of Object.entries(fields) as Array<[string, Shape<unknown>]>) {
      field((value as Record<string, unknown>)[name], `${path}.${name}`)
    }
    return value as T
  }
}

/** exactly `true` (a flag that is present only when set) */
const isTrue: Shape<true> = (value, path) => {
  if (value !== true) throw new ShapeMismatch(`${path}: expected true, got ${JSON.stringify(value) ?? describe(value)}`)
  return true
}

function optional<T> (shape: Shape<T>): Shape<T | undefined> {
  return (value, path) => value === undefined ? undefined : shape(value, path)
}

/** `GET /v1/status` */
export const peerStatusShape: Shape<PeerStatus> = object<PeerStatus>({
  peerId: string,
  version: string,
  multiaddrs: arrayOf(string),
  uptimeSeconds: number,
  connections: number,
  peers: object<PeerStatus['peers']>({ known: number, connected: number, alive: number, suspect: number, dead: number, left: number }),
  incarnation: number,
  localHealth: number,
  keys: number,
  pendingHints: number,
  lastHandoff: optional(string),
  lastAntiEntropy: optional(object<NonNullable<PeerStatus['lastAntiEntropy']>>({ peer: string, at: string, keys: number, differing: number, pushed: number, pulled: number, ms: number })),
  joined: boolean,
  bootstrapPeers: number,
  network: oneOf('public', 'private'),
  dataDir: optional(string),
  admission: optional(object<NonNullable<PeerStatus['admission']>>({ mode: oneOf('open', 'roster'), network: optional(string), sequence: optional(string), members: optional(number) })),
  placement: optional(object<NonNullable<PeerStatus['placement']>>({ capacity: number, zone: optional(string), share: number, n: number })),
  bans: optional(arrayOf(object<NonNullable<PeerStatus['bans']>[number]>({ peerId: string, reason: string, score: number, until: string })))
})

/** `GET /v1/limits` */
export const limitsShape: Shape<LimitsJson> = object<LimitsJson>({
  limits: arrayOf(object<LimitJson>({
    scope: oneOf('network', 'connection', 'stream', 'kv', 'membership', 'storage', 'api'),
    name: string,
    value: number,
    unit: oneOf('count', 'bytes', 'ms', 'per second'),
    source: string,
    worstCaseBytes: optional(number),
    worstCase: optional(string)
  })),
  worstCaseBytes: number
})

/** `GET /v1/ring` */
export const ringShape: Shape<RingMember[]> = arrayOf(object<RingMember>({
  peerId: string,
  state: oneOf('alive', 'suspect', 'dead', 'left'),
  capacity: number,
  zone: optional(string),
  share: number,
  keys: optional(number),
  self: boolean
}))

/** `GET /v1/peers` */
export const knownPeersShape: Shape<KnownPeer[]> = arrayOf(object<KnownPeer>({
  peerId: string,
  multiaddrs: arrayOf(string),
  connected: boolean,
  protocols: arrayOf(string),
  state: oneOf('alive', 'suspect', 'dead', 'left'),
  incarnation: number,
  lastHeard: optional(string),
  suspectedBy: arrayOf(string)
}))

/** a request trace (`?trace=1`) */
export const traceJsonShape: Shape<TraceJson> = object<TraceJson>({
  coordinator: string,
  started: string,
  answeredMs: optional(number),
  events: arrayOf(object<TraceJson['events'][number]>({ ms: number, peer: optional(string), kind: string as Shape<TraceJson['events'][number]['kind']>, activity: string }))
})

/** `GET /v1/kv/:key` with `Accept: application/json` */
export const getJsonShape: Shape<GetJson> = object<GetJson>({
  key: string,
  context: string,
  siblings: arrayOf(object<GetJson['siblings'][number]>({ value: string, encoding: oneOf('utf8', 'base64'), timestamp: number, deleted: optional(isTrue) })),
  replies: optional(number),
  replicas: optional(number),
  n: optional(number),
  trace: optional(traceJsonShape)
})

/** `PUT` and `DELETE /v1/kv/:key` */
export const writeJsonShape: Shape<WriteJson> = object<WriteJson>({
  key: string,
  context: string,
  acks: number,
  replicas: optional(number),
  n: optional(number),
  coordinator: string,
  trace: optional(traceJsonShape)
})

/** `POST /v1/batch`: every item's outcome */
export const batchJsonShape: Shape<BatchJson> = object<BatchJson>({
  items: arrayOf(object<BatchItemJson>({
    op: string,
    key: optional(string),
    status: number,
    result: optional<GetJson | WriteJson>((value, path) => typeof value === 'object' && value != null && 'acks' in value ? writeJsonShape(value, path) : getJsonShape(value, path)),
    error: optional(object<{ error: string, message: string, hint: string }>({ error: string, message: string, hint: string })),
    context: optional(string)
  })),
  ok: number,
  failed: number
})

/** `PUT` and `DELETE /v1/faults/partition`: the partitions in place afterwards */
export const faultsJsonShape: Shape<{ partitions: unknown[] }> = object<{ partitions: unknown[] }>({
  partitions: arrayOf<unknown>(value => value)
})

function nullable<T> (shape: Shape<T>): Shape<T | null | undefined> {
  return (value, path) => value === undefined || value === null ? value : shape(value, path)
}

/** an object of numbers (a version vector: actor → counter) */
const counts: Shape<Record<string, number>> = (value, path) => {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new ShapeMismatch(`${path}: expected an object, got ${describe(value)}`)
  for (const [k, v] of Object.entries(value)) number(v, `${path}.${k}`)
  return value as Record<string, number>
}

const verdict = oneOf<HealthJson['verdict']>('healthy', 'degraded', 'at-risk', 'unavailable')

/** `GET /v1/health` (200, or 503 with the same body) */
export const healthShape: Shape<HealthJson> = object<HealthJson>({
  verdict,
  peerId: string,
  serving: optional(boolean),
  checkedAt: optional(string),
  members: optional(object<NonNullable<HealthJson['members']>>({ alive: number, suspect: number, dead: number, left: number, total: number })),
  view: optional(object<NonNullable<HealthJson['view']>>({ digest: optional(string), agreeing: number, disagreeing: number, unknown: number })),
  keys: optional(object<NonNullable<HealthJson['keys']>>({ primary: number, underReplicated: number, writeUnavailable: number, readUnavailable: number, singleCopy: number })),
  rereplication: nullable(object<NonNullable<HealthJson['rereplication']>>({ active: boolean, done: number, total: number, progress: number, etaSeconds: nullable(number) })),
  reasons: arrayOf(object<HealthReason>({
    severity: oneOf('degraded', 'at-risk', 'unavailable'),
    cause: string,
    effect: optional(string),
    peers: optional(arrayOf(string)),
    keys: optional(arrayOf(string))
  })),
  notes: optional(arrayOf(object<HealthNote>({ cause: string, effect: string, peers: optional(arrayOf(string)) }))),
  derived: optional(isTrue)
})

/** `GET /v1/locate/:key` */
export const keyLocationShape: Shape<KeyLocation> = object<KeyLocation>({
  n: number,
  peerId: string,
  peers: arrayOf(object<LocatedPeer>({
    peerId: string,
    place: number,
    role: oneOf('home', 'fallback', 'displaced'),
    state: string,
    zone: optional(string),
    self: boolean,
    answer: oneOf('holds', 'missing', 'unreachable', 'not-asked'),
    error: optional(string),
    copy: optional(object<LocatedCopy>({
      siblings: number,
      tombstones: number,
      clock: counts,
      cloud: number,
      latest: optional(number),
      current: boolean,
      hintFor: optional(arrayOf(string))
    }))
  })),
  homeCopies: number,
  otherCopies: number,
  siblings: number
})

/** Every error answer: `{ error, message, hint }` (hint optional here). */
export const errorJsonShape: Shape<{ error: string, message: string }> = object<{ error: string, message: string }>({
  error: string,
  message: string
})

export const keysPageShape: Shape<KeysPageJson> = object<KeysPageJson>({
  keys: arrayOf(object<ListedKeyJson>({ key: string, encoding: optional(oneOf('base64')), siblings: number })),
  next: optional(string),
  peers: number,
  unreachable: arrayOf(string)
})
