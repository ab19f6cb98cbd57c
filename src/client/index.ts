/**
 * The HTTP client of a daemon's API, used by the CLI and by the consistency checker: every request
 * has a deadline, and errors come back with the daemon's error name so exit codes map as there.
 *
 * @packageDocumentation
 */

import http from 'node:http'
import https from 'node:https'
import { AbortError, InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { API_BATCH_TIMEOUT, API_DATA_TIMEOUT, API_STATUS_TIMEOUT, CONTEXT_HEADER, EVENTS_IDLE_TIMEOUT, TRACE_HEADER } from '../constants.ts'
import { DaemonUnreachableError, NotADaemonError } from '../errors.ts'
import { batchJsonShape, errorJsonShape, faultsJsonShape, getJsonShape, healthShape, keyLocationShape, keysPageShape, knownPeersShape, limitsShape, peerStatusShape, ringShape, ShapeMismatch, traceJsonShape, writeJsonShape } from './shape.ts'
import type { Shape } from './shape.ts'
import type { HealthJson } from './types.ts'
import type { BatchItem, BatchJson, GetJson, KeysPageJson, WriteJson } from '../api/index.ts'
import type { LimitsJson } from '../limits/index.ts'
import type { TraceJson } from '../metrics/index.ts'
import type { KnownPeer, PeerStatus, RingMember } from '../peer.ts'
import type { KeyLocation } from '../replication/index.ts'
import type { AbortOptions } from '@libp2p/interface'

export type { HealthJson, HealthNote, HealthReason, Verdict } from './types.ts'

/** Where a client should connect, and with which token. */
export interface ApiTarget {
  url: string
  token?: string
}

/** Per-request replication settings; unset ones take the daemon's defaults. */
export interface QuorumOptions extends AbortOptions {
  n?: number
  r?: number
  w?: number
  /** ask for the request's trace (`?trace=1`): in the answer's `trace`, or the error's */
  trace?: boolean
}

/** Options of a write through the API. */
export interface ClientWriteOptions extends QuorumOptions {
  /** a context token from a previous get or put */
  context?: string
  /** refuse sloppy quorum */
  strict?: boolean
  /** delete only: without a context, the read quorum of the read that comes first */
  r?: number
  /** delete only: write a tombstone without reading first (it supersedes nothing) */
  blind?: boolean
  /** put only: create the key only if it has no live value (`If-None-Match: *`) */
  ifNoneMatch?: boolean
  /** write only if the key holds exactly what this context token saw (`If-Match`); replaces `context` */
  ifMatch?: string
}

/** Options of a read through the API. */
export interface ClientReadOptions extends QuorumOptions {
  /** read-time policy: `lww` picks the sibling with the latest timestamp */
  resolve?: 'lww'
}

/** Options of a listing page through the API. */
export interface ClientKeysOptions extends AbortOptions {
  /** only keys starting with this text */
  prefix?: string
  /** most keys in the page (1 to 1000; the daemon's default is 100) */
  limit?: number
  /** the previous page's `next` */
  cursor?: string
}

/** The daemon API as the CLI uses it. Commands take this interface so tests can pass a stub. */
export interface Client {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
  /** every member's zone, capacity, expected share and keys held (`GET /v1/ring`) */
  ring(options?: AbortOptions): Promise<RingMember[]>
  /** every limit the daemon runs with and its worst-case memory (`GET /v1/limits`) */
  limits(options?: AbortOptions): Promise<LimitsJson>
  /** one or more live siblings; NotFoundError when there is none */
  get(key: string, options?: ClientReadOptions): Promise<GetJson>
  put(key: string, value: Uint8Array, options?: ClientWriteOptions): Promise<WriteJson>
  delete(key: string, options?: ClientWriteOptions): Promise<WriteJson>
  /** `POST /v1/batch`: many gets, puts and deletes in one request, each item with its own outcome */
  batch(items: BatchItem[], options?: AbortOptions): Promise<BatchJson>
  /**
   * `GET /v1/health`: the verdict, also when the daemon answers it with 503 (not serving);
   * a daemon without the route raises `NotFoundError`.
   */
  health(options?: AbortOptions): Promise<HealthJson>
  /** `GET /v1/locate/:key`: where the key lives (preference list, holders, hinted copies) */
  locate(key: string, options?: QuorumOptions): Promise<KeyLocation>
  /**
   * `GET /v1/events`: the daemon's server-sent events (`health`, `member`) until `options.signal`
   * fires; a daemon without the route raises `NotFoundError`.
   */
  events?(options?: AbortOptions): AsyncIterable<ServerEvent>
  /** `GET /v1/kv`: one page of the network's keys, from `cursor` (the previous page's `next`) */
  keys?(options?: ClientKeysOptions): Promise<KeysPageJson>
  /** `GET /metrics`: the Prometheus text exposition, as it is; `NotFoundError` from a daemon without it */
  metrics?(options?: AbortOptions): Promise<string>
}

/** One server-sent event: its `event:` name (`message` when it has none) and its `data:` lines. */
export interface ServerEvent {
  event: string
  data: string
}

/** An error answered by the API, rebuilt with the same `name` so that exit codes map as on the daemon. */
export class RemoteError extends Error {
  /** the context token the answer carried (a 404 of a deleted key still has one) */
  readonly context?: string
  /** the request's trace, when it was asked for (`trace: true`) */
  readonly trace?: TraceJson

  constructor (name: string, message: string, context?: string, trace?: TraceJson) {
    super(message)
    this.name = name
    this.context = context
    this.trace = trace
  }
}

/**
 * HTTP client of a daemon's API. Every request has a deadline: `timeout` when given, else
 * API_STATUS_TIMEOUT for `status` and `peers` and API_DATA_TIMEOUT for `get`, `put` and `delete`.
 * Every answer's shape is checked: a server that is not a p2pstore daemon gives NotADaemonError.
 *
 * Requests go through `node:http`, not `fetch`: WHATWG URL parsing removes the path segments `.`
 * and `..` (even as `%2E`), which would make the keys `.` and `..` unreachable.
 */
export class HttpClient implements Client {
  private readonly target: ApiTarget
  private readonly timeout: number | undefined

  /** `timeout` (ms) replaces the per-request defaults. */
  constructor (target: ApiTarget, timeout?: number) {
    this.target = target
    this.timeout = timeout
  }

  async status (options: AbortOptions = {}): Promise<PeerStatus> {
    return this.request('GET', '/v1/status', peerStatusShape, options, this.timeout ?? API_STATUS_TIMEOUT)
  }

  async peers (options: AbortOptions = {}): Promise<KnownPeer[]> {
    return this.request('GET', '/v1/peers', knownPeersShape, options, this.timeout ?? API_STATUS_TIMEOUT)
  }

  async ring (options: AbortOptions = {}): Promise<RingMember[]> {
    return this.request('GET', '/v1/ring', ringShape, options, this.timeout ?? API_STATUS_TIMEOUT)
  }

  async limits (options: AbortOptions = {}): Promise<LimitsJson> {
    return this.request('GET', '/v1/limits', limitsShape, options, this.timeout ?? API_STATUS_TIMEOUT)
  }

  async get (key: string, options: ClientReadOptions = {}): Promise<GetJson> {
    return this.request('GET', kvRoute(key, { n: options.n, r: options.r, resolve: options.resolve, trace: traceFlag(options) }), getJsonShape, options, this.timeout ?? API_DATA_TIMEOUT, { accept: 'application/json' })
  }

  async put (key: string, value: Uint8Array, options: ClientWriteOptions = {}): Promise<WriteJson> {
    return this.request('PUT', kvRoute(key, { n: options.n, w: options.w, strict: options.strict === true ? 'true' : undefined, trace: traceFlag(options) }), writeJsonShape, options, this.timeout ?? API_DATA_TIMEOUT, { ...contextHeader(options.context), ...conditionHeaders(options) }, value)
  }

  async batch (items: BatchItem[], options: AbortOptions = {}): Promise<BatchJson> {
    const body = new TextEncoder().encode(JSON.stringify({ items }))
    return this.request('POST', '/v1/batch', batchJsonShape, options, this.timeout ?? API_BATCH_TIMEOUT, { 'content-type': 'application/json' }, body)
  }

  async delete (key: string, options: ClientWriteOptions = {}): Promise<WriteJson> {
    const query = { n: options.n, r: options.r, w: options.w, strict: options.strict === true ? 'true' : undefined, blind: options.blind === true ? 'true' : undefined, trace: traceFlag(options) }
    return this.request('DELETE', kvRoute(key, query), writeJsonShape, options, this.timeout ?? API_DATA_TIMEOUT, { ...contextHeader(options.context), ...conditionHeaders(options) })
  }

  async keys (options: ClientKeysOptions = {}): Promise<KeysPageJson> {
    const params = new URLSearchParams()
    if (options.prefix != null && options.prefix !== '') params.set('prefix', options.prefix)
    if (options.limit != null) params.set('limit', String(options.limit))
    if (options.cursor != null) params.set('cursor', options.cursor)
    const qs = params.toString()
    return this.request('GET', `/v1/kv${qs === '' ? '' : `?${qs}`}`, keysPageShape, options, this.timeout ?? API_DATA_TIMEOUT)
  }

  async health (options: AbortOptions = {}): Promise<HealthJson> {
    // 503 carries the same body: the daemon cannot serve, and says why
    return this.request('GET', '/v1/health', healthShape, options, this.timeout ?? API_STATUS_TIMEOUT, {}, undefined, [503])
  }

  async locate (key: string, options: QuorumOptions = {}): Promise<KeyLocation> {
    return this.request('GET', kvRoute(key, { n: options.n }).replace(/^\/v1\/kv\//, '/v1/locate/'), keyLocationShape, options, this.timeout ?? API_DATA_TIMEOUT)
  }

  async metrics (options: AbortOptions = {}): Promise<string> {
    const base = apiUrl(this.target.url)
    const timeout = this.timeout ?? API_STATUS_TIMEOUT
    const deadline = AbortSignal.timeout(timeout)
    let answer: Answer
    try {
      answer = await send(base, 'GET', '/metrics', { accept: 'text/plain', ...(this.target.token == null ? {} : { authorization: `Bearer ${this.target.token}` }) }, undefined, AbortSignal.any([deadline, ...(options.signal == null ? [] : [options.signal])]))
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortError(`GET /metrics to the daemon at ${this.target.url} was cancelled`)
      if (deadline.aborted) throw new TimeoutError(`the daemon at ${this.target.url} did not answer GET /metrics within ${formatMs(timeout)}`)
      const e = err as Error & { code?: string }
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.target.url} (${e.code ?? e.message})`, { cause: err })
    }
    if (answer.status === 200 && answer.contentType.startsWith('text/plain')) return answer.body
    let parsed: unknown
    try {
      parsed = JSON.parse(answer.body)
    } catch {}
    if (isErrorJson(parsed)) {
      const { error, message } = errorJsonShape(parsed, 'error')
      throw new RemoteError(error, message)
    }
    throw new NotADaemonError(`the server at ${this.target.url} is not a p2pstore daemon: GET /metrics answered ${answer.status} (${answer.contentType === '' ? 'no content type' : answer.contentType.split(';')[0] ?? ''})`)
  }

  /**
   * `GET /v1/events` as a stream of events. The deadline covers the answer's head; after that the
   * stream lasts until `options.signal` fires, the daemon ends it, or nothing (not even a
   * heartbeat) arrived for EVENTS_IDLE_TIMEOUT, which ends it with a TimeoutError.
   */
  async * events (options: AbortOptions = {}): AsyncGenerator<ServerEvent> {
    const base = apiUrl(this.target.url)
    const timeout = this.timeout ?? API_STATUS_TIMEOUT
    const what = 'GET /v1/events'
    const head = AbortSignal.timeout(timeout)
    const stop = new AbortController()
    const signal = AbortSignal.any([stop.signal, ...(options.signal == null ? [] : [options.signal])])
    let res: http.IncomingMessage
    try {
      res = await openStream(base, '/v1/events', {
        accept: 'text/event-stream',
        ...(this.target.token == null ? {} : { authorization: `Bearer ${this.target.token}` })
      }, AbortSignal.any([head, signal]))
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortError(`${what} to the daemon at ${this.target.url} was cancelled`)
      if (head.aborted) throw new TimeoutError(`the daemon at ${this.target.url} did not answer ${what} within ${formatMs(timeout)}`)
      const e = err as Error & { code?: string }
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.target.url} (${e.code ?? e.message})`, { cause: err })
    }
    const type = res.headers['content-type'] ?? ''
    if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      const chunks: Buffer[] = []
      for await (const chunk of res) chunks.push(chunk as Buffer)
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {}
      if (res.statusCode !== 200 && isErrorJson(parsed)) {
        const { error, message } = errorJsonShape(parsed, 'error')
        throw new RemoteError(error, message)
      }
      throw new NotADaemonError(`the server at ${this.target.url} is not a p2pstore daemon: ${what} answered ${res.statusCode ?? 0} (${type === '' ? 'no content type' : type.split(';')[0] ?? ''}), not an event stream`)
    }
    let idle: NodeJS.Timeout | undefined
    let timedOut = false
    const refresh = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { timedOut = true; stop.abort() }, EVENTS_IDLE_TIMEOUT)
    }
    refresh()
    res.setEncoding('utf8')
    const parser = new EventStreamParser()
    try {
      for await (const chunk of res) {
        refresh()
        yield * parser.push(chunk as string)
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortError(`${what} to the daemon at ${this.target.url} was cancelled`)
      if (timedOut) throw new TimeoutError(`the daemon at ${this.target.url} sent nothing on ${what} for ${formatMs(EVENTS_IDLE_TIMEOUT)}`)
      throw err
    } finally {
      clearTimeout(idle)
      res.destroy()
    }
  }

  /**
   * `PUT /v1/faults/partition`: the daemon refuses connections with `peers` (served only by a
   * daemon run with `--fault-injection`; test nets and the checker use it).
   */
  async partition (peers: string[], direction: 'both' | 'inbound' | 'outbound', options: AbortOptions = {}): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify({ peers, direction }))
    await this.request('PUT', '/v1/faults/partition', faultsJsonShape, options, this.timeout ?? API_STATUS_TIMEOUT, { 'content-type': 'application/json' }, body)
  }

  /** `DELETE /v1/faults/partition`: every partition of the daemon lifted. */
  async heal (options: AbortOptions = {}): Promise<void> {
    await this.request('DELETE', '/v1/faults/partition', faultsJsonShape, options, this.timeout ?? API_STATUS_TIMEOUT)
  }

  /** `bodyStatuses`: error statuses whose body is the answer's shape too (not `{ error, message }`). */
  private async request<T> (method: string, route: string, shape: Shape<T>, options: AbortOptions, timeout: number, headers: Record<string, string> = {}, body?: Uint8Array, bodyStatuses: number[] = []): Promise<T> {
    const base = apiUrl(this.target.url)
    const what = `${method} ${route.replace(/\?.*$/, '')}`
    const deadline = AbortSignal.timeout(timeout)
    let answer: Answer
    try {
      answer = await send(base, method, route, {
        ...(body == null ? {} : { 'content-type': 'application/octet-stream' }),
        ...headers,
        ...(this.target.token == null ? {} : { authorization: `Bearer ${this.target.token}` })
      }, body, AbortSignal.any([deadline, ...(options.signal == null ? [] : [options.signal])]))
    } catch (err) {
      if (options.signal?.aborted === true) throw new AbortError(`${what} to the daemon at ${this.target.url} was cancelled`)
      if (deadline.aborted) {
        throw new TimeoutError(`the daemon at ${this.target.url} did not answer ${what} within ${formatMs(timeout)}`)
      }
      const e = err as Error & { code?: string }
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.target.url} (${e.code ?? e.message})`, { cause: err })
    }

    const notDaemon = (why: string, cause?: unknown): NotADaemonError =>
      new NotADaemonError(`the server at ${this.target.url} is not a p2pstore daemon: ${what} answered ${answer.status}${why}`, { cause })
    let parsed: unknown
    try {
      parsed = answer.body === '' ? undefined : JSON.parse(answer.body)
    } catch (err) {
      const type = answer.contentType === '' ? '' : ` (${answer.contentType.split(';')[0] ?? ''})`
      throw notDaemon(` with a body that is not JSON${type}`, err)
    }
    try {
      // 300 Multiple Choices is a successful read with siblings
      const failed = answer.status < 200 || (answer.status > 299 && answer.status !== 300)
      // an error status that may carry the answer's shape: only an `{ error, message }` body is an error then
      const errorBody = failed && bodyStatuses.includes(answer.status) && isErrorJson(parsed)
      if (failed && (!bodyStatuses.includes(answer.status) || errorBody)) {
        const { error, message } = errorJsonShape(parsed, 'error')
        throw new RemoteError(error, message, answer.context, answer.trace)
      }
      return shape(parsed, 'answer')
    } catch (err) {
      if (err instanceof ShapeMismatch) throw notDaemon(` with JSON of another shape (${err.message})`, err)
      throw err
    }
  }
}

interface Answer {
  status: number
  contentType: string
  body: string
  /** the context token header, when the answer carried one */
  context?: string
  /** the trace header, decoded, when the answer carried one */
  trace?: TraceJson
}

function isErrorJson (value: unknown): boolean {
  try {
    errorJsonShape(value, 'error')
    return true
  } catch {
    return false
  }
}

/** The API's base URL, parsed; only http: and https: are spoken. */
function apiUrl (url: string): URL {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (parsed == null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new InvalidParametersError(`API URL "${url}" is not a valid http:// URL (expected e.g. http://127.0.0.1:4701)`)
  }
  return parsed
}

