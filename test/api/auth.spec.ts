import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { createApiServer, ROUTE_PERMISSIONS } from '../../src/api/index.ts'
import { DataDir } from '../../src/datadir/index.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { ApiPeer, FaultTarget } from '../../src/api/index.ts'
import type { Sibling } from '../../src/clock/index.ts'
import type { HealthEvents, HealthReport } from '../../src/health/index.ts'
import type { GetResult, KnownPeer, PeerStatus } from '../../src/peer.ts'
import type { Role } from '../../src/tokens/index.ts'
import type { FastifyInstance } from 'fastify'
import type { StubbedInstance } from 'sinon-ts'

const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const minute = 60_000

const VALUE: Sibling = { dot: { actor: 'aa01', counter: 1 }, value: new TextEncoder().encode('v'), timestamp: T0, deleted: false }
const FOUND: GetResult = { siblings: [VALUE], versions: [VALUE], context: { vv: new Map([['aa01', 1]]), cloud: [] }, replies: 2, replicas: 3, n: 3 }
const MISSING: GetResult = { siblings: [], versions: [], context: { vv: new Map(), cloud: [] }, replies: 2, replicas: 3, n: 3 }

function stubPeer (): StubbedInstance<ApiPeer> {
  const peer = stubInterface<ApiPeer>()
  peer.status.resolves({ peerId: '12D3KooWTest' } as unknown as PeerStatus)
  peer.peers.resolves([] as KnownPeer[])
  peer.ring.resolves([])
  peer.locate.resolves({ n: 3, peerId: '12D3KooWTest', peers: [], homeCopies: 0, otherCopies: 0, siblings: 0 })
  peer.get.callsFake(async (key: Uint8Array) => new TextDecoder().decode(key).includes('missing') ? MISSING : FOUND)
  peer.put.resolves({ context: FOUND.context, acks: 2, coordinator: '12D3KooWTest' })
  peer.delete.resolves({ context: FOUND.context, acks: 2, coordinator: '12D3KooWTest' })
  peer.list.resolves({ keys: [], peers: 1, unreachable: [] })
  Object.assign(peer, { health: Object.assign(new TypedEventEmitter<HealthEvents>(), { report: () => HEALTHY, recentEvents: () => [] }) })
  Object.assign(peer, { metrics: { registry: { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '' } } })
  return peer
}

const HEALTHY: HealthReport = {
  verdict: 'healthy',
  peerId: '12D3KooWTest',
  serving: true,
  checkedAt: new Date(T0).toISOString(),
  members: { alive: 1, suspect: 0, dead: 0, left: 0, total: 1 },
  view: { digest: '00', agreeing: 0, disagreeing: 0, unknown: 0, disagreeingPeers: [] },
  keys: { primary: 0, underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0 },
  rereplication: null,
  reasons: [],
  notes: [],
  replication: { n: 3, r: 2, w: 2 }
}

function stubFaults (): StubbedInstance<FaultTarget> {
  const faults = stubInterface<FaultTarget>()
  faults.partitions.returns([])
  faults.heal.returns(0)
  faults.partition.resolves()
  return faults
}

/** What a request needs, written here independently of the implementation's table. */
type Needs = 'read' | 'write' | 'admin' | 'metrics' | 'health' | 'unknown'

interface RouteCase {
  name: string
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST'
  url: string
  needs: Needs
  /** the key is inside the prefix app/ (true), outside (false), or there is no key (undefined) */
  inPrefix?: boolean
  /** the status when allowed */
  ok: number
  body?: string
  /** an event stream: the answer's head is checked, then the stream is dropped */
  stream?: boolean
  /** a browser page: a 401 answers a sign-in form, not JSON */
  page?: boolean
}

