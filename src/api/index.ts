/**
 * The HTTP API of a daemon (Fastify): one plugin per resource under `routes/`, a bearer-token guard
 * when bound beyond loopback, and one error handler that turns every error into
 * `{ error, message, hint }` with the status from the `ERRORS` table.
 *
 * @packageDocumentation
 */

import Fastify from 'fastify'
import { describeError } from '../errors.ts'
import { requireBearerToken } from './auth.ts'
import { peersRoutes } from './routes/peers.ts'
import { statusRoutes } from './routes/status.ts'
import type { KnownPeer, PeerStatus } from '../peer.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'

export { isLoopbackHost } from './auth.ts'

/** What the API serves: the subset of `Peer` it calls. */
export interface ApiPeer {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
}

/** Passed to every route plugin. */
export interface ApiContext {
  peer: ApiPeer
}

/** Options of `createApiServer()`. */
export interface ApiServerInit {
  /** the peer to serve */
  peer: ApiPeer
  /** demand this bearer token on every request. @default undefined (no auth, loopback only) */
  token?: string
}

/** Builds the API server without listening, so tests can `inject()` requests. */
export function createApiServer (init: ApiServerInit): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  const ctx: ApiContext = { peer: init.peer }

  if (init.token != null) requireBearerToken(app, init.token)

  app.setErrorHandler(async (err, _request, reply) => {
    // Fastify's own validation and parsing errors carry a 4xx statusCode of their own
    const fastifyStatus = (err as { statusCode?: number }).statusCode
    const described = describeError(err)
    const status = described.httpStatus === 500 && fastifyStatus != null && fastifyStatus < 500 ? fastifyStatus : described.httpStatus
    return reply.status(status).send({ error: described.name, message: described.message, hint: described.hint })
  })
  app.setNotFoundHandler(async (request, reply) => {
    return reply.status(404).send({ error: 'NotFoundError', message: `no such endpoint: ${request.method} ${request.url}`, hint: 'see README, "HTTP API"' })
  })

  statusRoutes(app, ctx)
  peersRoutes(app, ctx)
  return app
}
