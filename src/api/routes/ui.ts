import { randomBytes } from 'node:crypto'
import { InvalidParametersError } from '@libp2p/interface'
import { UI_COOKIE, UI_COOKIE_MAX_AGE } from '../auth.ts'
import { requestSignal } from '../request-signal.ts'
import { invalidInput } from '../validation.ts'
import { healthOf } from './health.ts'
import { esc, renderLive, renderPage } from './ui-page.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance, FastifyReply } from 'fastify'

/**
 * The page's Content-Security-Policy: nothing loads but what the answer carries under `nonce`,
 * and what the script fetches from this origin (`/v1/events`, `/ui?part=live`).
 */
export function uiCsp (nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

function pageHeaders (reply: FastifyReply, nonce: string): void {
  reply
    .header('content-security-policy', uiCsp(nonce))
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
}

const LOGIN_SCRIPT = `
document.getElementById('login').addEventListener('submit', async (evt) => {
  evt.preventDefault()
  const out = document.getElementById('out')
  const token = document.getElementById('token').value.trim()
  const res = await fetch('/v1/ui/session', { method: 'POST', headers: { authorization: 'Bearer ' + token }, credentials: 'same-origin' })
  if (res.ok) location.reload()
  else out.textContent = (await res.json().catch(() => ({ message: 'HTTP ' + res.status }))).message
})
`

/** What a browser gets instead of a 401's JSON: a form that trades a token for the page's cookie. */
function loginPage (nonce: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>p2pstore: sign in</title>
<style nonce="${nonce}">body{font:14px system-ui,sans-serif;margin:40px;max-width:560px}input{width:100%;padding:6px;font-family:monospace}button{margin-top:8px;padding:6px 14px}#out{color:#b3261e}</style></head>
<body><h1>p2pstore status page</h1><p>${esc(message)}</p>
<p>This API demands a token. Paste one with the <code>read</code> or <code>metrics</code> role (<code>npx p2pstore token create --role read</code>): it is kept in an HttpOnly cookie for this site for 12 hours, and sent only with GET requests.</p>
<form id="login"><input id="token" type="password" autocomplete="off" placeholder="p2ps_…" required><button type="submit">Open the status page</button></form><p id="out"></p>
<script nonce="${nonce}">${LOGIN_SCRIPT}</script></body></html>`
}

/**
 * `GET /ui`: the live status page (see ui-page.ts), `?part=live` its changing part only.
 * `POST /v1/ui/session`: with `Authorization: Bearer <token>`, answers 204 and sets the page's
 * cookie (HttpOnly, SameSite=Strict, `UI_COOKIE_MAX_AGE`) — the auth guard accepts it on GET
 * requests, so the page, its event stream and its refreshes work while tokens are on.
 */
export function uiRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: { part?: 'live' } }>('/ui', {
    schema: { querystring: { type: 'object', properties: { part: { type: 'string', enum: ['live'] } } } },
    schemaErrorFormatter: invalidInput({ part: value => `part must be live, not ${JSON.stringify(value)}` }),
    // a browser refused by the token guard gets a sign-in form instead of JSON
    onSend: async (request, reply, payload) => {
      if (reply.statusCode !== 401 || request.query.part === 'live') return payload
      const nonce = randomBytes(16).toString('base64')
      pageHeaders(reply, nonce)
      reply.header('content-type', 'text/html; charset=utf-8')
      let message = 'a token is needed'
      try {
        message = (JSON.parse(String(payload)) as { message?: string }).message ?? message
      } catch {}
      return loginPage(nonce, message)
    }
  }, async (request, reply) => {
    const health = healthOf(ctx)
    const signal = requestSignal(reply)
    const [status, peers, ring] = await Promise.all([ctx.peer.status({ signal }), ctx.peer.peers({ signal }), ctx.peer.ring({ signal })])
    const data = { report: health.report(), events: health.recentEvents(), status, peers, ring, traffic: ctx.traffic?.samples() ?? [], now: Date.now() }
    const nonce = randomBytes(16).toString('base64')
    pageHeaders(reply, nonce)
    reply.header('content-type', 'text/html; charset=utf-8')
    return request.query.part === 'live' ? renderLive(data) : renderPage(data, nonce)
  })

  app.post('/v1/ui/session', async (request, reply) => {
    // the guard verified it already (tokens on); its characters are checked before they go in a header
    const match = /^Bearer\s+([A-Za-z0-9_.~-]+)$/i.exec(request.headers.authorization ?? '')
    if (match?.[1] == null) throw new InvalidParametersError('send the token to remember as Authorization: Bearer p2ps_…')
    const secure = request.protocol === 'https' ? '; Secure' : ''
    return reply.status(204).header('set-cookie', `${UI_COOKIE}=${match[1]}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${UI_COOKIE_MAX_AGE}${secure}`).send()
  })
}
