import { decodeRequest, encodeRequest } from '../../src/protocol/index.ts'
import * as pb from '../../src/protocol/kv/kv.ts'
import { expect } from '../utils/expect.ts'
import type { KvRequest } from '../../src/protocol/index.ts'

const key = new TextEncoder().encode('k')
const state = { siblings: [], context: { vv: new Map([['aa01', 1]]), cloud: [] } }

describe('kv protocol: write conditions (issue #20)', () => {
  it('carries the condition of a STORE and of a COORDINATE both ways, and its absence', () => {
    const requests: KvRequest[] = [
      { type: 'store', key, state, condition: 'if-none-match' },
      { type: 'store', key, state, condition: 'if-match' },
      { type: 'coordinate', key, put: { value: new Uint8Array(1), deleted: false, context: state.context, n: 3, w: 2, strict: false, condition: 'if-match' } },
      { type: 'coordinate', key, put: { value: new Uint8Array(1), deleted: false, context: state.context, n: 3, w: 2, strict: true } }
    ]
    for (const request of requests) {
      const decoded = decodeRequest(encodeRequest(7n, request)).request
      expect(decoded.type === 'store' ? decoded.condition : decoded.type === 'coordinate' ? decoded.put.condition : 'x').to.equal(request.type === 'store' ? request.condition : request.type === 'coordinate' ? request.put.condition : 'x')
    }
  })

  it('refuses an unknown condition and a conditional hinted STORE with InvalidMessageError', () => {
    // protons refuses to encode an unknown enum value: append the fields by hand (field 20 of Request, 7 of PutArgs, varints)
    const store = pb.Request.encode({ id: 1n, type: pb.Request.Type.STORE, key, hintFor: [], buckets: [], state: { siblings: [], context: { vv: [], cloud: [] } }, condition: pb.Condition.NONE })
    expect(() => decodeRequest(Uint8Array.from([...store, 0xa0, 0x01, 0x09]))).to.throw().with.property('name', 'InvalidMessageError')
    const put = pb.PutArgs.encode({ value: new Uint8Array(0), deleted: false, n: 1, w: 1, strict: false, condition: pb.Condition.NONE })
    const putWithCondition = Uint8Array.from([...put, 0x38, 0x05])
    const coordinate = pb.Request.encode({ id: 2n, type: pb.Request.Type.COORDINATE, key, hintFor: [], buckets: [], condition: pb.Condition.NONE })
    expect(() => decodeRequest(Uint8Array.from([...coordinate, 0x2a, putWithCondition.byteLength, ...putWithCondition]))).to.throw().with.property('name', 'InvalidMessageError')
    // the same frame with a known condition decodes (the hand-made framing is right)
    const known = Uint8Array.from([...put, 0x38, 0x02])
    expect(decodeRequest(Uint8Array.from([...coordinate, 0x2a, known.byteLength, ...known])).request).to.have.nested.property('put.condition', 'if-match')
    const hinted = encodeRequest(3n, { type: 'store', key, state, hintFor: ['12D3KooWA'], condition: 'if-match' })
    expect(() => decodeRequest(hinted)).to.throw().with.property('name', 'InvalidMessageError')
  })
})
