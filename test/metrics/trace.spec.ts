import { createApiServer } from '../../src/api/index.ts'
import { TRACE_HEADER } from '../../src/constants.ts'
import { RequestTrace, formatTrace } from '../../src/metrics/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { TraceJson } from '../../src/metrics/index.ts'
import type { Peer } from '../../src/peer.ts'

const enc = new TextEncoder()

describe('request traces (?trace=1)', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('a get traces the preference list, a send and a reply per replica, the quorum and the answer', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a] = net.peers
    if (a == null) throw new Error('no peers')
    await a.put('traced', enc.encode('v'))
    const api = createApiServer({ peer: a })
    cleanup.add(async () => api.close())

    const res = await api.inject({ method: 'GET', url: '/v1/kv/traced?trace=1', headers: { accept: 'application/json' } })
    expect(res.statusCode).to.equal(200)
    const trace = (res.json() as { trace: TraceJson }).trace
    const header = JSON.parse(Buffer.from(String(res.headers[TRACE_HEADER]), 'base64url').toString('utf8')) as TraceJson
    expect(header).to.deep.equal(trace)
    expect(trace.coordinator).to.equal(a.peerId.toString())
    const kinds = (kind: string): TraceJson['events'] => trace.events.filter(e => e.kind === kind)
    expect(kinds('preference')).to.have.length(3)
    expect(kinds('send').filter(e => e.activity === 'read')).to.have.length(3)
    // every replica answered: before the answer (reply) or after it (late)
    expect(kinds('reply').length + kinds('late').length).to.equal(3)
    expect(kinds('quorum')).to.have.length(1)
    expect(kinds('quorum')[0]?.activity).to.match(/^2 of 2 replies: /)
    expect(kinds('answer')).to.have.length(1)
    expect(trace.answeredMs).to.be.a('number')

    // without ?trace there is no trace, in the body or the headers
    const plain = await api.inject({ method: 'GET', url: '/v1/kv/traced', headers: { accept: 'application/json' } })
    expect(plain.json()).to.not.have.property('trace')
    expect(plain.headers).to.not.have.property(TRACE_HEADER)
    // a bad flag is a bad request
    const bad = await api.inject({ method: 'GET', url: '/v1/kv/traced?trace=maybe' })
    expect(bad.statusCode).to.equal(400)
  })

  it('a put with one home replica cut off traces its failed store and the hint that stood in for it', async () => {
    // the cut-off replica stays a member (never declared dead) for the length of the test
    const net = await createTestnet(4, { onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: { suspicionMult: 200 } } })
    const key = 'traced-hint'
    const first = net.peers[0]
    if (first == null) throw new Error('no peers')
    const byId = (id: { toString(): string }): Peer | undefined => net.peers.find(p => p.peerId.toString() === id.toString())
    const [a, , c] = first.placement.fromView(enc.encode(key), 3).map(p => byId(p.peerId))
    if (a == null || c == null) throw new Error('no replicas')
    const others = net.peers.filter(p => p !== c)
    await c.partition(others.map(p => p.peerId))
    await Promise.all(others.map(async p => { await p.partition([c.peerId]) }))

    const api = createApiServer({ peer: a })
    cleanup.add(async () => api.close())
    const res = await api.inject({ method: 'PUT', url: `/v1/kv/${key}?trace=1`, payload: Buffer.from('v'), headers: { 'content-type': 'application/octet-stream' } })
    expect(res.statusCode, res.body).to.equal(200)
    const trace = (res.json() as { trace: TraceJson }).trace
    const cid = c.peerId.toString()
    const about = (peer: string): TraceJson['events'] => trace.events.filter(e => e.peer === peer)
    expect(about(cid).some(e => e.kind === 'preference' && /home replica/.test(e.activity)), 'c in the preference list').to.equal(true)
    expect(about(cid).some(e => e.kind === 'send' && e.activity === 'store')).to.equal(true)
    expect(about(cid).some(e => (e.kind === 'fail' || e.kind === 'late') && /store failed/.test(e.activity)), 'c\'s store failed').to.equal(true)
    const hint = trace.events.find(e => e.kind === 'hint')
    expect(hint?.activity).to.include('hint for')
    expect(hint?.peer).to.not.equal(cid)
    expect(trace.events.some(e => e.kind === 'quorum')).to.equal(true)

    // the timeline the CLI prints names every event
    const lines = formatTrace(trace)
    expect(lines[0]).to.match(/^Tracing request on coordinator /)
    expect(lines.length).to.equal(trace.events.length + 4)
  })

  it('a failed request still carries its trace, in the header', async () => {
    const net = await createTestnet(2, { onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: { suspicionMult: 200 } } })
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('no peers')
    await a.partition([b.peerId])
    await b.partition([a.peerId])
    const api = createApiServer({ peer: a })
    cleanup.add(async () => api.close())
    const res = await api.inject({ method: 'GET', url: '/v1/kv/nowhere?trace=1&r=2&n=2', headers: { accept: 'application/json' } })
    expect(res.statusCode).to.be.greaterThanOrEqual(500)
    const trace = JSON.parse(Buffer.from(String(res.headers[TRACE_HEADER]), 'base64url').toString('utf8')) as TraceJson
    expect(trace.events.find(e => e.kind === 'answer')?.activity).to.match(/^failed: QuorumNotReachedError/)
    expect(trace.events.some(e => e.kind === 'fail' && e.peer === b.peerId.toString())).to.equal(true)
  })

  it('records nothing after its cap, and settles at once when nothing is pending', async () => {
    const trace = new RequestTrace('me')
    for (let i = 0; i < 500; i++) trace.note('note', `event ${i}`)
    await trace.settle(10_000)
    expect(trace.toJSON().events.length).to.be.lessThan(500)
  })
})
