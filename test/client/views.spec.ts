import fc from 'fast-check'
import { createApiServer } from '../../src/api/index.ts'
import { HttpClient } from '../../src/client/index.ts'
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
    const peer = stubWith<ApiPeer>(s => s.locate.callsFake(async (key: Uint8Array, options) => { keys.push(`${new TextDecoder().decode(key)}|${options?.n ?? '-'}`); return LOCATION }))
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
})
