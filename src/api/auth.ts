import { timingSafeEqual, createHash } from 'node:crypto'
import { UnauthorizedError } from '../errors.ts'
import type { FastifyInstance } from 'fastify'

/**
 * Demands `Authorization: Bearer <token>` on every request. Installed only when the API is bound
 * beyond loopback; on loopback the data dir's file permissions are the access control, as in kubo.
 */
export function requireBearerToken (app: FastifyInstance, token: string): void {
  const expected = digest(token)
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    // compare digests so that the comparison is constant-time whatever the lengths
    if (match?.[1] == null || !timingSafeEqual(digest(match[1]), expected)) {
      throw new UnauthorizedError('missing or wrong bearer token')
    }
  })
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** true for hosts that only this machine can reach */
export function isLoopbackHost (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
