import http from 'node:http'
import fc from 'fast-check'
import { createApiServer } from '../../src/api/index.ts'
import { HttpClient, kvRoute } from '../../src/client/index.ts'
import { describeError, EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { listen } from '../utils/http.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { CausalContext } from '../../src/clock/index.ts'
import type { Cleanup } from '../utils/cleanup.ts'
import type { AddressInfo } from 'node:net'

const CONTEXT: CausalContext = { vv: new Map([['aa01', 1]]), cloud: [] }
const utf8 = new TextEncoder()
const text = new TextDecoder()

/** The real API (Fastify) on 127.0.0.1:0 with a stub peer that records the key bytes it was given. */
async function apiWithStubPeer (cleanup: Cleanup): Promise<{ url: string, keys: Uint8Array[] }> {
  const keys: Uint8Array[] = []
  const peer = stubWith<ApiPeer>(s => {
    s.put.callsFake(async (key: Uint8Array) => { keys.push(key); return { context: CONTEXT, acks: 2, coordinator: '12D3KooWCoord' } })
    s.get.callsFake(async (key: Uint8Array) => {
      keys.push(key)
      const sibling = { dot: { actor: 'aa01', counter: 1 }, value: utf8.encode('v'), timestamp: 1, deleted: false }
      return { siblings: [sibling], versions: [sibling], context: CONTEXT, replies: 2 }
    })
  })
  const app = createApiServer({ peer })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  cleanup.add(async () => app.close())
  return { url, keys }
}

/** A UTF-8 string of 1 to 1024 bytes, any code point (no lone surrogates: they have no UTF-8 form) */
const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 1024 })
  .filter(k => { const n = utf8.encode(k).byteLength; return n >= 1 && n <= 1024 })
/** keys made of the characters URL handling gets wrong: dots, slashes, encodeURIComponent's unescaped set, percent */
const awkwardKey = fc.string({ unit: fc.constantFrom('.', '..', '/', '%', '%2E', '!', "'", '(', ')', '*', '~', '?', '#', '&', '+', ' ', '\\', ';', 'é', '😀'), minLength: 1, maxLength: 50 })