/** One request with `path` sent exactly as given (no dot-segment removal), the body read as text. */
async function send (base: URL, method: string, path: string, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal): Promise<Answer> {
  const transport = base.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = transport.request({
      method,
      // [::1] → ::1
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port === '' ? undefined : Number(base.port),
      path,
      headers: { ...headers, ...(body == null ? {} : { 'content-length': String(body.byteLength) }) },
      // a request trace (x-p2pstore-trace) can be larger than Node's default 16 KiB of headers
      maxHeaderSize: 64 * 1024,
      signal
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('error', reject)
      res.once('end', () => {
        const context = res.headers[CONTEXT_HEADER.toLowerCase()]
        const trace = decodeTrace(res.headers[TRACE_HEADER])
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8'), context: typeof context === 'string' ? context : undefined, ...(trace == null ? {} : { trace }) })
      })
    })
    req.once('error', reject)
    req.end(body == null ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength))
  })
}

/**
 * The `text/event-stream` format (WHATWG HTML, "Server-sent events"): lines of `field: value`,
 * `event` and `data` fields (several `data` lines join with a newline), `:` comments (heartbeats),
 * and a blank line ending each event.
 */
export class EventStreamParser {
  private buffer = ''
  private event = ''
  private data: string[] = []

  /** The events that `chunk` completes. */
  push (chunk: string): ServerEvent[] {
    const out: ServerEvent[] = []
    this.buffer += chunk
    const lines = this.buffer.split(/\r?\n/)
    // the last piece has no line end yet
    this.buffer = lines.pop() ?? ''
    for (const line of lines) {
      const event = this.line(line)
      if (event != null) out.push(event)
    }
    return out
  }

