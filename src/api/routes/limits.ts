import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/**
 * `GET /v1/limits`: every limit the daemon runs with and the most memory each lets peers and
 * clients make it hold (see `src/limits`). 404 from a server built without them (a stand-in peer).
 */
export function limitsRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/limits', async (_request, reply) => {
    if (ctx.limits == null) return reply.status(404).send({ error: 'NotFoundError', message: 'this server was started without its limits', hint: 'ask a daemon (`p2pstore daemon`)' })
    return ctx.limits
  })
}
