import { AbortError, InvalidParametersError } from '@libp2p/interface'
import { createApiServer } from '../../src/api/index.ts'
import { emptyContext } from '../../src/clock/index.ts'
import { CONTEXT_HEADER, MAX_VALUE_BYTES } from '../../src/constants.ts'
import { KeyTooLargeError, QuorumNotReachedError, TooManySiblingsError } from '../../src/errors.ts'
import { decodeContextToken, encodeContextToken } from '../../src/protocol/index.ts'
import { expect } from '../utils/expect.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer, GetJson, WriteJson } from '../../src/api/index.ts'
import type { CausalContext, Sibling } from '../../src/clock/index.ts'
import type { GetResult } from '../../src/peer.ts'
import type { WriteResult } from '../../src/replication/index.ts'
import type { StubbedInstance } from 'sinon-ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** a value with the bytes a text path would mangle: NUL, 0xff, a lone continuation byte, CR LF */
const BINARY = Uint8Array.of(0x00, 0xff, 0x01, 0x80, 0x0d, 0x0a, 0xfe, 0x00)

function sibling (value: Uint8Array, init: { actor?: string, counter?: number, timestamp?: number, deleted?: boolean } = {}): Sibling {
  return {
    dot: { actor: init.actor ?? 'aa01', counter: init.counter ?? 1 },
    value,
    timestamp: init.timestamp ?? 1700000000000,
    deleted: init.deleted ?? false
  }
}

const CONTEXT: CausalContext = { vv: new Map([['aa01', 1]]), cloud: [] }
const CONTEXT_TWO: CausalContext = { vv: new Map([['aa01', 1], ['bb02', 1]]), cloud: [] }
const WRITTEN: CausalContext = { vv: new Map([['aa01', 2]]), cloud: [] }

function getResult (siblings: Sibling[], context: CausalContext = CONTEXT, versions: Sibling[] = siblings): GetResult {
  return { siblings, versions, context, replies: 2, replicas: 3, n: 3 }
}

const WRITE_RESULT: WriteResult = { context: WRITTEN, acks: 2, replicas: 3, n: 3, coordinator: '12D3KooWCoord' }

/** normalized contexts compare as plain data */
function plain (context: CausalContext): { vv: Array<[string, number]>, cloud: Array<{ actor: string, counter: number }> } {
  return { vv: [...context.vv.entries()].sort(([a], [b]) => a.localeCompare(b)), cloud: context.cloud.map(d => ({ actor: d.actor, counter: d.counter })) }
}

function headerOf (res: { headers: Record<string, string | string[] | number | undefined> }, name: string): string {
  const value = res.headers[name]
  if (typeof value !== 'string') throw new Error(`expected one ${name} header, got ${JSON.stringify(value)}`)
  return value
}

/** splits a multipart/mixed body into the bytes of each part's body */
function multipartBodies (body: Buffer, contentType: string): Array<{ headers: string, body: Buffer }> {
  const match = /^multipart\/mixed; boundary=(\S+)$/.exec(contentType)
  expect(match, contentType).to.not.equal(null)
  const boundary = match?.[1] ?? ''
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Array<{ headers: string, body: Buffer }> = []
  let at = body.indexOf(delimiter)
  expect(at).to.equal(0)
  for (;;) {
    const start = at + delimiter.length
    if (body.subarray(start, start + 4).toString() === '--\r\n') {
      expect(start + 4).to.equal(body.length)
      break
    }
    expect(body.subarray(start, start + 2).toString()).to.equal('\r\n')
    const next = body.indexOf(delimiter, start)
    expect(next).to.be.greaterThan(start)
    const part = body.subarray(start + 2, next)
    const split = part.indexOf('\r\n\r\n')
    expect(split).to.be.at.least(0)
    // the CRLF before the next delimiter belongs to the delimiter, not the value
    expect(part.subarray(part.length - 2).toString()).to.equal('\r\n')
    parts.push({ headers: part.subarray(0, split).toString(), body: part.subarray(split + 4, part.length - 2) })
    at = next
  }
  return parts
}

function peerFor (setup: (stub: StubbedInstance<ApiPeer>) => unknown): StubbedInstance<ApiPeer> {
  return stubWith<ApiPeer>(setup)
}