  private line (line: string): ServerEvent | undefined {
    if (line === '') {
      const event = this.data.length === 0 ? undefined : { event: this.event === '' ? 'message' : this.event, data: this.data.join('\n') }
      this.event = ''
      this.data = []
      return event
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    return undefined
  }
}

/** The trace header (base64url JSON), or undefined when absent or not a trace. */
function decodeTrace (header: string | string[] | undefined): TraceJson | undefined {
  if (typeof header !== 'string') return undefined
  try {
    return traceJsonShape(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), 'trace')
  } catch {
    return undefined
  }
}

/** A GET whose answer is read as a stream (server-sent events): resolves with the response once its head arrived. */
async function openStream (base: URL, path: string, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
  const transport = base.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = transport.request({
      method: 'GET',
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port === '' ? undefined : Number(base.port),
      path,
      headers,
      signal
    }, resolve)
    req.once('error', reject)
    req.end()
  })
}

function traceFlag (options: { trace?: boolean }): string | undefined {
  return options.trace === true ? '1' : undefined
}

/** `1500` → `1.5 s`, `300` → `300 ms` */
function formatMs (ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`
}

/**
 * The route of a key: its percent-encoding, plus the characters encodeURIComponent leaves as they
 * are (`.` among them, so that the keys `.` and `..` are not dot segments to any URL parser).
 */
export function kvRoute (key: string, query: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value != null) params.set(name, String(value))
  const qs = params.toString()
  const segment = encodeURIComponent(key).replace(/[.!'()*~]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  return `/v1/kv/${segment}${qs === '' ? '' : `?${qs}`}`
}

/** `If-None-Match: *` or `If-Match: <token>` of a conditional write */
function conditionHeaders (options: ClientWriteOptions): Record<string, string> {
  return {
    ...(options.ifNoneMatch === true ? { 'if-none-match': '*' } : {}),
    ...(options.ifMatch == null ? {} : { 'if-match': options.ifMatch })
  }
}

function contextHeader (context: string | undefined): Record<string, string> {
  return context == null || context === '' ? {} : { [CONTEXT_HEADER]: context }
}
