import { requestSignal } from '../request-signal.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/** `GET /v1/peers`: the peers this peer knows, `[{ peerId, multiaddrs, connected, protocols }]`. */
export function peersRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/peers', async (_request, reply) => {
    return ctx.peer.peers({ signal: requestSignal(reply) })
  })
}
