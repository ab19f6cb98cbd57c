/**
 * The HTTP API of a real daemon under attack (issue #19 item 5): slow bodies, oversized bodies,
 * bad-token floods and connection floods. Each passes when the daemon keeps serving honest
 * clients and nothing is stored that should not be. The attacker speaks from 127.0.0.2, honest
 * clients from 127.0.0.1 (both loopback on Linux).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { Daemon } from '../../src/daemon.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { connectRaw, request, slowBody } from './http-client.ts'
import type { RawConnection } from './http-client.ts'

const ATTACKER = '127.0.0.2'

describe('attack: the HTTP API of a daemon', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  let api: string
  let port: number
  let token: string
  let daemon: Daemon

  beforeEach(async () => {
    const dataDir = await cleanup.tempDir()
    daemon = new Daemon({
      dataDir,
      initToken: true,
      flags: {
        listen: ['/ip4/127.0.0.1/tcp/0'],
        apiPort: 0,
        open: true,
        // one daemon: quorums of one
        n: 1,
        r: 1,
        w: 1,
        apiRequestTimeout: 2_000,
        apiHeadersTimeout: 1_000,
        apiBodyLimit: 4096,
        apiMaxConnections: 64,
        apiMaxConnectionsPerIp: 16,
        apiAuthFailureLimit: 20
      }
    })
    cleanup.add(async () => daemon.stop())
    api = (await daemon.start()).api
    port = Number(new URL(api).port)
    token = (await fs.readFile(path.join(dataDir, 'api-token'), 'utf8')).trim()
  })

  /** an honest put and get through the API */
  const honest = async (key: string): Promise<void> => {
    expect((await request(`${api}/v1/kv/${key}`, { method: 'PUT', token, body: 'honest' })).status, `PUT ${key}`).to.be.oneOf([200, 201, 204])
    const got = await request(`${api}/v1/kv/${key}`, { token })
    expect(got.status, `GET ${key}`).to.equal(200)
    expect(got.body).to.include('honest')
  }

  it('cuts a body sent one byte at a time at the request timeout (408) and stores nothing of it; honest clients go on meanwhile', async () => {
    const slow = slowBody(port, token, { length: 1000, every: 300, key: 'slow', localAddress: ATTACKER })
    await honest('during-slow')
    const { status, sent } = await slow
    expect(sent, 'bytes sent before the cut').to.be.below(1000)
    if (status != null) expect(status).to.equal(408)
    expect((await request(`${api}/v1/kv/slow`, { token })).status, 'nothing stored under the slow key').to.equal(404)
    await honest('after-slow')
  })

  it('stops within the request timeout though a client is still dripping a body', async () => {
    const slow = slowBody(port, token, { length: 100_000, every: 300, localAddress: ATTACKER })
    await honest('before-stop')
    await daemon.stop()
    const { sent } = await slow
    expect(sent).to.be.below(100_000)
  })

  it('answers an oversized body with 413 and stores nothing', async () => {
    const big = await request(`${api}/v1/kv/big`, { method: 'PUT', token, body: new Uint8Array(4097), localAddress: ATTACKER })
    expect(big.status).to.equal(413)
    expect(JSON.parse(big.body)).to.include({ error: 'ValueTooLargeError' })
    expect((await request(`${api}/v1/kv/big`, { token })).status).to.equal(404)
    expect((await request(`${api}/v1/kv/fits`, { method: 'PUT', token, body: new Uint8Array(4096) })).status).to.be.oneOf([200, 201, 204])
  })

  it('answers a bad-token flood 401, then 429 once the address failed apiAuthFailureLimit times; an honest token still works, from the same address too', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const bad = await request(`${api}/v1/kv/k${i}`, { method: 'PUT', token: i % 2 === 0 ? `p2ps_bad_${i}` : undefined, body: 'x', localAddress: ATTACKER })
      statuses.push(bad.status)
      if (i === 25) expect(JSON.parse(bad.body)).to.include({ error: 'TooManyAuthFailuresError' })
    }
    expect(statuses.slice(0, 20)).to.deep.equal(Array(20).fill(401))
    expect(statuses.slice(20)).to.deep.equal(Array(10).fill(429))
    // a valid token from the flooding address (a NAT's other client) and from another address
    expect((await request(`${api}/v1/status`, { token, localAddress: ATTACKER })).status).to.equal(200)
    await honest('after-flood')
    // nothing the flood sent was stored
    expect((await request(`${api}/v1/kv/k0`, { token })).status).to.equal(404)
  })

  it('holds at most apiMaxConnectionsPerIp connections of one address; other clients go on', async () => {
    const conns: RawConnection[] = []
    cleanup.add(() => { for (const c of conns) c.socket.destroy() })
    for (let i = 0; i < 40; i++) conns.push(await connectRaw(port, ATTACKER))
    await eventually(async () => conns.filter(c => c.isOpen).length <= 16, 'connections past the cap closed')
    expect(conns.filter(c => c.isOpen).length, 'connections of the flooding address held').to.be.at.most(16)
    await honest('during-conn-flood')
    for (const c of conns) c.socket.destroy()
    await Promise.all(conns.map(async c => c.closed))
    // its slots are free again once they closed
    await eventually(async () => (await request(`${api}/v1/status`, { token, localAddress: ATTACKER }).catch(() => ({ status: 0 }))).status === 200, 'the address served again')
  })
})
