import fc from 'fast-check'
import { createApiServer } from '../../src/api/index.ts'
import { EventStreamParser, HttpClient } from '../../src/client/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { listen } from '../utils/http.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { KeyLocation } from '../../src/replication/index.ts'

const HEALTH = { verdict: 'unavailable', peerId: '12D3KooWSelf', serving: false, reasons: [{ severity: 'unavailable', cause: 'not started' }] }
const LOCATION: KeyLocation = { n: 3, peerId: '12D3KooWSelf', peers: [], homeCopies: 0, otherCopies: 0, siblings: 0 }

describe('HttpClient: health() and locate()', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('health(): 200 and 503 both carry the verdict; a 503 error body is the error; another shape is not a daemon', async () => {
    let answer: { status: number, body: unknown } = { status: 503, body: HEALTH }
    const url = await listen(cleanup, (_req, res) => { res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)) })
    const client = new HttpClient({ url })
    expect(await client.health()).to.deep.equal(HEALTH)
    answer = { status: 200, body: { ...HEALTH, verdict: 'healthy', serving: true, reasons: [] } }
    expect(await client.health()).to.include({ verdict: 'healthy' })
    answer = { status: 503, body: { error: 'NotStartedError', message: 'the peer is not running', hint: 'start it' } }
    await expect(client.health()).to.be.rejected.and.eventually.include({ name: 'NotStartedError', message: 'the peer is not running' })
    answer = { status: 404, body: { error: 'NotFoundError', message: 'no such endpoint: GET /v1/health', hint: '-' } }
    await expect(client.health()).to.be.rejected.and.eventually.have.property('name', 'NotFoundError')
    answer = { status: 200, body: { ...HEALTH, reasons: [{ severity: 'bad', cause: 'x' }] } }
    await expect(client.health()).to.be.rejected.and.eventually.have.property('name', 'NotADaemonError')
  })

  it('locate(): the key reaches the route as its bytes, n goes in the query, and the answer is shape-checked', async () => {
    const keys: string[] = []
    const peer = stubWith<ApiPeer>(s => s.locate.callsFake(async (key: Uint8Array, options?: { n?: number }) => { keys.push(`${new TextDecoder().decode(key)}|${options?.n ?? '-'}`); return LOCATION }))
    const app = createApiServer({ peer })
    cleanup.add(async () => { await app.close() })
    const client = new HttpClient({ url: await app.listen({ host: '127.0.0.1', port: 0 }) })
    await fc.assert(fc.asyncProperty(fc.string({ unit: fc.constantFrom('.', '..', '/', '%', '?', '#', ' ', 'é', '😀', 'a'), minLength: 1, maxLength: 20 }), async k => {
      keys.length = 0
      expect(await client.locate(k)).to.deep.equal(LOCATION)
      expect(keys).to.deep.equal([`${k}|-`])
    }), { numRuns: 50 })
    await client.locate('k', { n: 5 })
    expect(keys.at(-1)).to.equal('k|5')

    const wrong = await listen(cleanup, (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...LOCATION, peers: [{ peerId: 'x' }] })) })
    await expect(new HttpClient({ url: wrong }).locate('k')).to.be.rejected.and.eventually.have.property('name', 'NotADaemonError')
  })

  it('EventStreamParser: events, multi-line data, comments (heartbeats), CRLF, and chunks split anywhere', () => {
    const stream = ': hi\n\nevent: health\ndata: {"a":1}\n\nevent: member\r\ndata: x\r\ndata: y\r\n\r\ndata:plain\n\n'
    const expected = [{ event: 'health', data: '{"a":1}' }, { event: 'member', data: 'x\ny' }, { event: 'message', data: 'plain' }]
    expect(new EventStreamParser().push(stream)).to.deep.equal(expected)
    fc.assert(fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 6 }), cuts => {
      const at = [...new Set(cuts)].sort((a, b) => a - b)
      const parser = new EventStreamParser()
      const got = [0, ...at].map((from, i) => stream.slice(from, at[i] ?? stream.length)).flatMap(piece => parser.push(piece))
      expect(got).to.deep.equal(expected)
    }))
  })

  it('events(): a stream of events until the caller stops; 404 is NotFoundError, another content type is not a daemon', async () => {
    let mode: 'stream' | 'missing' | 'json' = 'stream'
    const url = await listen(cleanup, (_req, res) => {
      if (mode === 'missing') { res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NotFoundError', message: 'no such endpoint: GET /v1/events', hint: '-' })); return }
      if (mode === 'json') { res.writeHead(200, { 'content-type': 'application/json' }).end('[]'); return }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('event: health\ndata: {"verdict":"healthy"}\n\n')
      res.write('event: member\ndata: {"peerId":"p","state":"dead"}\n\n')
    })
    const client = new HttpClient({ url })
    const stop = new AbortController()
    const seen: string[] = []
    const reading = (async () => {
      for await (const e of client.events({ signal: stop.signal })) {
        seen.push(e.event)
        if (seen.length === 2) stop.abort()
      }
    })()
    await expect(reading).to.be.rejected.and.eventually.have.property('name', 'AbortError')
    expect(seen).to.deep.equal(['health', 'member'])
    mode = 'missing'
    await expect(client.events()[Symbol.asyncIterator]().next()).to.be.rejected.and.eventually.have.property('name', 'NotFoundError')
    mode = 'json'
    await expect(client.events()[Symbol.asyncIterator]().next()).to.be.rejected.and.eventually.have.property('name', 'NotADaemonError')
  })
})
