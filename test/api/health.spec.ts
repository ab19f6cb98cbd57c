import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { createApiServer } from '../../src/api/index.ts'
import { MAX_EVENT_SUBSCRIBERS } from '../../src/constants.ts'
import { DataDir } from '../../src/datadir/index.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { HealthEvents, HealthReport, MemberEvent } from '../../src/health/index.ts'
import type { KnownPeer, PeerStatus } from '../../src/peer.ts'
import type { FastifyInstance } from 'fastify'

const SELF = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelfSelf'
const DEAD = '12D3KooWDeadDeadDeadDeadDeadDeadDeadDeadDeada1b2'

function report (over: Partial<HealthReport> = {}): HealthReport {
  return {
    verdict: 'healthy',
    peerId: SELF,
    serving: true,
    checkedAt: '2026-12-02T01:00:00.000Z',
    members: { alive: 3, suspect: 0, dead: 0, left: 0, total: 3 },
    view: { digest: '0011223344556677', agreeing: 2, disagreeing: 0, unknown: 0, disagreeingPeers: [] },
    keys: { primary: 10, underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 },
    rereplication: null,
    reasons: [],
    notes: [],
    replication: { n: 3, r: 2, w: 2 },
    ...over
  }
}

const DEGRADED = report({
  verdict: 'degraded',
  members: { alive: 3, suspect: 0, dead: 1, left: 0, total: 4 },
  keys: { primary: 10, underReplicated: 4, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 },
  rereplication: { active: true, done: 2, total: 6, progress: 1 / 3, rate: 1, etaSeconds: 4 },
  reasons: [{ severity: 'degraded', cause: 'peer 12D3…a1b2 dead 41 s', effect: '4 keys have 2 of 3 copies; re-replication 33 %, ETA 4 s', peers: [DEAD], keys: ['<script>alert(1)</script>', 'plain'] }]
})

class FakeHealth extends TypedEventEmitter<HealthEvents> {
  current = report()
  events: MemberEvent[] = [{ peerId: DEAD, state: 'dead', previous: 'suspect', at: '2026-12-02T00:59:19.000Z' }]
  report (): HealthReport { return this.current }
  recentEvents (): MemberEvent[] { return this.events }
}

function stubPeer (health: FakeHealth): ApiPeer {
  const peer = stubInterface<ApiPeer>()
  peer.status.resolves({ peerId: SELF, version: '0.1.0', uptimeSeconds: 5, incarnation: 7, pendingHints: 0, peers: { known: 3 } } as unknown as PeerStatus)
  peer.peers.resolves([{ peerId: DEAD, multiaddrs: [], connected: false, protocols: [], state: 'dead', incarnation: 3, suspectedBy: [] }] as KnownPeer[])
  peer.ring.resolves([{ peerId: SELF, state: 'alive', capacity: 1, share: 1, keys: 10, self: true }])
  Object.assign(peer, { health })
  return peer
}

/** Reads an event stream until `want` has been seen or the stream ends; resolves with what arrived. */
async function readUntil (body: ReadableStream<Uint8Array>, want: RegExp): Promise<{ text: string, ended: boolean }> {
  const reader = body.getReader()
  const dec = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return { text, ended: true }
      text += dec.decode(value)
      if (want.test(text)) return { text, ended: false }
    }
  } finally {
    reader.releaseLock()
  }
}

