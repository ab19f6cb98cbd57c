import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/**
 * `GET /metrics`: the peer's Prometheus registry in the text exposition format, with the registry's
 * own content type. Off loopback it obeys the API's token rule like every route (role `metrics`
 * or above; see ROUTE_PERMISSIONS).
 */
export function metricsRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.peer.metrics?.registry
    if (registry == null) {
      return reply.status(404).send({ error: 'NotFoundError', message: 'this server has no metrics registry', hint: 'see README, "Metrics and alerts"' })
    }
    const text = await registry.metrics()
    return reply.type(registry.contentType).send(text)
  })
}