const ROUTES: RouteCase[] = [
  { name: 'status', method: 'GET', url: '/v1/status', needs: 'read', ok: 200 },
  { name: 'status HEAD', method: 'HEAD', url: '/v1/status', needs: 'read', ok: 200 },
  { name: 'peers', method: 'GET', url: '/v1/peers', needs: 'read', ok: 200 },
  { name: 'ring', method: 'GET', url: '/v1/ring', needs: 'read', ok: 200 },
  { name: 'limits', method: 'GET', url: '/v1/limits', needs: 'read', ok: 200 },
  { name: 'get in prefix', method: 'GET', url: '/v1/kv/app%2Fx', needs: 'read', inPrefix: true, ok: 200 },
  { name: 'get missing key in prefix', method: 'GET', url: '/v1/kv/app%2Fmissing', needs: 'read', inPrefix: true, ok: 404 },
  { name: 'get outside prefix', method: 'GET', url: '/v1/kv/other', needs: 'read', inPrefix: false, ok: 200 },
  // a missing key outside the prefix answers exactly like an existing one: nothing leaks
  { name: 'get missing key outside prefix', method: 'GET', url: '/v1/kv/missing', needs: 'read', inPrefix: false, ok: 404 },
  { name: 'head in prefix', method: 'HEAD', url: '/v1/kv/app%2Fx', needs: 'read', inPrefix: true, ok: 200 },
  { name: 'put in prefix', method: 'PUT', url: '/v1/kv/app%2Fx', needs: 'write', inPrefix: true, ok: 200, body: 'v' },
  { name: 'put outside prefix', method: 'PUT', url: '/v1/kv/other', needs: 'write', inPrefix: false, ok: 200, body: 'v' },
  { name: 'put prefix without the slash', method: 'PUT', url: '/v1/kv/app', needs: 'write', inPrefix: false, ok: 200, body: 'v' },
  { name: 'delete in prefix', method: 'DELETE', url: '/v1/kv/app%2Fx', needs: 'write', inPrefix: true, ok: 200 },
  { name: 'delete outside prefix', method: 'DELETE', url: '/v1/kv/other', needs: 'write', inPrefix: false, ok: 200 },
  { name: 'batch (each item is checked on its own)', method: 'POST', url: '/v1/batch', needs: 'read', ok: 200, body: '{"items":[{"op":"get","key":"app/x"}]}' },
  { name: 'locate in prefix', method: 'GET', url: '/v1/locate/app%2Fx', needs: 'read', inPrefix: true, ok: 200 },
  { name: 'locate outside prefix', method: 'GET', url: '/v1/locate/other', needs: 'read', inPrefix: false, ok: 200 },
  { name: 'list in prefix', method: 'GET', url: '/v1/kv?prefix=app%2F', needs: 'read', inPrefix: true, ok: 200 },
  { name: 'list under a longer prefix', method: 'GET', url: '/v1/kv?prefix=app%2Fx&limit=5', needs: 'read', inPrefix: true, ok: 200 },
  { name: 'list outside prefix', method: 'GET', url: '/v1/kv?prefix=other', needs: 'read', inPrefix: false, ok: 200 },
  { name: 'list every key', method: 'GET', url: '/v1/kv', needs: 'read', inPrefix: false, ok: 200 },
  { name: 'faults', method: 'GET', url: '/v1/faults', needs: 'admin', ok: 200 },
  { name: 'partition', method: 'PUT', url: '/v1/faults/partition', needs: 'admin', ok: 200, body: '{"peers":[]}' },
  { name: 'heal', method: 'DELETE', url: '/v1/faults/partition', needs: 'admin', ok: 200 },
  { name: 'metrics', method: 'GET', url: '/metrics', needs: 'metrics', ok: 200 },
  { name: 'health', method: 'GET', url: '/v1/health', needs: 'health', ok: 200 },
  { name: 'events', method: 'GET', url: '/v1/events', needs: 'health', ok: 200, stream: true },
  { name: 'status page', method: 'GET', url: '/ui', needs: 'health', ok: 200, page: true },
  { name: 'status page session', method: 'POST', url: '/v1/ui/session', needs: 'health', ok: 204 },
  { name: 'unknown endpoint', method: 'GET', url: '/v1/nope', needs: 'unknown', ok: 404 }
]

/** Each role's rights, from the README's table. */
const RIGHTS: Record<Role, Needs[]> = {
  metrics: ['metrics', 'health'],
  read: ['read', 'health'],
  write: ['read', 'write', 'health'],
  admin: ['read', 'write', 'admin', 'metrics', 'health']
}

