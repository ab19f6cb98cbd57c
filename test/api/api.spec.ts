import { NotStartedError } from '@libp2p/interface'
import { stubInterface } from 'sinon-ts'
import { createApiServer, isLoopbackHost } from '../../src/api/index.ts'
import { expect } from '../utils/expect.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { KnownPeer, PeerStatus } from '../../src/peer.ts'

const STATUS: PeerStatus = {
  peerId: '12D3KooWTest',
  version: '0.1.0',
  multiaddrs: ['/ip4/127.0.0.1/tcp/4700/p2p/12D3KooWTest'],
  uptimeSeconds: 5,
  connections: 2,
  peers: { known: 3, connected: 2, alive: 3, suspect: 0, dead: 0, left: 0 },
  incarnation: 1700000000000,
  localHealth: 0,
  keys: 12,
  pendingHints: 0,
  joined: true,
  bootstrapPeers: 1,
  network: 'public'
}

const PEERS: KnownPeer[] = [
  { peerId: '12D3KooWA', multiaddrs: ['/ip4/127.0.0.1/tcp/1'], connected: true, protocols: ['/p2pstore/kad/1.0.0'], state: 'alive', incarnation: 5, lastHeard: '2026-11-23T06:00:00.000Z', suspectedBy: [] },
  { peerId: '12D3KooWB', multiaddrs: [], connected: false, protocols: [], state: 'dead', incarnation: 3, suspectedBy: ['12D3KooWA'] }
]

describe('api', () => {
  it('GET /v1/status answers the peer status as JSON', async () => {
    const peer = stubWith<ApiPeer>(s => s.status.resolves(STATUS))
    const app = createApiServer({ peer })
    const res = await app.inject({ method: 'GET', url: '/v1/status' })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.deep.equal(STATUS)
    expect(peer.status.calledOnce).to.equal(true)
    // the handler passes an AbortSignal down so that work stops when the client leaves
    expect(peer.status.firstCall.args[0]?.signal).to.be.instanceOf(AbortSignal)
  })

  it('GET /v1/peers answers [{ peerId, multiaddrs, connected, … }]', async () => {
    const app = createApiServer({ peer: stubWith<ApiPeer>(s => s.peers.resolves(PEERS)) })
    const res = await app.inject({ method: 'GET', url: '/v1/peers' })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.deep.equal(PEERS)
  })

  it('maps errors through the ERRORS table to { error, message, hint }', async () => {
    const app = createApiServer({ peer: stubWith<ApiPeer>(s => s.status.rejects(new NotStartedError('peer is stopped'))) })
    const res = await app.inject({ method: 'GET', url: '/v1/status' })
    expect(res.statusCode).to.equal(503)
    expect(res.json()).to.include({ error: 'NotStartedError', message: 'peer is stopped' })
    expect(res.json()).to.have.property('hint').that.is.a('string')
  })

  it('answers unknown endpoints with a JSON 404', async () => {
    const app = createApiServer({ peer: stubInterface<ApiPeer>() })
    const res = await app.inject({ method: 'GET', url: '/v1/nope' })
    expect(res.statusCode).to.equal(404)
    expect(res.json()).to.include({ error: 'NotFoundError' })
  })

  it('demands the bearer token when one is set', async () => {
    const peer = stubWith<ApiPeer>(s => s.status.resolves(STATUS))
    const app = createApiServer({ peer, token: 's3cret' })
    expect((await app.inject({ method: 'GET', url: '/v1/status' })).statusCode).to.equal(401)
    expect((await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: 'Bearer wrong' } })).statusCode).to.equal(401)
    expect(peer.status.called).to.equal(false)
    const ok = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: 'Bearer s3cret' } })
    expect(ok.statusCode).to.equal(200)
  })

  it('treats only loopback hosts as loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopbackHost(host), host).to.equal(true)
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'example.org']) expect(isLoopbackHost(host), host).to.equal(false)
  })
})
