import { NotStartedError } from '@libp2p/interface'
import { EVENTS_HEARTBEAT, MAX_EVENT_SUBSCRIBERS } from '../../constants.ts'
import { invalidInput } from '../validation.ts'
import type { HealthReport } from '../../health/index.ts'
import type { ApiContext, ApiHealth } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/** The peer's health, or `NotStartedError` (503) for an API served without one. */
export function healthOf (ctx: ApiContext): ApiHealth {
  const health = ctx.peer.health
  if (health == null) throw new NotStartedError('this API serves no health source')
  return health
}

/**
 * Whether a report fails `?require=`: `read` fails while some key this peer answers for is
 * read-unavailable, `write` while one is write-unavailable; any check fails while it cannot serve.
 */
export function failsRequirement (report: HealthReport, require?: 'read' | 'write'): boolean {
  if (!report.serving) return true
  if (require === 'read') return report.keys.readUnavailable > 0
  if (require === 'write') return report.keys.writeUnavailable > 0
  return false
}

/**
 * `GET /v1/health` (`?require=read|write`): the verdict with reasons, 200 while the peer serves
 * (also when degraded) and 503 when it does not or the requirement fails — the body is the same.
 * `GET /v1/events`: server-sent events, `event: health` whenever the report changes and every
 * `EVENTS_HEARTBEAT`, `event: member` per membership transition, `event: traffic` with the
 * heartbeat; at most `MAX_EVENT_SUBSCRIBERS` at once, all closed when the server closes.
 */
export function healthRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: { require?: 'read' | 'write' } }>('/v1/health', {
    schema: { querystring: { type: 'object', properties: { require: { type: 'string', enum: ['read', 'write'] } } } },
    schemaErrorFormatter: invalidInput({ require: value => `require must be read or write, not ${JSON.stringify(value)}` })
  }, async (request, reply) => {
    const report = healthOf(ctx).report()
    return reply.status(failsRequirement(report, request.query.require) ? 503 : 200).header('cache-control', 'no-store').send(report)
  })

  const subscribers = new Set<() => void>()
  // a stream never ends by itself: end them all before the server waits for its connections
  app.addHook('preClose', async () => { for (const end of [...subscribers]) end() })

  app.get('/v1/events', async (_request, reply) => {
    const health = healthOf(ctx)
    if (subscribers.size >= MAX_EVENT_SUBSCRIBERS) {
      return reply.status(503).header('retry-after', '10').send({
        error: 'TooManySubscribers',
        message: `${subscribers.size} clients already follow /v1/events (at most ${MAX_EVENT_SUBSCRIBERS})`,
        hint: 'close another status page, or poll GET /v1/health'
      })
    }
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
    const send = (event: string, data: unknown): void => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const onHealth = (evt: CustomEvent<HealthReport>): void => { send('health', evt.detail) }
    const onMember = (evt: CustomEvent<unknown>): void => { send('member', evt.detail) }
    const beat = (): void => {
      send('health', health.report())
      if (ctx.traffic != null) send('traffic', ctx.traffic.samples())
    }
    const timer = setInterval(beat, EVENTS_HEARTBEAT)
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      clearInterval(timer)
      health.removeEventListener('health:change', onHealth)
      health.removeEventListener('health:member', onMember)
      subscribers.delete(end)
      res.end()
    }
    subscribers.add(end)
    health.addEventListener('health:change', onHealth)
    health.addEventListener('health:member', onMember)
    // the response closes when the client goes away (the request's own 'close' fires once it was read)
    res.once('close', end)
    res.write('retry: 3000\n\n')
    beat()
  })
}