interface Credential {
  name: string
  header?: string
  /** undefined: the credential is refused (401) */
  role?: Role
  prefix?: string
  /** part of the 401 message */
  refusal?: RegExp
}

describe('api tokens: every route × role × prefix', () => {
  const cleanup = useCleanup()
  let now: number
  let store: TokenStore
  let dir: DataDir

  beforeEach(async () => {
    now = T0
    dir = new DataDir(await cleanup.tempDir())
    store = new TokenStore(dir, { now: () => now })
  })

  async function credentials (): Promise<Credential[]> {
    const bearer = (secret: string): string => `Bearer ${secret}`
    const read = await store.create({ role: 'read' })
    const write = await store.create({ role: 'write' })
    const admin = await store.create({ role: 'admin' })
    const metrics = await store.create({ role: 'metrics' })
    const readApp = await store.create({ role: 'read', prefix: 'app/' })
    const writeApp = await store.create({ role: 'write', prefix: 'app/' })
    const expired = await store.create({ role: 'admin', expiresIn: 10 * minute })
    const expiresLater = await store.create({ role: 'write', expiresIn: 60 * minute })
    const revoked = await store.create({ role: 'admin' })
    await store.revoke(revoked.token.id)
    const graced = await store.create({ role: 'write' })
    const gracedNew = await store.rotate(graced.token.id, 24 * 60 * minute)
    const rotated = await store.create({ role: 'admin' })
    const rotatedNew = await store.rotate(rotated.token.id)
    now = T0 + 30 * minute
    const wrongSecret = `${read.secret.slice(0, -4)}AAAA`
    return [
      { name: 'no token' },
      { name: 'not a bearer header', header: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { name: 'garbage', header: bearer('nonsense'), refusal: /unknown or wrong/ },
      { name: 'right id, wrong secret', header: bearer(wrongSecret), refusal: /unknown or wrong/ },
      { name: 'read', header: bearer(read.secret), role: 'read' },
      { name: 'write', header: bearer(write.secret), role: 'write' },
      { name: 'admin', header: bearer(admin.secret), role: 'admin' },
      { name: 'metrics', header: bearer(metrics.secret), role: 'metrics' },
      { name: 'read app/', header: bearer(readApp.secret), role: 'read', prefix: 'app/' },
      { name: 'write app/', header: bearer(writeApp.secret), role: 'write', prefix: 'app/' },
      { name: 'expired admin', header: bearer(expired.secret), refusal: new RegExp(`token ${expired.token.id} expired at ${expired.token.expiresAt ?? 'x'}`) },
      { name: 'write, not yet expired', header: bearer(expiresLater.secret), role: 'write' },
      { name: 'revoked admin', header: bearer(revoked.secret), refusal: /was revoked at/ },
      { name: 'write, old secret in grace', header: bearer(graced.secret), role: 'write' },
      { name: 'write, new secret after rotate', header: bearer(gracedNew.secret), role: 'write' },
      { name: 'admin, old secret rotated without grace', header: bearer(rotated.secret), refusal: /unknown or wrong/ },
      { name: 'admin, new secret', header: bearer(rotatedNew.secret), role: 'admin' }
    ]
  }

  function expected (cred: Credential, route: RouteCase): number {
    if (cred.role == null) return 401
    if (route.needs === 'unknown') return route.ok
    if (!RIGHTS[cred.role].includes(route.needs)) return 403
    if (cred.prefix != null && route.inPrefix === false) return 403
    return route.ok
  }

  async function inject (app: FastifyInstance, route: RouteCase, header?: string): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
    return app.inject({
      method: route.method,
      url: route.url,
      headers: { ...(header == null ? {} : { authorization: header }), ...(route.body == null ? {} : { 'content-type': 'application/octet-stream' }) },
      ...(route.body == null ? {} : { payload: route.body }),
      ...(route.stream === true ? { payloadAsStream: true } : {})
    })
  }

  it('answers allowed / 401 / 403 / 404 as the role, prefix, expiry and revocation say, and denied requests reach nothing', async () => {
    const creds = await credentials()
    const peer = stubPeer()
    const faults = stubFaults()
    // every refused credential fails once per route: more than the default limit of failures per address
    const app = createApiServer({ peer, faults, tokens: { store }, limitsReport: { limits: [], worstCaseBytes: 0 }, authFailureLimit: 1000 })
    // ends the event streams the matrix opened
    cleanup.add(async () => { await app.close() })
    let checked = 0
    for (const cred of creds) {
      for (const route of ROUTES) {
        for (const stub of [peer.status, peer.peers, peer.ring, peer.get, peer.put, peer.delete, peer.list, faults.partition, faults.heal, faults.partitions]) stub.resetHistory()
        const res = await inject(app, route, cred.header)
        const want = expected(cred, route)
        const what = `${cred.name} → ${route.method} ${route.url}`
        expect(res.statusCode, `${what}: ${route.stream === true ? '(stream)' : res.body}`).to.equal(want)
        if (route.stream === true) {
          if (want === 200) expect(res.headers['content-type'], what).to.match(/^text\/event-stream/)
          else expect(res.headers['content-type'], what).to.match(/json/)
          res.stream().destroy()
        } else if (route.page === true && want === 401) {
          // a browser gets the sign-in form, under the page's policy
          expect(res.headers['content-type'], what).to.match(/^text\/html/)
          expect(res.headers['content-security-policy'], what).to.match(/script-src 'nonce-/)
          expect(res.body, what).to.include('id="login"')
        } else if (want === 401 || want === 403) {
          // HEAD answers carry no body
          if (route.method !== 'HEAD') expect(res.json(), what).to.include({ error: want === 401 ? 'UnauthorizedError' : 'ForbiddenError' })
          if (route.method !== 'HEAD' && want === 401 && cred.refusal != null) expect(res.json().message, what).to.match(cred.refusal)
          // refused before the handler: nothing was read, written or partitioned
          for (const stub of [peer.status, peer.peers, peer.ring, peer.get, peer.put, peer.delete, peer.list, faults.partition, faults.heal]) expect(stub.called, `${what} called the peer`).to.equal(false)
        }
        checked++
      }
    }
    expect(checked).to.equal(creds.length * ROUTES.length)
  })

  it('names the role needed and the prefix in a 403', async () => {
    const read = await store.create({ role: 'read' })
    const app = createApiServer({ peer: stubPeer(), tokens: { store } })
    const put = await app.inject({ method: 'PUT', url: '/v1/kv/a', headers: { authorization: `Bearer ${read.secret}` }, payload: 'v' })
    expect(put.statusCode).to.equal(403)
    expect(put.json().message).to.equal(`token ${read.token.id} has the role read; PUT /v1/kv/:key needs write or admin`)
    const scoped = await store.create({ role: 'read', prefix: 'app/' })
    const get = await app.inject({ method: 'GET', url: '/v1/kv/b', headers: { authorization: `Bearer ${scoped.secret}` } })
    expect(get.statusCode).to.equal(403)
    expect(get.json().message).to.include('"app/"')
  })

  it('lets an expiring token in until its expiry, then answers 401 naming the expiry', async () => {
    const token = await store.create({ role: 'read', expiresIn: 10 * minute })
    const app = createApiServer({ peer: stubPeer(), tokens: { store } })
    const get = async (): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> => app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `Bearer ${token.secret}` } })
    now = T0 + 10 * minute - 1
    expect((await get()).statusCode).to.equal(200)
    now = T0 + 10 * minute
    const res = await get()
    expect(res.statusCode).to.equal(401)
    expect(res.json().message).to.equal(`token ${token.token.id} expired at 2026-01-01T00:10:00.000Z`)
  })

  it('keeps an old secret working during the rotation grace and refuses it after', async () => {
    const token = await store.create({ role: 'write' })
    const fresh = await store.rotate(token.token.id, 24 * 60 * minute)
    const app = createApiServer({ peer: stubPeer(), tokens: { store } })
    const status = async (secret: string): Promise<number> => (await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `Bearer ${secret}` } })).statusCode
    now = T0 + 24 * 60 * minute - 1
    expect(await status(token.secret)).to.equal(200)
    expect(await status(fresh.secret)).to.equal(200)
    now = T0 + 24 * 60 * minute
    const after = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `Bearer ${token.secret}` } })
    expect(after.statusCode).to.equal(401)
    expect(after.json().message).to.match(/its old secret stopped working at 2026-01-02T00:00:00.000Z/)
    expect(await status(fresh.secret)).to.equal(200)
  })

  it('sees tokens created and revoked by another process at the next request', async () => {
    // another TokenStore on the same dir stands for `p2pstore token …` run while the daemon serves
    const cli = new TokenStore(new DataDir(dir.path), { now: () => now })
    const app = createApiServer({ peer: stubPeer(), tokens: { store, required: true } })
    const status = async (secret?: string): Promise<number> => (await app.inject({ method: 'GET', url: '/v1/status', headers: secret == null ? {} : { authorization: `Bearer ${secret}` } })).statusCode
    expect(await status()).to.equal(401)
    const created = await cli.create({ role: 'read' })
    expect(await status(created.secret)).to.equal(200)
    await cli.revoke(created.token.id)
    expect(await status(created.secret)).to.equal(401)
  })

  it('on loopback (not required) is open while the store is empty, and closed from the first token on, also after revoking it', async () => {
    const app = createApiServer({ peer: stubPeer(), tokens: { store, required: false } })
    const status = async (secret?: string): Promise<number> => (await app.inject({ method: 'GET', url: '/v1/status', headers: secret == null ? {} : { authorization: `Bearer ${secret}` } })).statusCode
    expect(await status()).to.equal(200)
    const token = await store.create({ role: 'read' })
    expect(await status()).to.equal(401)
    expect(await status(token.secret)).to.equal(200)
    await store.revoke(token.token.id)
    expect(await status()).to.equal(401)
    expect(await status(token.secret)).to.equal(401)
  })

  it('beyond loopback (required) refuses everything while the store is empty', async () => {
    const app = createApiServer({ peer: stubPeer(), tokens: { store, required: true } })
    const res = await app.inject({ method: 'GET', url: '/v1/status' })
    expect(res.statusCode).to.equal(401)
  })

  it('fails closed when the token file is corrupt', async () => {
    const token = await store.create({ role: 'admin' })
    const app = createApiServer({ peer: stubPeer(), tokens: { store } })
    await dir.writeText('api-tokens.json', '{ not json', 0o600)
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `Bearer ${token.secret}` } })
    expect(res.statusCode).to.equal(500)
    expect(res.json()).to.include({ error: 'DataDirError' })
  })

  it('gives every served route an explicit permission (and the matrix covers every one)', async () => {
    const app = createApiServer({ peer: stubPeer(), faults: stubFaults(), tokens: { store } })
    await app.ready()
    const served = servedRoutes(app.printRoutes({ commonPrefix: false })).filter(r => !r.startsWith('HEAD '))
    expect(served.length).to.be.greaterThan(5)
    for (const route of served) {
      expect(ROUTE_PERMISSIONS, route).to.have.property(route)
      const [method, pattern] = route.split(' ')
      const covered = ROUTES.some(r => r.method === method && app.hasRoute({ method: r.method, url: pattern ?? '' }) && matches(pattern ?? '', r.url))
      expect(covered, `the matrix has a case for ${route}`).to.equal(true)
    }
  })
})

/** `METHOD /pattern` of every route in Fastify's printRoutes() tree. */
function servedRoutes (tree: string): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?/.exec(line)
    if (match == null) continue
    const depth = (match[1] ?? '').length / 4
    stack.length = depth
    stack.push(match[2] ?? '')
    for (const method of (match[3] ?? '').split(', ').filter(m => m !== '')) routes.push(`${method} ${stack.join('')}`)
  }
  return routes
}

function matches (pattern: string, url: string): boolean {
  return new RegExp(`^${pattern.replace(/:[^/]+/g, '[^/]+')}$`).test(url)
}