describe('HttpClient', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  describe('keys: every key reaches the route unchanged', () => {
    it('the keys "." and ".." round-trip through put and get', async () => {
      const api = await apiWithStubPeer(cleanup)
      const client = new HttpClient({ url: api.url })
      for (const k of ['.', '..', '...', './', '/..', '%2E']) {
        expect((await client.put(k, utf8.encode('x'))).key, k).to.equal(k)
        expect((await client.get(k)).key, k).to.equal(k)
      }
      expect(api.keys.map(k => text.decode(k))).to.deep.equal(['.', '.', '..', '..', '...', '...', './', './', '/..', '/..', '%2E', '%2E'])
    })

    it('any unicode key of 1 to 1024 UTF-8 bytes arrives as the same bytes (property, real Fastify router)', async () => {
      const api = await apiWithStubPeer(cleanup)
      const client = new HttpClient({ url: api.url })
      await fc.assert(fc.asyncProperty(fc.oneof(key, awkwardKey), async k => {
        api.keys.length = 0
        const written = await client.put(k, utf8.encode('x'))
        expect(written.key).to.equal(k)
        expect(api.keys).to.have.length(1)
        expect(api.keys[0]).to.deep.equal(utf8.encode(k))
      }), { numRuns: 300 })
    })

    it('percent-encodes the characters encodeURIComponent leaves alone', () => {
      expect(kvRoute('.')).to.equal('/v1/kv/%2E')
      expect(kvRoute("a.b!'()*~", { n: 3 })).to.equal('/v1/kv/a%2Eb%21%27%28%29%2A%7E?n=3')
    })
  })

  describe('a server that is not a p2pstore daemon: NotADaemonError, exit 6', () => {
    it('an HTML 404 page (python3 -m http.server)', async () => {
      const url = await listen(cleanup, (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html;charset=utf-8' }).end('<!DOCTYPE HTML><html><body><h1>Error response</h1><p>Error code: 404</p></body></html>')
      })
      const client = new HttpClient({ url })
      for (const call of [async () => client.status(), async () => client.peers(), async () => client.get('k'), async () => client.put('k', utf8.encode('v')), async () => client.delete('k')]) {
        const err = await call().then(() => undefined, (e: unknown) => e as Error)
        expect(err).to.have.property('name', 'NotADaemonError')
        expect(err?.message).to.match(/^the server at http:\/\/127\.0\.0\.1:\d+ is not a p2pstore daemon: \w+ \/v1\/\S+ answered 404 with a body that is not JSON \(text\/html\)$/)
        expect(describeError(err)).to.include({ exitCode: EXIT.unreachable })
        expect(describeError(err).hint).to.match(/is --api a p2pstore daemon\?/)
      }
    })

    it('JSON of another shape, for every call', async () => {
      const url = await listen(cleanup, (req, res) => {
        res.writeHead(req.url === '/v1/peers' ? 200 : req.url === '/v1/status' ? 200 : 500, { 'content-type': 'application/json' })
        res.end(req.url === '/v1/peers' ? '{"peers":[]}' : req.url === '/v1/status' ? '{"peerId":"x","multiaddrs":"no"}' : '{"status":"error"}')
      })
      const client = new HttpClient({ url })
      await expect(client.peers()).to.be.rejectedWith(/GET \/v1\/peers answered 200 with JSON of another shape \(answer: expected an array, got an object\)/)
      await expect(client.status()).to.eventually.be.rejected.and.have.property('name', 'NotADaemonError')
      await expect(client.get('k')).to.be.rejectedWith(/answered 500 with JSON of another shape \(error\.error: expected a string, got nothing\)/)
    })

    it('an element of the wrong shape deep in a list', async () => {
      const url = await listen(cleanup, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ peerId: 'a', multiaddrs: [], connected: true, protocols: [], state: 'alive', incarnation: 1, suspectedBy: [] }, { peerId: 'b' }]))
      })
      await expect(new HttpClient({ url }).peers()).to.be.rejectedWith(/answer\[1\]\.multiaddrs: expected an array/)
    })

    it('an error answer from a real daemon keeps its name', async () => {
      const url = await listen(cleanup, (_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"NotFoundError","message":"no value for key \\"k\\"","hint":"…"}')
      })
      await expect(new HttpClient({ url }).get('k')).to.eventually.be.rejected.and.have.property('name', 'NotFoundError')
    })
  })

  describe('deadlines', () => {
    it('a daemon that never answers: TimeoutError naming it, after the timeout', async () => {
      const url = await listen(cleanup, () => {})
      const started = Date.now()
      const err = await new HttpClient({ url }, 300).status().then(() => undefined, (e: unknown) => e as Error)
      expect(err).to.have.property('name', 'TimeoutError')
      expect(err?.message).to.equal(`the daemon at ${url} did not answer GET /v1/status within 300 ms`)
      expect(Date.now() - started).to.be.lessThan(5_000)
    })

    it('the caller aborts: AbortError', async () => {
      const url = await listen(cleanup, () => {})
      const controller = new AbortController()
      const pending = new HttpClient({ url }).put('k', utf8.encode('v'), { signal: controller.signal })
      setTimeout(() => { controller.abort() }, 50)
      await expect(pending).to.eventually.be.rejected.and.have.property('name', 'AbortError')
    })

    it('a port nothing listens on: DaemonUnreachableError (ECONNREFUSED)', async () => {
      // a port that was just free, then closed again
      const server = http.createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as AddressInfo).port
      await new Promise(resolve => server.close(resolve))
      const err = await new HttpClient({ url: `http://127.0.0.1:${port}` }).status().then(() => undefined, (e: unknown) => e as Error)
      expect(err).to.have.property('name', 'DaemonUnreachableError')
      expect(err?.message).to.equal(`cannot reach the daemon at http://127.0.0.1:${port} (ECONNREFUSED)`)
    })
  })
})
