/**
 * The HTTP API of a daemon (Fastify): one plugin per resource under `routes/`, a bearer-token guard
 * when bound beyond loopback, and one error handler that turns every error into
 * `{ error, message, hint }` with the status from the `ERRORS` table — also the errors raised before
 * a route runs (`edges.ts`: bad percent-encoding, oversized heads, requests too slow to arrive).
 * Node's http server limits how long a client may take and how many connections it may hold.
 *
 * @packageDocumentation
 */

import Fastify from 'fastify'
import { MAX_BATCH_BYTES, MAX_VALUE_BYTES } from '../constants.ts'
import { BatchTooLargeError, describeError, ValueTooLargeError } from '../errors.ts'
import { AuthFailures } from './auth-failures.ts'
import { requireApiTokens, requireBearerToken } from './auth.ts'
import { clientErrorHandler, errorJson, frameworkErrors, limitConnectionsPerIp, resolveApiLimits } from './edges.ts'
import { batchRoutes } from './routes/batch.ts'
import { faultRoutes } from './routes/faults.ts'
import { healthRoutes } from './routes/health.ts'
import { keysRoutes } from './routes/keys.ts'
import { kvRoutes } from './routes/kv.ts'
import { limitsRoutes } from './routes/limits.ts'
import { locateRoutes } from './routes/locate.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { peersRoutes } from './routes/peers.ts'
import { statusRoutes } from './routes/status.ts'
import { uiRoutes } from './routes/ui.ts'
import { Traffic } from './traffic.ts'
import type { ApiTokensInit } from './auth.ts'
import type { ApiLimits } from './edges.ts'
import type { FaultTarget } from './routes/faults.ts'
import type { ApiContext, ApiPeer } from './types.ts'
import type { LimitsJson } from '../limits/index.ts'
import type { FastifyInstance } from 'fastify'

export { isLoopbackHost, ROUTE_PERMISSIONS } from './auth.ts'
export type { ApiTokensInit, RoutePermission } from './auth.ts'
export { AuthFailures } from './auth-failures.ts'
export type { AuthFailuresInit } from './auth-failures.ts'
export type { GetJson, SiblingJson, WriteJson } from './routes/kv.ts'
export type { KeysPageJson, ListedKeyJson } from './routes/keys.ts'
export type { BatchItem, BatchItemJson, BatchJson } from './routes/batch.ts'
export type { FaultTarget, PartitionJson } from './routes/faults.ts'
export type { ApiContext, ApiHealth, ApiPeer } from './types.ts'
export type { ApiLimits, ErrorJson } from './edges.ts'

/** Options of `createApiServer()`. */
export interface ApiServerInit {
  /** the peer to serve */
  peer: ApiPeer
  /** demand this bearer token on every request. @default undefined (no auth, loopback only) */
  token?: string
  /** check every request against API tokens with roles and prefixes (wins over `token`). @default undefined */
  tokens?: ApiTokensInit
  /** largest value a PUT may carry. @default MAX_VALUE_BYTES */
  maxValueBytes?: number
  /** serve the fault-injection routes (`/v1/faults`) for test nets. @default undefined (not served) */
  faults?: FaultTarget
  /** timeouts and connection limits on clients. @default the `API_SERVER_*` constants */
  limits?: Partial<ApiLimits>
  /**
   * failed authentications per client address per minute before its requests without a valid
   * token get a 429 (with `tokens`; issue #19). @default API_AUTH_FAILURE_LIMIT (200)
   */
  authFailureLimit?: number
  /** every limit the daemon runs with, served at `/v1/limits`. @default undefined (404) */
  limitsReport?: LimitsJson
}

/** Builds the API server without listening, so tests can `inject()` requests. */
export function createApiServer (init: ApiServerInit): FastifyInstance {
  const maxValueBytes = init.maxValueBytes ?? MAX_VALUE_BYTES
  // keys are up to 1 KiB, percent-encoded up to 3 bytes per byte
  const limits = resolveApiLimits(init.limits)
  const app = Fastify({
    logger: false,
    bodyLimit: maxValueBytes,
    routerOptions: { maxParamLength: 4 * 1024 },
    // route schemas (see validation.ts): values are taken as sent, never coerced ("1" is no
    // number, "x" no list), and a failure keeps the value so that its message can quote it
    ajv: { customOptions: { coerceTypes: false, verbose: true, allErrors: false } },
    // a client has this long to send a whole request, then gets a 408 and its connection closed
    requestTimeout: limits.requestTimeout,
    connectionTimeout: limits.idleTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      requestTimeout: limits.requestTimeout,
      headersTimeout: limits.headersTimeout,
      connectionsCheckingInterval: limits.timeoutCheckInterval,
      maxHeaderSize: limits.maxHeaderBytes
    },
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(limits)
  })
  app.server.maxConnections = limits.maxConnections
  limitConnectionsPerIp(app.server, limits.maxConnectionsPerIp)
  const ctx: ApiContext = { peer: init.peer, traffic: new Traffic(), limits: init.limitsReport }
  // values are raw bytes whatever their content type claims
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  if (init.tokens != null) requireApiTokens(app, { failures: new AuthFailures({ limit: init.authFailureLimit }), ...init.tokens })
  else if (init.token != null) requireBearerToken(app, init.token)

  app.setErrorHandler(async (error, request, reply) => {
    const tooLarge = (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
    const err = !tooLarge
      ? error
      : request.routeOptions.url === '/v1/batch'
        ? new BatchTooLargeError(`the batch is larger than the limit of ${MAX_BATCH_BYTES} bytes; split it`)
        : new ValueTooLargeError(`the value is larger than the limit of ${maxValueBytes} bytes`)
    // Fastify's own validation and parsing errors carry a 4xx statusCode of their own
    const fastifyStatus = (err as { statusCode?: number }).statusCode
    const described = describeError(err)
    const status = described.httpStatus === 500 && fastifyStatus != null && fastifyStatus < 500 ? fastifyStatus : described.httpStatus
    return reply.status(status).send(errorJson(err))
  })
  app.setNotFoundHandler(async (request, reply) => {
    return reply.status(404).send({ error: 'NotFoundError', message: `no such endpoint: ${request.method} ${request.url}`, hint: 'see README, "HTTP API"' })
  })

  // the status page's traffic strip: kv requests as answered
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/v1/kv/:key') ctx.traffic?.record(reply.statusCode, reply.elapsedTime)
  })
  statusRoutes(app, ctx)
  healthRoutes(app, ctx)
  uiRoutes(app, ctx)
  peersRoutes(app, ctx)
  kvRoutes(app, ctx)
  keysRoutes(app, ctx)
  batchRoutes(app, ctx)
  locateRoutes(app, ctx)
  limitsRoutes(app, ctx)
  metricsRoutes(app, ctx)
  if (init.faults != null) faultRoutes(app, init.faults)
  return app
}
