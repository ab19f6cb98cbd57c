/**
 * The API's edges below its routes: the limits Node's http server enforces on clients, and the
 * errors it (or Fastify's router) raises before any route runs — a bad percent-encoding, an
 * oversized head, a request too slow to arrive — answered in the same `{ error, message, hint }`
 * shape as every other error.
 *
 * @packageDocumentation
 */

import http from 'node:http'
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import {
  API_SERVER_HEADERS_TIMEOUT, API_SERVER_IDLE_TIMEOUT, API_SERVER_KEEP_ALIVE_TIMEOUT, API_SERVER_MAX_CONNECTIONS,
  API_SERVER_MAX_CONNECTIONS_PER_IP, API_SERVER_MAX_HEADER_BYTES, API_SERVER_MAX_REQUESTS_PER_SOCKET, API_SERVER_REQUEST_TIMEOUT, API_SERVER_TIMEOUT_CHECK_INTERVAL
} from '../constants.ts'
import { describeError, KeyTooLargeError } from '../errors.ts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'

/** The API server's limits on clients (see the `API_SERVER_*` constants). */
export interface ApiLimits {
  /** a whole request (head and body) must arrive within this. @default API_SERVER_REQUEST_TIMEOUT */
  requestTimeout: number
  /** the head must arrive within this (at most `requestTimeout`). @default API_SERVER_HEADERS_TIMEOUT */
  headersTimeout: number
  /** a connection silent this long is closed. @default API_SERVER_IDLE_TIMEOUT */
  idleTimeout: number
  /** a kept-alive connection waits this long for its next request. @default API_SERVER_KEEP_ALIVE_TIMEOUT */
  keepAliveTimeout: number
  /** how often the request and headers timeouts are checked. @default API_SERVER_TIMEOUT_CHECK_INTERVAL */
  timeoutCheckInterval: number
  /** requests per kept-alive connection. @default API_SERVER_MAX_REQUESTS_PER_SOCKET */
  maxRequestsPerSocket: number
  /** open connections at once. @default API_SERVER_MAX_CONNECTIONS */
  maxConnections: number
  /** open connections from one IP address at once (issue #19). @default API_SERVER_MAX_CONNECTIONS_PER_IP */
  maxConnectionsPerIp: number
  /** largest request head in bytes. @default API_SERVER_MAX_HEADER_BYTES */
  maxHeaderBytes: number
}

/** `limits` with every unset field at its default. */
export function resolveApiLimits (limits: Partial<ApiLimits> = {}): ApiLimits {
  const requestTimeout = limits.requestTimeout ?? API_SERVER_REQUEST_TIMEOUT
  return {
    requestTimeout,
    // Node refuses a headers timeout longer than the request timeout
    headersTimeout: Math.min(limits.headersTimeout ?? API_SERVER_HEADERS_TIMEOUT, requestTimeout),
    idleTimeout: limits.idleTimeout ?? API_SERVER_IDLE_TIMEOUT,
    keepAliveTimeout: limits.keepAliveTimeout ?? API_SERVER_KEEP_ALIVE_TIMEOUT,
    timeoutCheckInterval: limits.timeoutCheckInterval ?? API_SERVER_TIMEOUT_CHECK_INTERVAL,
    maxRequestsPerSocket: limits.maxRequestsPerSocket ?? API_SERVER_MAX_REQUESTS_PER_SOCKET,
    maxConnections: limits.maxConnections ?? API_SERVER_MAX_CONNECTIONS,
    maxConnectionsPerIp: limits.maxConnectionsPerIp ?? API_SERVER_MAX_CONNECTIONS_PER_IP,
    maxHeaderBytes: limits.maxHeaderBytes ?? API_SERVER_MAX_HEADER_BYTES
  }
}

/**
 * Closes, as it arrives, a connection from an address that already holds `max` (Node's
 * `server.maxConnections` bounds only the total): one client cannot take every slot (issue #19).
 * The table holds only addresses with open connections.
 */
export function limitConnectionsPerIp (server: { on(event: 'connection', listener: (socket: Socket) => void): unknown }, max: number): { open(address: string): number, refused(): number } {
  const open = new Map<string, number>()
  let refused = 0
  server.on('connection', socket => {
    const address = socket.remoteAddress ?? ''
    const n = (open.get(address) ?? 0) + 1
    if (n > max) {
      refused++
      socket.destroy()
      return
    }
    open.set(address, n)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
  return { open: address => open.get(address) ?? 0, refused: () => refused }
}

/** The JSON body every API error answers with. */
export interface ErrorJson {
  error: string
  message: string
  hint: string
}

/** `err` as the API's error body. */
export function errorJson (err: unknown): ErrorJson {
  const described = describeError(err)
  return { error: described.name, message: described.message, hint: described.hint }
}

/**
 * Fastify's `frameworkErrors`: errors its router raises before a route runs (a URL that is not
 * valid percent-encoding, a path parameter over the limit), answered as any other error.
 */
export async function frameworkErrors (error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let err: Error = error
  let status = 400
  if (error.code === 'FST_ERR_BAD_URL') {
    err = new InvalidParametersError(`the URL ${request.url} is not valid percent-encoding: encode the key's UTF-8 bytes (encodeURIComponent), e.g. "a/b" as a%2Fb and "%" as %25`)
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    err = new KeyTooLargeError('the key in the URL is longer than the limit (1 KiB, percent-encoded up to 3 bytes per byte)')
  } else {
    status = describeError(error).httpStatus
  }
  await reply.status(status).send(errorJson(err))
}

/**
 * Fastify's `clientErrorHandler`: errors of Node's http parser and timeouts, raised before any
 * request exists (an oversized head, a request that did not arrive in time, garbage). Writes the
 * answer on the raw socket, as Node and Fastify do, then closes it.
 */
export function clientErrorHandler (limits: ApiLimits): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    // a reset connection has nobody left to answer
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    let status: number
    let body: ErrorJson
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408
      body = errorJson(new TimeoutError(`the request did not arrive within ${limits.requestTimeout / 1000} s (headers within ${limits.headersTimeout / 1000} s); send it at once`))
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431
      body = errorJson(new InvalidParametersError(`the request line and headers are larger than ${limits.maxHeaderBytes} bytes`))
    } else {
      status = 400
      body = errorJson(new InvalidParametersError(`malformed HTTP request (${err.code ?? err.message})`))
    }
    if (socket.writable) {
      const text = JSON.stringify(body)
      socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`)
    }
    socket.destroy()
  }
}
