import type { FastifyReply } from 'fastify'

/**
 * An AbortSignal that fires when the client goes away before the answer is sent, so work done for
 * a request (remote calls, quorums) stops with it.
 */
export function requestSignal (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  return controller.signal
}
