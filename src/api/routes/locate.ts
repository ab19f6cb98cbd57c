import { MAX_N } from '../../constants.ts'
import { requestSignal } from '../request-signal.ts'
import { invalidInput, wholeNumberPattern } from '../validation.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

interface LocateParams { key: string }
interface LocateQuery { n?: string }

const PARAMS = { type: 'object', required: ['key'], properties: { key: { type: 'string' } } } as const
/** `n`: a whole number from 1 to MAX_N; empty means "not given" (as on `/v1/kv/:key`). */
const QUERY = { type: 'object', properties: { n: { type: 'string', pattern: wholeNumberPattern(MAX_N) } } } as const
const queryErrors = invalidInput({ n: value => `n=${String(value)}: expected a whole number from 1 to ${MAX_N}` })

/**
 * `GET /v1/locate/:key` — where a key lives, as this peer sees it (see `Peer.locate`): the
 * preference list with each peer's state, which home replicas hold the key with their clocks and
 * sibling counts, copies on fallbacks (hinted), and dead members that would be home replicas. The
 * key is the URL path segment, percent-encoded as for `/v1/kv/:key`; it needs the `read`
 * permission for that key (a token's prefix applies). Changes nothing.
 */
export function locateRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: LocateParams, Querystring: LocateQuery }>('/v1/locate/:key', { schema: { params: PARAMS, querystring: QUERY }, schemaErrorFormatter: queryErrors }, async (request, reply) => {
    const n = request.query.n == null || request.query.n === '' ? undefined : Number(request.query.n)
    return ctx.peer.locate(new TextEncoder().encode(request.params.key), { n, signal: requestSignal(reply) })
  })
}
