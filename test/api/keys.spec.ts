import { createApiServer } from '../../src/api/index.ts'
import { decodeCursor, encodeCursor } from '../../src/api/routes/keys.ts'
import { expect } from '../utils/expect.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer, KeysPageJson } from '../../src/api/index.ts'
import type { PageOptions, ScanPage } from '../../src/replication/index.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** A stand-in for `Peer.list` over a fixed key set: the semantics the route relies on. */
function fakeList (keys: Uint8Array[]): (options?: PageOptions) => Promise<ScanPage> {
  const sorted = [...keys].sort((a, b) => Buffer.compare(a, b))
  return async (options = {}) => {
    const prefix = options.prefix ?? new Uint8Array(0)
    const limit = options.limit ?? 100
    const after = options.after
    const range = sorted.filter(k => Buffer.compare(k.subarray(0, prefix.byteLength), prefix) === 0 && (after == null || Buffer.compare(k, after) > 0))
    const page = range.slice(0, limit)
    const state = { siblings: [{ dot: { actor: 'aa01', counter: 1 }, value: new Uint8Array(0), timestamp: 1, deleted: false }], context: { vv: new Map([['aa01', 1]]), cloud: [] } }
    const last = page[page.length - 1]
    return { keys: page.map(key => ({ key, state })), ...(range.length > limit && last != null ? { next: last } : {}), peers: 3, unreachable: [] }
  }
}

function peerWith (keys: Uint8Array[]): ApiPeer {
  return stubWith<ApiPeer>(peer => { peer.list.callsFake(fakeList(keys)) })
}

describe('api: GET /v1/kv (listing keys)', () => {
  const keys = [...Array.from({ length: 23 }, (_, i) => utf8(`app/${i}`)), utf8('app'), utf8('b'), utf8('é'), Uint8Array.of(0xff, 0x00)]

  it('pages through every key once, bytewise, with the cursor of each page, under a prefix too', async () => {
    const app = createApiServer({ peer: peerWith(keys) })
    const pageThrough = async (query: string): Promise<string[]> => {
      const seen: string[] = []
      let cursor: string | undefined
      for (let i = 0; i < 50; i++) {
        const res = await app.inject({ method: 'GET', url: `/v1/kv?${query}${cursor == null ? '' : `&cursor=${cursor}`}` })
        expect(res.statusCode, res.body).to.equal(200)
        const body = res.json<KeysPageJson>()
        seen.push(...body.keys.map(k => k.encoding === 'base64' ? `base64:${k.key}` : k.key))
        if (body.next == null) return seen
        cursor = body.next
      }
      throw new Error('the listing did not end')
    }
    const all = keys.map(k => Buffer.from(k)).sort(Buffer.compare).map(k => {
      try { return new TextDecoder('utf-8', { fatal: true }).decode(k) } catch { return `base64:${k.toString('base64')}` }
    })
    expect(await pageThrough('limit=4')).to.deep.equal(all)
    expect(await pageThrough('prefix=app%2F&limit=5')).to.deep.equal(all.filter(k => k.startsWith('app/')))
    expect(await pageThrough('prefix=%C3%A9')).to.deep.equal(['é'])
    const one = (await app.inject({ method: 'GET', url: '/v1/kv?prefix=b' })).json<KeysPageJson>()
    expect(one).to.deep.equal({ keys: [{ key: 'b', siblings: 1 }], peers: 3, unreachable: [] })
  })

  it('answers 400 InvalidParametersError with a clear message for a bad limit, cursor or prefix, and calls nothing', async () => {
    const peer = stubWith<ApiPeer>(p => { p.list.callsFake(fakeList(keys)) })
    const app = createApiServer({ peer })
    const cases: Array<[string, RegExp]> = [
      ['limit=0', /limit=0: expected a whole number from 1 to 1000/],
      ['limit=1001', /limit=1001: expected a whole number from 1 to 1000/],
      ['limit=99999999999999999999', /expected a whole number from 1 to 1000/],
      ['limit=ten', /limit=ten: expected a whole number/],
      ['cursor=not*base64', /the cursor is not one this API gave out/],
      ['cursor=AAAA', /not a cursor of this API/],
      ['cursor=AQ', /a cursor holds a key of 1 to 1024 bytes/],
      [`prefix=app%2F&cursor=${encodeCursor(utf8('other'))}`, /belongs to a listing under another prefix/],
      ['prefix=%FF', /prefix=%FF: not valid percent-encoded UTF-8/],
      ['prefix=%ED%A0%80', /not valid percent-encoded UTF-8/],
      ['prefix=a&prefix=b', /send one prefix, not 2/],
      [`prefix=${'x'.repeat(1025)}`, /the prefix is 1025 bytes: at most 1024/]
    ]
    for (const [query, message] of cases) {
      const res = await app.inject({ method: 'GET', url: `/v1/kv?${query}` })
      expect(res.statusCode, query).to.equal(400)
      expect(res.json(), query).to.include({ error: 'InvalidParametersError' })
      expect(res.json().message, query).to.match(message)
    }
    expect(peer.list.called).to.equal(false)
  })

  it('round-trips a cursor and refuses one altered', () => {
    const key = Uint8Array.of(0x00, 0xff, 0x61)
    expect([...decodeCursor(encodeCursor(key), undefined)]).to.deep.equal([...key])
    expect(() => decodeCursor(`${encodeCursor(key)}=`, undefined)).to.throw(/not base64url/)
  })

  it('answers 501 from a peer that cannot list', async () => {
    const res = await createApiServer({ peer: stubWith<ApiPeer>(p => { Object.assign(p, { list: undefined }) }) }).inject({ method: 'GET', url: '/v1/kv' })
    expect(res.statusCode).to.equal(501)
  })
})
