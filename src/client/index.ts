/**
 * The HTTP client of a daemon's API, used by the CLI and by the consistency checker: every request
 * has a deadline, and errors come back with the daemon's error name so exit codes map as there.
 *
 * @packageDocumentation
 */

import { API_REQUEST_TIMEOUT, CONTEXT_HEADER } from '../constants.ts'
import { DaemonUnreachableError } from '../errors.ts'
import type { GetJson, WriteJson } from '../api/index.ts'
import type { KnownPeer, PeerStatus } from '../peer.ts'
import type { AbortOptions } from '@libp2p/interface'

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
}

/** Options of a read through the API. */
export interface ClientReadOptions extends QuorumOptions {
  /** read-time policy: `lww` picks the sibling with the latest timestamp */
  resolve?: 'lww'
}

/** The daemon API as the CLI uses it. Commands take this interface so tests can pass a stub. */
export interface Client {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
  /** one or more live siblings; NotFoundError when there is none */
  get(key: string, options?: ClientReadOptions): Promise<GetJson>
  put(key: string, value: Uint8Array, options?: ClientWriteOptions): Promise<WriteJson>
  delete(key: string, options?: ClientWriteOptions): Promise<WriteJson>
}

/** An error answered by the API, rebuilt with the same `name` so that exit codes map as on the daemon. */
export class RemoteError extends Error {
  /** the context token the answer carried (a 404 of a deleted key still has one) */
  readonly context?: string

  constructor (name: string, message: string, context?: string) {
    super(message)
    this.name = name
    this.context = context
  }
}

/** HTTP client of a daemon's API; every request has a deadline. */
export class HttpClient implements Client {
  private readonly target: ApiTarget
  private readonly timeout: number

  constructor (target: ApiTarget, timeout = API_REQUEST_TIMEOUT) {
    this.target = target
    this.timeout = timeout
  }

  async status (options: AbortOptions = {}): Promise<PeerStatus> {
    return this.request<PeerStatus>('GET', '/v1/status', options)
  }

  async peers (options: AbortOptions = {}): Promise<KnownPeer[]> {
    return this.request<KnownPeer[]>('GET', '/v1/peers', options)
  }

  async get (key: string, options: ClientReadOptions = {}): Promise<GetJson> {
    return this.request<GetJson>('GET', kvRoute(key, { n: options.n, r: options.r, resolve: options.resolve }), options, { accept: 'application/json' })
  }

  async put (key: string, value: Uint8Array, options: ClientWriteOptions = {}): Promise<WriteJson> {
    return this.request<WriteJson>('PUT', kvRoute(key, { n: options.n, w: options.w, strict: options.strict === true ? 'true' : undefined }), options, contextHeader(options.context), value)
  }

  async delete (key: string, options: ClientWriteOptions = {}): Promise<WriteJson> {
    const query = { n: options.n, r: options.r, w: options.w, strict: options.strict === true ? 'true' : undefined, blind: options.blind === true ? 'true' : undefined }
    return this.request<WriteJson>('DELETE', kvRoute(key, query), options, contextHeader(options.context))
  }

  private async request<T> (method: string, route: string, options: AbortOptions, headers: Record<string, string> = {}, body?: Uint8Array): Promise<T> {
    let url: URL
    try {
      url = new URL(route, this.target.url)
    } catch {
      throw new RemoteError('InvalidParametersError', `API URL "${this.target.url}" is not a valid URL (expected e.g. http://127.0.0.1:4701)`)
    }
    const signals = [AbortSignal.timeout(this.timeout), ...(options.signal == null ? [] : [options.signal])]
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...headers,
          ...(body == null ? {} : { 'content-type': 'application/octet-stream' }),
          ...(this.target.token == null ? {} : { authorization: `Bearer ${this.target.token}` })
        },
        body,
        signal: AbortSignal.any(signals)
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      if (e.name === 'TimeoutError' || e.name === 'AbortError') throw err
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.target.url} (${e.cause?.code ?? e.message})`, { cause: err })
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      throw new RemoteError('Error', `the daemon at ${this.target.url} answered ${res.status} with a body that is not JSON`)
    }
    // 300 Multiple Choices is a successful read with siblings
    if (!res.ok && res.status !== 300) {
      const { error, message } = (parsed ?? {}) as { error?: string, message?: string }
      throw new RemoteError(error ?? 'Error', message ?? `HTTP ${res.status}`, res.headers.get(CONTEXT_HEADER) ?? undefined)
    }
    return parsed as T
  }
}

function kvRoute (key: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value != null) params.set(name, String(value))
  const qs = params.toString()
  return `/v1/kv/${encodeURIComponent(key)}${qs === '' ? '' : `?${qs}`}`
}

function contextHeader (context: string | undefined): Record<string, string> {
  return context == null || context === '' ? {} : { [CONTEXT_HEADER]: context }
}
