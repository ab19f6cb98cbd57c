import { createApiServer } from '../../src/api/index.ts'
import { CONTEXT_HEADER, MAX_BATCH_BYTES, MAX_BATCH_ITEMS } from '../../src/constants.ts'
import { DataDir } from '../../src/datadir/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { BatchJson, GetJson, WriteJson } from '../../src/api/index.ts'
import type { Testnet } from '../../src/testnet/index.ts'
import type { FastifyInstance } from 'fastify'

describe('POST /v1/batch and conditional PUT headers, on a real loopback testnet (issue #20)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  let net: Testnet
  let app: FastifyInstance

  beforeEach(async () => {
    net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const peer = net.peers[0]
    if (peer == null) throw new Error('no peer')
    app = createApiServer({ peer })
    cleanup.add(async () => app.close())
  })

  async function batch (body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: BatchJson & { error?: string, message?: string } }> {
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) })
    return { status: res.statusCode, json: res.json() }
  }

  it('runs every item and answers each with its own outcome, in order: values, missing keys, siblings, bad items, refused conditions', async () => {
    await net.peers[1]?.put('sib', new TextEncoder().encode('a'))
    await net.peers[2]?.put('sib', new TextEncoder().encode('b'))
    const { status, json } = await batch({
      items: [
        { op: 'put', key: 'k1', value: 'one' },
        { op: 'put', key: 'k2', value: Buffer.from([0, 255, 1]).toString('base64'), encoding: 'base64' },
        { op: 'get', key: 'k1' },
        { op: 'get', key: 'missing' },
        { op: 'get', key: 'k2' },
        { op: 'get', key: 'sib' },
        { op: 'nope', key: 'k1' },
        { op: 'put', key: 'k3' },
        { op: 'put', key: 'x'.repeat(1025), value: 'v' },
        { op: 'put', key: 'k1', value: 'again', ifNoneMatch: true },
        { op: 'put', key: 'k4', value: 'created', ifNoneMatch: true },
        { op: 'get', key: 'k1', extra: 1 },
        'not an object'
      ]
    })
    expect(status).to.equal(200)
    expect(json.items.map(i => i.status)).to.deep.equal([200, 200, 200, 404, 200, 300, 400, 400, 400, 412, 200, 400, 400])
    expect(json.items.map(i => i.error?.error ?? '')).to.deep.equal(['', '', '', 'NotFoundError', '', '', 'InvalidParametersError', 'InvalidParametersError', 'KeyTooLargeError', 'PreconditionFailedError', '', 'InvalidParametersError', 'InvalidParametersError'])
    // items of one key run in the order sent: the get after the put reads it
    expect((json.items[2]?.result as GetJson).siblings.map(s => s.value)).to.deep.equal(['one'])
    expect((json.items[4]?.result as GetJson).siblings[0]).to.include({ encoding: 'base64', value: Buffer.from([0, 255, 1]).toString('base64') })
    expect((json.items[5]?.result as GetJson).siblings.map(s => s.value).sort()).to.deep.equal(['a', 'b'])
    expect(json.items[3]?.context).to.be.a('string')
    expect(json.items[7]?.error?.message).to.match(/value/)
    expect(json).to.include({ ok: 6, failed: 7 })
    // the refused create changed nothing
    expect((await net.peers[0]?.get('k1'))?.siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['one'])
  })

  it('if-match items: the context of a get matches once; a stale one is refused with 412', async () => {
    const first = await batch({ items: [{ op: 'put', key: 'm', value: 'v1' }] })
    const context = (first.json.items[0]?.result as WriteJson).context
    const { json } = await batch({ items: [{ op: 'put', key: 'm', value: 'v2', ifMatch: context }, { op: 'put', key: 'm', value: 'v3', ifMatch: context }, { op: 'put', key: 'm', value: 'v4', ifMatch: 'garbage' }] })
    expect(json.items.map(i => i.status)).to.deep.equal([200, 412, 400])
    expect(json.items[2]?.error?.error).to.equal('InvalidContextTokenError')
  })

  it('refuses a bad batch whole: not JSON, no items array, no items, too many items, too many bytes', async () => {
    const cases: Array<[unknown, number, string]> = [
      ['{"items": [', 400, 'InvalidParametersError'],
      [{ gets: [] }, 400, 'InvalidParametersError'],
      [[{ op: 'get', key: 'k' }], 400, 'InvalidParametersError'],
      [{ items: [] }, 400, 'InvalidParametersError'],
      [{ items: Array.from({ length: MAX_BATCH_ITEMS + 1 }, (_, i) => ({ op: 'get', key: `k${i}` })) }, 413, 'BatchTooLargeError'],
      [JSON.stringify({ items: [{ op: 'put', key: 'big', value: 'x'.repeat(MAX_BATCH_BYTES) }] }), 413, 'BatchTooLargeError']
    ]
    for (const [body, status, error] of cases) {
      const res = await batch(body)
      expect(res.status, JSON.stringify(body).slice(0, 60)).to.equal(status)
      expect(res.json.error).to.equal(error)
    }
    // nothing of the refused batches was written
    expect((await net.peers[0]?.get('big'))?.siblings).to.deep.equal([])
  })

  it('with API tokens, each item needs what its own request would: writes need write, keys the prefix', async () => {
    const dir = new DataDir(await cleanup.tempDir())
    const store = new TokenStore(dir)
    const reader = await store.create({ role: 'read', prefix: 'app/' })
    const peer = net.peers[0]
    if (peer == null) throw new Error('no peer')
    const guarded = createApiServer({ peer, tokens: { store } })
    cleanup.add(async () => guarded.close())
    await peer.put('app/x', new TextEncoder().encode('v'))
    const res = await guarded.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: `Bearer ${reader.secret}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ items: [{ op: 'get', key: 'app/x' }, { op: 'get', key: 'other' }, { op: 'put', key: 'app/y', value: 'v' }] })
    })
    const json: BatchJson = res.json()
    expect(json.items.map(i => i.status)).to.deep.equal([200, 403, 403])
    expect((await peer.get('app/y')).siblings).to.deep.equal([])
  })

  it('PUT If-None-Match: * creates once, then 412; If-Match with a stale context 412, nothing changed; bad header combinations 400', async () => {
    const put = async (headers: Record<string, string>, value = 'v', method: 'PUT' | 'DELETE' = 'PUT'): Promise<{ status: number, body: Record<string, unknown> }> => {
      const res = await app.inject({ method, url: '/v1/kv/h1', headers: { 'content-type': 'application/octet-stream', ...headers }, ...(method === 'PUT' ? { payload: value } : {}) })
      return { status: res.statusCode, body: res.json() }
    }
    const created = await put({ 'if-none-match': '*' }, 'first')
    expect(created.status).to.equal(200)
    const again = await put({ 'if-none-match': '*' }, 'second')
    expect(again.status).to.equal(412)
    expect(again.body.error).to.equal('PreconditionFailedError')
    expect(again.body.hint).to.be.a('string')

    const context = created.body.context as string
    const next = await put({ 'if-match': `"${context}"` }, 'third')
    expect(next.status).to.equal(200)
    const stale = await put({ 'if-match': context }, 'fourth')
    expect(stale.status).to.equal(412)
    const read = await app.inject({ method: 'GET', url: '/v1/kv/h1' })
    expect(read.body).to.equal('third')
    expect((await put({ 'if-match': context }, '', 'DELETE')).status).to.equal(412)

    expect((await put({ 'if-none-match': 'abc' })).status).to.equal(400)
    expect((await put({ 'if-none-match': '*', 'if-match': context })).status).to.equal(400)
    expect((await put({ 'if-none-match': '*', [CONTEXT_HEADER]: context })).status).to.equal(400)
    expect((await put({ 'if-none-match': '*' }, '', 'DELETE')).status).to.equal(400)
    expect((await put({ 'if-match': 'not-a-token' })).status).to.equal(400)
    expect((await app.inject({ method: 'GET', url: '/v1/kv/h1' })).body).to.equal('third')
  })
})