describe('api /v1/kv/:key', () => {
  describe('GET', () => {
    it('keeps a leading UTF-8 byte-order mark in the JSON form (the value round-trips byte-exact)', async () => {
      const withBom = Uint8Array.of(0xef, 0xbb, 0xbf, 0x61)
      const peer = peerFor(s => s.get.resolves(getResult([sibling(withBom)])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k', headers: { accept: 'application/json' } })
      const [only] = (res.json() as { siblings: Array<{ value: string, encoding: string }> }).siblings
      const bytes = only?.encoding === 'base64' ? Buffer.from(only.value, 'base64') : Buffer.from(only?.value ?? '', 'utf8')
      expect([...bytes]).to.deep.equal([...withBom])
    })

    it('answers one live sibling as its raw bytes, byte-exact, with the context header', async () => {
      const peer = peerFor(s => s.get.resolves(getResult([sibling(BINARY)])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k' })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['content-type']).to.equal('application/octet-stream')
      expect([...res.rawPayload]).to.deep.equal([...BINARY])
      const token = headerOf(res, CONTEXT_HEADER)
      expect(plain(decodeContextToken(token, utf8('k')))).to.deep.equal(plain(CONTEXT))
      expect(peer.get.calledOnce).to.equal(true)
      expect([...(peer.get.firstCall.args[0])]).to.deep.equal([...utf8('k')])
      expect(peer.get.firstCall.args[1]?.signal).to.be.instanceOf(AbortSignal)
    })

    it('answers two siblings with 300 and a multipart/mixed body, one part per sibling', async () => {
      const first = sibling(BINARY, { timestamp: 1700000000000 })
      const second = sibling(utf8('hello\r\nworld'), { actor: 'bb02', timestamp: 1700000000500 })
      const peer = peerFor(s => s.get.resolves(getResult([first, second], CONTEXT_TWO)))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k' })
      expect(res.statusCode).to.equal(300)
      const parts = multipartBodies(res.rawPayload, headerOf(res, 'content-type'))
      expect(parts).to.have.length(2)
      expect([...(parts[0]?.body ?? [])]).to.deep.equal([...BINARY])
      expect(parts[1]?.body.toString('utf8')).to.equal('hello\r\nworld')
      expect(parts[0]?.headers).to.include('X-P2PStore-Timestamp: 1700000000000')
      expect(parts[1]?.headers).to.include('X-P2PStore-Timestamp: 1700000000500')
      expect(plain(decodeContextToken(headerOf(res, CONTEXT_HEADER), utf8('k')))).to.deep.equal(plain(CONTEXT_TWO))
    })

    it('answers two siblings as 300 JSON with accept: application/json, base64 for non-UTF-8 values', async () => {
      const text = sibling(utf8('héllo'), { timestamp: 1700000000000 })
      const binary = sibling(Uint8Array.of(0xff, 0xfe), { actor: 'bb02', timestamp: 1700000000001 })
      const peer = peerFor(s => s.get.resolves(getResult([text, binary], CONTEXT_TWO)))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k', headers: { accept: 'application/json' } })
      expect(res.statusCode).to.equal(300)
      expect(res.headers['content-type']).to.match(/^application\/json/)
      const token = headerOf(res, CONTEXT_HEADER)
      const expected: GetJson = {
        key: 'k',
        context: token,
        siblings: [
          { value: 'héllo', encoding: 'utf8', timestamp: 1700000000000 },
          { value: '//4=', encoding: 'base64', timestamp: 1700000000001 }
        ],
        replies: 2,
        replicas: 3,
        n: 3
      }
      expect(res.json()).to.deep.equal(expected)
      expect(plain(decodeContextToken(token, utf8('k')))).to.deep.equal(plain(CONTEXT_TWO))
    })

    it('answers one sibling as 200 JSON with accept: application/json', async () => {
      const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k', headers: { accept: 'application/json' } })
      expect(res.statusCode).to.equal(200)
      expect(res.json()).to.deep.equal({ key: 'k', context: headerOf(res, CONTEXT_HEADER), siblings: [{ value: 'v', encoding: 'utf8', timestamp: 1700000000000 }], replies: 2, replicas: 3, n: 3 })
    })

    it('answers 404 NotFoundError when no sibling is live, still with the context header', async () => {
      const tombstone = sibling(new Uint8Array(0), { deleted: true })
      const peer = peerFor(s => s.get.resolves(getResult([], CONTEXT, [tombstone])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k' })
      expect(res.statusCode).to.equal(404)
      expect(res.json()).to.include({ error: 'NotFoundError' })
      // the context of the delete lets a later put supersede it
      expect(plain(decodeContextToken(headerOf(res, CONTEXT_HEADER), utf8('k')))).to.deep.equal(plain(CONTEXT))
    })

    it('?resolve=lww answers the sibling with the latest timestamp, raw', async () => {
      const older = sibling(utf8('older'), { actor: 'ff01', timestamp: 1700000000000 })
      const newer = sibling(utf8('newer'), { actor: 'aa01', timestamp: 1700000009999 })
      const peer = peerFor(s => s.get.resolves(getResult([older, newer], CONTEXT_TWO)))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k?resolve=lww' })
      expect(res.statusCode).to.equal(200)
      expect(res.rawPayload.toString('utf8')).to.equal('newer')

      // the order the siblings came in does not matter
      peer.get.resolves(getResult([newer, older], CONTEXT_TWO))
      const again = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k?resolve=lww' })
      expect(again.rawPayload.toString('utf8')).to.equal('newer')
    })

    it('?resolve=lww answers 404 when the latest version is a tombstone; without it the delete is a sibling marked deleted', async () => {
      const value = sibling(utf8('old'), { timestamp: 1700000000000 })
      const tombstone = sibling(new Uint8Array(0), { actor: 'bb02', timestamp: 1700000000001, deleted: true })
      // as peer.get reports a tombstone concurrent with a value: both are siblings
      const peer = peerFor(s => s.get.resolves(getResult([value, tombstone], CONTEXT_TWO, [value, tombstone])))
      const app = createApiServer({ peer })
      const res = await app.inject({ method: 'GET', url: '/v1/kv/k?resolve=lww' })
      expect(res.statusCode).to.equal(404)
      expect(res.json()).to.include({ error: 'NotFoundError' })
      // without the policy the read does not claim the value is simply there: it shows the conflict
      const json = await app.inject({ method: 'GET', url: '/v1/kv/k', headers: { accept: 'application/json' } })
      expect(json.statusCode).to.equal(300)
      expect((json.json() as GetJson).siblings).to.deep.equal([
        { value: 'old', encoding: 'utf8', timestamp: 1700000000000 },
        { value: '', encoding: 'utf8', timestamp: 1700000000001, deleted: true }
      ])
      const multi = await app.inject({ method: 'GET', url: '/v1/kv/k' })
      expect(multi.statusCode).to.equal(300)
      const parts = multipartBodies(multi.rawPayload, headerOf(multi, 'content-type'))
      expect(parts.map(p => p.body.toString('utf8'))).to.deep.equal(['old', ''])
      expect(parts[0]?.headers).to.not.include('X-P2PStore-Deleted')
      expect(parts[1]?.headers).to.include('X-P2PStore-Deleted: true')
    })

    it('?resolve=bogus answers 400 and does not read', async () => {
      const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k?resolve=bogus' })
      expect(res.statusCode).to.equal(400)
      expect(res.json()).to.include({ error: 'InvalidParametersError' })
      expect(peer.get.called).to.equal(false)
    })

    it('passes ?n=3&r=1 to the peer as numbers, and leaves them unset when absent', async () => {
      const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
      const app = createApiServer({ peer })
      expect((await app.inject({ method: 'GET', url: '/v1/kv/k?n=3&r=1' })).statusCode).to.equal(200)
      expect(peer.get.firstCall.args[1]).to.include({ n: 3, r: 1 })
      expect((await app.inject({ method: 'GET', url: '/v1/kv/k' })).statusCode).to.equal(200)
      expect(peer.get.secondCall.args[1]).to.include({ n: undefined, r: undefined })
    })

    for (const query of ['r=0', 'r=abc', 'n=99', 'n=-1', 'r=1.5', 'n=17']) {
      it(`?${query} answers 400 InvalidParametersError without calling the peer`, async () => {
        const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
        const res = await createApiServer({ peer }).inject({ method: 'GET', url: `/v1/kv/k?${query}` })
        expect(res.statusCode).to.equal(400)
        expect(res.json()).to.include({ error: 'InvalidParametersError' })
        expect(peer.get.called).to.equal(false)
      })
    }
  })

  describe('keys', () => {
    it('a percent-encoded / reaches the peer as the bytes of "a/b"', async () => {
      const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/a%2Fb', headers: { accept: 'application/json' } })
      expect(res.statusCode).to.equal(200)
      expect([...peer.get.firstCall.args[0]]).to.deep.equal([...utf8('a/b')])
      expect((res.json() as GetJson).key).to.equal('a/b')
      // the token is bound to the decoded key
      expect(() => decodeContextToken(headerOf(res, CONTEXT_HEADER), utf8('a/b'))).to.not.throw()
    })

    it('a UTF-8 key round-trips: the peer gets its UTF-8 bytes and the JSON names it', async () => {
      const peer = peerFor(s => {
        s.get.resolves(getResult([sibling(utf8('v'))]))
        s.put.resolves(WRITE_RESULT)
      })
      const app = createApiServer({ peer })
      const read = await app.inject({ method: 'GET', url: `/v1/kv/${encodeURIComponent('clé')}`, headers: { accept: 'application/json' } })
      expect(read.statusCode).to.equal(200)
      expect([...peer.get.firstCall.args[0]]).to.deep.equal([0x63, 0x6c, 0xc3, 0xa9])
      expect((read.json() as GetJson).key).to.equal('clé')

      const write = await app.inject({ method: 'PUT', url: `/v1/kv/${encodeURIComponent('clé')}`, payload: Buffer.from('v') })
      expect(write.statusCode).to.equal(200)
      expect([...peer.put.firstCall.args[0]]).to.deep.equal([0x63, 0x6c, 0xc3, 0xa9])
      expect((write.json() as WriteJson).key).to.equal('clé')
      expect(() => decodeContextToken(headerOf(write, CONTEXT_HEADER), utf8('clé'))).to.not.throw()
    })

    it('accepts a 1 KiB key even when every byte is percent-encoded (3 KiB of URL)', async () => {
      const key = '/'.repeat(1024)
      const peer = peerFor(s => s.get.resolves(getResult([sibling(utf8('v'))])))
      const url = `/v1/kv/${encodeURIComponent(key)}`
      expect(url.length).to.equal('/v1/kv/'.length + 3 * 1024)
      const res = await createApiServer({ peer }).inject({ method: 'GET', url })
      expect(res.statusCode).to.equal(200)
      expect(peer.get.firstCall.args[0]).to.have.length(1024)
      expect(new TextDecoder().decode(peer.get.firstCall.args[0])).to.equal(key)
    })

    it('answers 400 when the peer refuses the key with KeyTooLargeError', async () => {
      const peer = peerFor(s => {
        s.get.rejects(new KeyTooLargeError('key of 1025 bytes is larger than 1024'))
        s.put.rejects(new KeyTooLargeError('key of 1025 bytes is larger than 1024'))
      })
      const app = createApiServer({ peer })
      const key = 'x'.repeat(1025)
      const read = await app.inject({ method: 'GET', url: `/v1/kv/${key}` })
      expect(read.statusCode).to.equal(400)
      expect(read.json()).to.include({ error: 'KeyTooLargeError', message: 'key of 1025 bytes is larger than 1024' })
      const write = await app.inject({ method: 'PUT', url: `/v1/kv/${key}`, payload: Buffer.from('v') })
      expect(write.statusCode).to.equal(400)
      expect(write.json()).to.include({ error: 'KeyTooLargeError' })
    })
  })

  describe('PUT', () => {
    it('passes ?strict=true to the peer, and refuses a strict value that is not a boolean', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const app = createApiServer({ peer })
      expect((await app.inject({ method: 'PUT', url: '/v1/kv/k?strict=true', payload: Buffer.from('v') })).statusCode).to.equal(200)
      expect(peer.put.firstCall.args[2]).to.include({ strict: true })
      expect((await app.inject({ method: 'PUT', url: '/v1/kv/k?strict=maybe', payload: Buffer.from('v') })).statusCode).to.equal(400)
      expect(peer.put.callCount).to.equal(1)
    })

    it('stores the raw body, even one that claims to be JSON, and answers { key, context, acks, coordinator }', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const res = await createApiServer({ peer }).inject({
        method: 'PUT',
        url: '/v1/kv/k',
        headers: { 'content-type': 'application/json' },
        payload: Buffer.from(BINARY)
      })
      expect(res.statusCode).to.equal(200)
      expect(peer.put.calledOnce).to.equal(true)
      const [key, value, options] = peer.put.firstCall.args
      expect([...key]).to.deep.equal([...utf8('k')])
      expect([...value]).to.deep.equal([...BINARY])
      // no token: a blind write with the empty context
      expect(plain(options?.context ?? CONTEXT)).to.deep.equal(plain(emptyContext()))
      expect(options).to.include({ n: undefined, w: undefined })
      expect(options?.signal).to.be.instanceOf(AbortSignal)

      const token = headerOf(res, CONTEXT_HEADER)
      const expected: WriteJson = { key: 'k', context: token, acks: 2, replicas: 3, n: 3, coordinator: '12D3KooWCoord' }
      expect(res.json()).to.deep.equal(expected)
      expect(plain(decodeContextToken(token, utf8('k')))).to.deep.equal(plain(WRITTEN))
    })

    it('stores a JSON-looking text body as its bytes, not a re-serialized object', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const body = '{ "a" : 1 }'
      const res = await createApiServer({ peer }).inject({ method: 'PUT', url: '/v1/kv/k', headers: { 'content-type': 'application/json' }, payload: body })
      expect(res.statusCode).to.equal(200)
      expect(new TextDecoder().decode(peer.put.firstCall.args[1])).to.equal(body)
    })

    it('passes ?n and ?w to the peer as numbers', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const res = await createApiServer({ peer }).inject({ method: 'PUT', url: '/v1/kv/k?n=5&w=3', payload: Buffer.from('v') })
      expect(res.statusCode).to.equal(200)
      expect(peer.put.firstCall.args[2]).to.include({ n: 5, w: 3 })
    })

    it('?w=0 answers 400 and stores nothing', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const res = await createApiServer({ peer }).inject({ method: 'PUT', url: '/v1/kv/k?w=0', payload: Buffer.from('v') })
      expect(res.statusCode).to.equal(400)
      expect(res.json()).to.include({ error: 'InvalidParametersError' })
      expect(peer.put.called).to.equal(false)
    })

    it('passes the context of a valid x-p2pstore-context token to the peer', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const read: CausalContext = { vv: new Map([['aa01', 3], ['bb02', 1]]), cloud: [{ actor: 'cc03', counter: 7 }] }
      const res = await createApiServer({ peer }).inject({
        method: 'PUT',
        url: '/v1/kv/k',
        headers: { [CONTEXT_HEADER]: encodeContextToken(read, utf8('k')) },
        payload: Buffer.from('v')
      })
      expect(res.statusCode).to.equal(200)
      const context = peer.put.firstCall.args[2]?.context
      expect(context).to.not.equal(undefined)
      expect(plain(context ?? emptyContext())).to.deep.equal(plain(read))
    })

    it('an empty x-p2pstore-context header is a blind write', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const res = await createApiServer({ peer }).inject({ method: 'PUT', url: '/v1/kv/k', headers: { [CONTEXT_HEADER]: '' }, payload: Buffer.from('v') })
      expect(res.statusCode).to.equal(200)
      expect(plain(peer.put.firstCall.args[2]?.context ?? CONTEXT)).to.deep.equal(plain(emptyContext()))
    })

    const goodToken = encodeContextToken(CONTEXT, utf8('k'))
    const corrupted = `${goodToken.slice(0, 12)}${goodToken[12] === 'A' ? 'B' : 'A'}${goodToken.slice(13)}`
    const badTokens: Array<[string, string]> = [
      ['a token for another key', encodeContextToken(CONTEXT, utf8('other'))],
      ['a corrupted token', corrupted],
      ['a truncated token', goodToken.slice(0, -3)],
      ['garbage', 'not a token!'],
      ['a token with padding', `${goodToken}=`]
    ]
    for (const [what, token] of badTokens) {
      it(`answers 400 InvalidContextTokenError for ${what} and stores nothing`, async () => {
        expect(token).to.not.equal(goodToken)
        const peer = peerFor(s => {
          s.put.resolves(WRITE_RESULT)
          s.delete.resolves(WRITE_RESULT)
        })
        const app = createApiServer({ peer })
        const res = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { [CONTEXT_HEADER]: token }, payload: Buffer.from('v') })
        expect(res.statusCode).to.equal(400)
        expect(res.json()).to.include({ error: 'InvalidContextTokenError' })
        expect(res.json()).to.have.property('hint').that.is.a('string')
        const del = await app.inject({ method: 'DELETE', url: '/v1/kv/k', headers: { [CONTEXT_HEADER]: token } })
        expect(del.statusCode).to.equal(400)
        expect(del.json()).to.include({ error: 'InvalidContextTokenError' })
        expect(peer.put.called).to.equal(false)
        expect(peer.delete.called).to.equal(false)
      })
    }

    it('stores an empty value for an empty body', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const app = createApiServer({ peer })
      const res = await app.inject({ method: 'PUT', url: '/v1/kv/k' })
      expect(res.statusCode).to.equal(200)
      expect(peer.put.firstCall.args[1]).to.be.instanceOf(Uint8Array).with.length(0)
      const typed = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(0) })
      expect(typed.statusCode).to.equal(200)
      expect(peer.put.secondCall.args[1]).to.be.instanceOf(Uint8Array).with.length(0)
    })

    it('stores a body sent without a content-type', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const res = await createApiServer({ peer }).inject({ method: 'PUT', url: '/v1/kv/k', payload: Buffer.from(BINARY) })
      expect(res.statusCode).to.equal(200)
      expect([...peer.put.firstCall.args[1]]).to.deep.equal([...BINARY])
    })

    it('accepts exactly 1 MiB and answers 413 ValueTooLargeError for 1 MiB + 1 byte, storing nothing', async () => {
      expect(MAX_VALUE_BYTES).to.equal(1024 * 1024)
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const app = createApiServer({ peer })
      const max = Buffer.alloc(1024 * 1024, 0xab)
      max[0] = 0x00
      max[max.length - 1] = 0xff
      const ok = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { 'content-type': 'application/octet-stream' }, payload: max })
      expect(ok.statusCode).to.equal(200)
      expect(peer.put.callCount).to.equal(1)
      expect(Buffer.from(peer.put.firstCall.args[1]).equals(max)).to.equal(true)

      const tooLarge = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(1024 * 1024 + 1) })
      expect(tooLarge.statusCode).to.equal(413)
      expect(tooLarge.json()).to.include({ error: 'ValueTooLargeError' })
      expect(peer.put.callCount).to.equal(1)
    })

    it('honours a smaller maxValueBytes', async () => {
      const peer = peerFor(s => s.put.resolves(WRITE_RESULT))
      const app = createApiServer({ peer, maxValueBytes: 4 })
      expect((await app.inject({ method: 'PUT', url: '/v1/kv/k', payload: Buffer.from('four') })).statusCode).to.equal(200)
      const res = await app.inject({ method: 'PUT', url: '/v1/kv/k', payload: Buffer.from('five!') })
      expect(res.statusCode).to.equal(413)
      expect(res.json()).to.include({ error: 'ValueTooLargeError' })
      expect(peer.put.callCount).to.equal(1)
    })
  })

  describe('DELETE', () => {
    it('passes the key and the decoded context to peer.delete and answers JSON', async () => {
      const peer = peerFor(s => s.delete.resolves({ context: WRITTEN, acks: 3, coordinator: '12D3KooWCoord' }))
      const res = await createApiServer({ peer }).inject({
        method: 'DELETE',
        url: '/v1/kv/a%2Fb?w=1',
        headers: { [CONTEXT_HEADER]: encodeContextToken(CONTEXT, utf8('a/b')) }
      })
      expect(res.statusCode).to.equal(200)
      expect(peer.delete.calledOnce).to.equal(true)
      const [key, options] = peer.delete.firstCall.args
      expect([...key]).to.deep.equal([...utf8('a/b')])
      expect(plain(options?.context ?? emptyContext())).to.deep.equal(plain(CONTEXT))
      expect(options).to.include({ w: 1, n: undefined })
      const token = headerOf(res, CONTEXT_HEADER)
      const expected: WriteJson = { key: 'a/b', context: token, acks: 3, coordinator: '12D3KooWCoord' }
      expect(res.json()).to.deep.equal(expected)
      expect(plain(decodeContextToken(token, utf8('a/b')))).to.deep.equal(plain(WRITTEN))
    })
  })

  describe('DELETE without a context', () => {
    it('leaves the context unset (the peer reads first), passes ?r, and answers replicas and n', async () => {
      const peer = peerFor(s => s.delete.resolves({ context: WRITTEN, acks: 1, replicas: 1, n: 3, coordinator: '12D3KooWCoord' }))
      const res = await createApiServer({ peer }).inject({ method: 'DELETE', url: '/v1/kv/k?r=1&w=1' })
      expect(res.statusCode).to.equal(200)
      const options = peer.delete.firstCall.args[1]
      expect(options?.context).to.equal(undefined)
      expect(options).to.include({ r: 1, w: 1, blind: undefined })
      expect(res.json()).to.deep.equal({ key: 'k', context: headerOf(res, CONTEXT_HEADER), acks: 1, replicas: 1, n: 3, coordinator: '12D3KooWCoord' })
    })

    it('?blind=true asks for a blind tombstone; a blind value that is not a boolean answers 400', async () => {
      const peer = peerFor(s => s.delete.resolves(WRITE_RESULT))
      const app = createApiServer({ peer })
      const res = await app.inject({ method: 'DELETE', url: '/v1/kv/k?blind=true' })
      expect(res.statusCode).to.equal(200)
      expect(peer.delete.firstCall.args[1]).to.include({ blind: true, context: undefined })
      const bad = await app.inject({ method: 'DELETE', url: '/v1/kv/k?blind=maybe' })
      expect(bad.statusCode).to.equal(400)
      expect(peer.delete.callCount).to.equal(1)
    })
  })

  describe('errors from the peer', () => {
    const cases: Array<[string, () => Error, number]> = [
      ['QuorumNotReachedError', () => new QuorumNotReachedError([new Error('peer down')], 'quorum not reached: 1 of 2 acks'), 503],
      ['TooManySiblingsError', () => new TooManySiblingsError('101 siblings is more than 100'), 409],
      ['AbortError', () => new AbortError('the client went away'), 499],
      ['InvalidParametersError', () => new InvalidParametersError('n is larger than the network'), 400],
      ['TimeoutError', () => Object.assign(new Error('replicas too slow'), { name: 'TimeoutError' }), 504]
    ]
    for (const [name, make, status] of cases) {
      it(`${name} answers ${status} on GET, PUT and DELETE`, async () => {
        const err = make()
        expect(err.name).to.equal(name)
        const peer = peerFor(s => {
          s.get.rejects(err)
          s.put.rejects(err)
          s.delete.rejects(err)
        })
        const app = createApiServer({ peer })
        for (const method of ['GET', 'PUT', 'DELETE'] as const) {
          const res = await app.inject({ method, url: '/v1/kv/k', ...(method === 'PUT' ? { payload: Buffer.from('v') } : {}) })
          expect(res.statusCode, method).to.equal(status)
          expect(res.json(), method).to.include({ error: name, message: err.message })
          expect(res.json(), method).to.have.property('hint').that.is.a('string').and.not.equal('')
        }
      })
    }

    it('an unknown error answers 500 without leaking a stack', async () => {
      const peer = peerFor(s => s.get.rejects(new TypeError('boom')))
      const res = await createApiServer({ peer }).inject({ method: 'GET', url: '/v1/kv/k' })
      expect(res.statusCode).to.equal(500)
      expect(Object.keys(res.json() as object).sort()).to.deep.equal(['error', 'hint', 'message'])
      expect(res.json()).to.include({ error: 'TypeError', message: 'boom' })
    })
  })

  describe('bearer token', () => {
    it('refuses a PUT without the token with 401 and stores nothing; accepts it with the token', async () => {
      const peer = peerFor(s => {
        s.put.resolves(WRITE_RESULT)
        s.get.resolves(getResult([sibling(utf8('v'))]))
      })
      const app = createApiServer({ peer, token: 's3cret' })
      const anonymous = await app.inject({ method: 'PUT', url: '/v1/kv/k', payload: Buffer.from('v') })
      expect(anonymous.statusCode).to.equal(401)
      expect(anonymous.json()).to.include({ error: 'UnauthorizedError' })
      const wrong = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { authorization: 'Bearer nope' }, payload: Buffer.from('v') })
      expect(wrong.statusCode).to.equal(401)
      expect((await app.inject({ method: 'GET', url: '/v1/kv/k' })).statusCode).to.equal(401)
      expect((await app.inject({ method: 'DELETE', url: '/v1/kv/k' })).statusCode).to.equal(401)
      expect(peer.put.called).to.equal(false)
      expect(peer.get.called).to.equal(false)
      expect(peer.delete.called).to.equal(false)

      const ok = await app.inject({ method: 'PUT', url: '/v1/kv/k', headers: { authorization: 'Bearer s3cret' }, payload: Buffer.from('v') })
      expect(ok.statusCode).to.equal(200)
      expect(peer.put.calledOnce).to.equal(true)
    })
  })
})
