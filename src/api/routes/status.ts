import { requestSignal } from '../request-signal.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/** `GET /v1/status`: peer id, addresses, version, uptime, connections. */
export function statusRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/status', async (_request, reply) => {
    return ctx.peer.status({ signal: requestSignal(reply) })
  })
}
