import { API_REQUEST_TIMEOUT } from '../constants.ts'
import { DaemonUnreachableError } from '../errors.ts'
import type { ApiTarget } from './api-file.ts'
import type { KnownPeer, PeerStatus } from '../peer.ts'
import type { AbortOptions } from '@libp2p/interface'

/** The daemon API as the CLI uses it. Commands take this interface so tests can pass a stub. */
export interface Client {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
}

/** An error answered by the API, rebuilt with the same `name` so that exit codes map as on the daemon. */
export class RemoteError extends Error {
  constructor (name: string, message: string) {
    super(message)
    this.name = name
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

  private async request<T> (method: string, route: string, options: AbortOptions): Promise<T> {
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
        headers: this.target.token == null ? {} : { authorization: `Bearer ${this.target.token}` },
        signal: AbortSignal.any(signals)
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      if (e.name === 'TimeoutError' || e.name === 'AbortError') throw err
      throw new DaemonUnreachableError(`cannot reach the daemon at ${this.target.url} (${e.cause?.code ?? e.message})`, { cause: err })
    }
    const body = await res.text()
    let parsed: unknown
    try {
      parsed = body === '' ? undefined : JSON.parse(body)
    } catch {
      throw new RemoteError('Error', `the daemon at ${this.target.url} answered ${res.status} with a body that is not JSON`)
    }
    if (!res.ok) {
      const { error, message } = (parsed ?? {}) as { error?: string, message?: string }
      throw new RemoteError(error ?? 'Error', message ?? `HTTP ${res.status}`)
    }
    return parsed as T
  }
}
