import { requestSignal } from '../request-signal.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/** `GET /v1/peers`: the peers this peer knows, `[{ peerId, multiaddrs, connected, protocols }]`. */
export function peersRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/peers', async (_request, reply) => {
    return ctx.peer.peers({ signal: requestSignal(reply) })
  })

  /** `GET /v1/ring`: every member's zone, capacity, exact expected share of the keys and keys held. */
  app.get('/v1/ring', async (_request, reply) => {
    return ctx.peer.ring({ signal: requestSignal(reply) })
  })
}
