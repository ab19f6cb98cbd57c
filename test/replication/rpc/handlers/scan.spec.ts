import { InvalidMessageError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../../src/protocol/index.ts'
import * as pb from '../../../../src/protocol/kv/kv.ts'
import { ScanHandler } from '../../../../src/replication/rpc/handlers/scan.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, written } from '../../../utils/replication.ts'
import type { KvResponse } from '../../../../src/protocol/index.ts'

const dec = new TextDecoder()
const keysOf = (answer: KvResponse): string[] => answer.status === 'ok' ? (answer.entries ?? []).map(e => dec.decode(e.key)) : []

describe('replication rpc handler: scan', () => {
  it('answers a page of keys in order from a start key, under a prefix, with `more`, and values only when asked', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    for (const key of ['a/1', 'a/2', 'a/3', 'b/1', 'a']) await engine.update(enc.encode(key), () => ({ set: written(`v-${key}`) }))
    const handler = new ScanHandler({ logger: defaultLogger(), engine })
    const scan = async (prefix: string, limit: number, after?: string, values = false): Promise<KvResponse> =>
      handler.handle({ type: 'scan', scan: { prefix: enc.encode(prefix), after: after == null ? undefined : enc.encode(after), limit, values } }, from, {})

    const first = await scan('a/', 2)
    expect(keysOf(first)).to.deep.equal(['a/1', 'a/2'])
    expect(first).to.have.property('more', true)
    const rest = await scan('a/', 2, 'a/2')
    expect(keysOf(rest)).to.deep.equal(['a/3'])
    expect(rest).to.have.property('more', false)
    expect(keysOf(await scan('', 10))).to.deep.equal(['a', 'a/1', 'a/2', 'a/3', 'b/1'])
    // exactly `limit` keys left: not `more`
    expect(await scan('a/', 3)).to.have.property('more', false)

    const bare = await scan('b/', 1)
    expect(bare.status === 'ok' && bare.entries?.[0]?.state.siblings[0]?.value.byteLength).to.equal(0)
    const full = await scan('b/', 1, undefined, true)
    expect(full.status === 'ok' && dec.decode(full.entries?.[0]?.state.siblings[0]?.value)).to.equal('v-b/1')
  })

  it('ends a page early at its byte budget, but always answers one entry', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    for (const key of ['k1', 'k2', 'k3']) await engine.update(enc.encode(key), () => ({ set: written('x'.repeat(1000)) }))
    const handler = new ScanHandler({ logger: defaultLogger(), engine }, { maxAnswerBytes: 10 })
    const page = await handler.handle({ type: 'scan', scan: { prefix: new Uint8Array(0), limit: 100, values: true } }, from, {})
    expect(keysOf(page)).to.deep.equal(['k1'])
    expect(page).to.have.property('more', true)
  })

  it('rejects with AbortError when the request was aborted', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    await expect(new ScanHandler({ logger: defaultLogger(), engine }).handle({ type: 'scan', scan: { prefix: new Uint8Array(0), limit: 1, values: false } }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})

describe('protocol: SCAN frames', () => {
  const request = (scan: Partial<pb.ScanArgs> | undefined): Uint8Array => pb.Request.encode({
    id: 1n,
    type: pb.Request.Type.SCAN,
    key: new Uint8Array(0),
    hintFor: [],
    buckets: [],
    ...(scan == null ? {} : { scan: { prefix: new Uint8Array(0), after: new Uint8Array(0), limit: 10, values: false, ...scan } as pb.ScanArgs })
  })

  it('round-trips a request and an answer', () => {
    const frame = encodeRequest(7n, { type: 'scan', scan: { prefix: enc.encode('p/'), after: enc.encode('p/x'), limit: 5, values: true } })
    const { request: back } = decodeRequest(frame)
    expect(back.type === 'scan' && dec.decode(back.scan.after)).to.equal('p/x')
    const answer = decodeResponse(encodeResponse(7n, { status: 'ok', entries: [{ key: enc.encode('a'), state: written('1') }, { key: enc.encode('b'), state: written('2') }], more: true }))
    expect(keysOf(answer.response)).to.deep.equal(['a', 'b'])
    expect(answer.response).to.have.property('more', true)
  })

  it('refuses a request without a range, a limit out of 1–1000, and a prefix or start key over 1 KiB', () => {
    for (const frame of [request(undefined), request({ limit: 0 }), request({ limit: 1001 }), request({ prefix: new Uint8Array(1025) }), request({ after: new Uint8Array(1025) })]) {
      expect(() => decodeRequest(frame)).to.throw(InvalidMessageError)
    }
  })

  it('refuses an answer whose keys are out of order, repeated or empty', () => {
    const answer = (keys: Uint8Array[]): Uint8Array => encodeResponse(1n, { status: 'ok', entries: keys.map(key => ({ key, state: written('v') })), more: false })
    for (const keys of [[enc.encode('b'), enc.encode('a')], [enc.encode('a'), enc.encode('a')], [new Uint8Array(0)]]) {
      expect(() => decodeResponse(answer(keys))).to.throw(InvalidMessageError)
    }
  })
})
