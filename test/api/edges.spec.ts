/**
 * The API's edges: errors raised before any route runs answer `{ error, message, hint }` too, and
 * Node's http server limits how long a client may take and how many connections it may hold —
 * checked on a real listening server with raw sockets.
 */
import net from 'node:net'
import { stubInterface } from 'sinon-ts'
import { createApiServer } from '../../src/api/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { ApiLimits, ApiPeer } from '../../src/api/index.ts'
import type { Cleanup } from '../utils/cleanup.ts'

/** a listening API on 127.0.0.1 (any port), closed after the test */
async function listening (cleanup: Cleanup, limits: Partial<ApiLimits> = {}): Promise<number> {
  const app = createApiServer({ peer: stubInterface<ApiPeer>(), limits })
  cleanup.add(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as net.AddressInfo).port
}

interface RawConnection {
  socket: net.Socket
  /** everything the server sent */
  received(): string
  /** resolves once the server closed the connection (or reset it: `reset` true) */
  closed: Promise<{ reset: boolean }>
}

async function connect (cleanup: Cleanup, port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1')
  cleanup.add(() => { socket.destroy() })
  const chunks: Buffer[] = []
  socket.on('data', (d: Buffer) => chunks.push(d))
  let reset = false
  socket.on('error', () => { reset = true })
  const closed = new Promise<{ reset: boolean }>(resolve => { socket.once('close', () => { resolve({ reset }) }) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return { socket, received: () => Buffer.concat(chunks).toString('utf8'), closed }
}

/** status and JSON body of a raw HTTP response */
function parse (response: string): { status: number, body: unknown } {
  const [head = '', body = ''] = response.split('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) }
}

describe('api: edges', function () {
  this.timeout(30_000)
  const cleanup = useCleanup()

  it('answers a URL that is not valid percent-encoding with { error, message, hint }', async () => {
    const app = createApiServer({ peer: stubInterface<ApiPeer>() })
    for (const url of ['/v1/kv/%E0%A4%A', '/v1/kv/%zz', '/v1/kv/100%']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).to.equal(400)
      const body = res.json<Record<string, unknown>>()
      expect(Object.keys(body).sort(), url).to.deep.equal(['error', 'hint', 'message'])
      expect(body).to.include({ error: 'InvalidParametersError' })
      expect(body.message).to.include('percent-encoding')
    }
  })

  it('answers an oversized header with a 431 in the same shape', async () => {
    const port = await listening(cleanup, { maxHeaderBytes: 4096 })
    const conn = await connect(cleanup, port)
    conn.socket.write(`GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`)
    await conn.closed
    const { status, body } = parse(conn.received())
    expect(status).to.equal(431)
    expect(body).to.have.all.keys('error', 'message', 'hint')
    expect(body).to.include({ error: 'InvalidParametersError' })
  })

  it('closes the connection of a client that sends its body one byte at a time (408)', async () => {
    const port = await listening(cleanup, { requestTimeout: 500, headersTimeout: 500, timeoutCheckInterval: 100 })
    const conn = await connect(cleanup, port)
    conn.socket.write('PUT /v1/kv/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n')
    let open = true
    void conn.closed.then(() => { open = false })
    const drip = setInterval(() => { if (open) conn.socket.write('x') }, 100)
    cleanup.add(() => { clearInterval(drip) })
    const { reset } = await conn.closed
    clearInterval(drip)
    if (!reset || conn.received() !== '') {
      const { status, body } = parse(conn.received())
      expect(status).to.equal(408)
      expect(body).to.include({ error: 'TimeoutError' })
      expect(body).to.have.all.keys('error', 'message', 'hint')
    }
  })

  it('closes the connection of a client that never finishes its headers', async () => {
    const port = await listening(cleanup, { requestTimeout: 500, headersTimeout: 300, timeoutCheckInterval: 100 })
    const conn = await connect(cleanup, port)
    conn.socket.write('GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    await conn.closed
    if (conn.received() !== '') expect(parse(conn.received()).status).to.equal(408)
  })

  it('accepts at most maxConnections connections at once', async () => {
    const port = await listening(cleanup, { maxConnections: 1 })
    const first = await connect(cleanup, port)
    const second = await connect(cleanup, port)
    // the server closes the one over the cap without a word
    await second.closed
    expect(second.received()).to.equal('')
    first.socket.write('GET /v1/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
    await first.closed
    expect(parse(first.received()).status).to.equal(404)
  })
})