describe('api: /v1/health, /v1/events and /ui', () => {
  const cleanup = useCleanup()

  async function listening (app: FastifyInstance): Promise<string> {
    cleanup.add(async () => { await app.close() })
    return app.listen({ host: '127.0.0.1', port: 0 })
  }

  it('GET /v1/health answers 200 while serving, and ?require= 503 when that kind of request is unavailable', async () => {
    const health = new FakeHealth()
    const app = createApiServer({ peer: stubPeer(health) })
    const get = async (url: string): Promise<{ status: number, body: HealthReport }> => {
      const res = await app.inject({ url })
      return { status: res.statusCode, body: res.json() }
    }
    expect(await get('/v1/health')).to.deep.equal({ status: 200, body: health.current })
    health.current = DEGRADED
    // degraded still serves
    expect((await get('/v1/health')).status).to.equal(200)
    expect((await get('/v1/health?require=read')).status).to.equal(200)
    health.current = report({ verdict: 'at-risk', keys: { primary: 10, underReplicated: 10, writeUnavailable: 10, readUnavailable: 0, singleCopy: 10 } })
    const write = await get('/v1/health?require=write')
    expect(write.status).to.equal(503)
    expect(write.body.verdict).to.equal('at-risk')
    expect((await get('/v1/health?require=read')).status).to.equal(200)
    health.current = report({ keys: { primary: 10, underReplicated: 10, writeUnavailable: 10, readUnavailable: 10, singleCopy: 10 } })
    expect((await get('/v1/health?require=read')).status).to.equal(503)
    health.current = report({ serving: false, verdict: 'unavailable' })
    expect((await get('/v1/health')).status).to.equal(503)
    const bad = await app.inject({ url: '/v1/health?require=both' })
    expect(bad.statusCode).to.equal(400)
    expect(bad.json()).to.include({ error: 'InvalidParametersError', message: 'require must be read or write, not "both"' })
  })

  it('GET /v1/events streams health and member events, ends on client disconnect and on server close, and refuses past the limit', async () => {
    const health = new FakeHealth()
    const app = createApiServer({ peer: stubPeer(health) })
    const base = await listening(app)
    const first = new AbortController()
    const res = await fetch(`${base}/v1/events`, { signal: first.signal })
    expect(res.status).to.equal(200)
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/)
    const body = res.body as ReadableStream<Uint8Array>
    expect((await readUntil(body, /event: health\ndata: \{.*"verdict":"healthy"/)).ended).to.equal(false)
    health.safeDispatchEvent('health:member', { detail: { peerId: DEAD, state: 'dead', previous: 'suspect', at: '2026-12-02T01:00:00.000Z' } })
    expect((await readUntil(body, /event: member\ndata: \{"peerId":"12D3KooWDead/)).ended).to.equal(false)
    health.safeDispatchEvent('health:change', { detail: DEGRADED })
    expect((await readUntil(body, /"verdict":"degraded"/)).ended).to.equal(false)
    expect(health.listenerCount('health:change')).to.equal(1)

    // a client that goes away leaves no listener behind
    first.abort()
    await eventually(async () => health.listenerCount('health:change') === 0, 'the subscriber removed')

    // at most MAX_EVENT_SUBSCRIBERS at once
    const streams = await Promise.all(Array.from({ length: MAX_EVENT_SUBSCRIBERS }, async () => fetch(`${base}/v1/events`)))
    expect(streams.map(s => s.status)).to.deep.equal(streams.map(() => 200))
    const refused = await fetch(`${base}/v1/events`)
    expect(refused.status).to.equal(503)
    expect(await refused.json()).to.include({ error: 'TooManySubscribers' })

    // closing the server ends every stream (it would otherwise wait for them forever)
    await app.close()
    for (const s of streams) expect((await readUntil(s.body as ReadableStream<Uint8Array>, /(?!)/)).ended).to.equal(true)
    expect(health.listenerCount('health:change')).to.equal(0)
  })

  it('GET /ui renders the first screen on the server, under a nonce CSP, with every value escaped', async () => {
    const health = new FakeHealth()
    health.current = DEGRADED
    const app = createApiServer({ peer: stubPeer(health) })
    const res = await app.inject({ url: '/ui' })
    expect(res.statusCode).to.equal(200)
    expect(res.headers['content-type']).to.match(/^text\/html/)
    const csp = String(res.headers['content-security-policy'])
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(csp).to.include("default-src 'none'").and.include("connect-src 'self'").and.include("frame-ancestors 'none'")
    expect(nonce).to.be.a('string')
    const html = res.body
    // every script and style carries the nonce; nothing inline the policy would refuse
    expect(html.match(/<script\b[^>]*>/g)).to.deep.equal([`<script nonce="${nonce ?? ''}">`])
    expect(html.match(/<style\b[^>]*>/g)).to.deep.equal([`<style nonce="${nonce ?? ''}">`])
    expect(html).to.not.match(/\sstyle=|\son[a-z]+=|https?:\/\/(?!www\.w3)/)
    // readable without the script: verdict, cause first, the member table, the event timeline
    expect(html).to.include('data-verdict="degraded"').and.include('>Degraded<')
    expect(html).to.match(/peer 12D3…a1b2 dead 41 s<\/span> <span class="arrow">→<\/span> <span class="effect">4 keys have 2 of 3 copies/)
    expect(html).to.include(`data-peer="${DEAD}" data-state="dead"`)
    expect(html).to.include('&#60;script&#62;alert(1)&#60;/script&#62;').and.not.include('<script>alert(1)')
    expect(html).to.match(/<ol class="timeline"><li class="st-dead">/)
    // a fresh nonce per answer
    const again = await app.inject({ url: '/ui' })
    expect(again.headers['content-security-policy']).to.not.equal(csp)

    const live = await app.inject({ url: '/ui?part=live' })
    expect(live.statusCode).to.equal(200)
    expect(live.body).to.include('id="verdict"').and.not.include('<html')
    expect((await app.inject({ url: '/ui?part=all' })).statusCode).to.equal(400)
  })

  it('with tokens on: /ui offers a sign-in form, POST /v1/ui/session sets an HttpOnly SameSite=Strict cookie the guard takes on GET only', async () => {
    const store = new TokenStore(new DataDir(await cleanup.tempDir()))
    const read = await store.create({ role: 'read' })
    const write = await store.create({ role: 'write' })
    const app = createApiServer({ peer: stubPeer(new FakeHealth()), tokens: { store } })

    const anonymous = await app.inject({ url: '/ui' })
    expect(anonymous.statusCode).to.equal(401)
    expect(anonymous.headers['content-type']).to.match(/^text\/html/)
    expect(anonymous.body).to.include('id="login"')

    expect((await app.inject({ method: 'POST', url: '/v1/ui/session' })).statusCode).to.equal(401)
    const session = await app.inject({ method: 'POST', url: '/v1/ui/session', headers: { authorization: `Bearer ${read.secret}` } })
    expect(session.statusCode).to.equal(204)
    const cookie = String(session.headers['set-cookie'])
    expect(cookie).to.match(/^p2pstore_ui=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/)
    const jar = cookie.split(';')[0] ?? ''

    expect((await app.inject({ url: '/ui', headers: { cookie: jar } })).statusCode).to.equal(200)
    expect((await app.inject({ url: '/v1/health', headers: { cookie: `other=1; ${jar}` } })).statusCode).to.equal(200)
    // a cookie never writes: a cross-site form could send it
    const writeJar = `p2pstore_ui=${write.secret}`
    const put = await app.inject({ method: 'PUT', url: '/v1/kv/x', headers: { cookie: writeJar, 'content-type': 'application/octet-stream' }, payload: 'v' })
    expect(put.statusCode).to.equal(401)
    // a revoked token's cookie stops working at once
    await store.revoke(read.token.id)
    expect((await app.inject({ url: '/v1/health', headers: { cookie: jar } })).statusCode).to.equal(401)
  })
})
