/**
 * Raw HTTP clients for the attack tests and `npm run attack`: requests from a chosen local address
 * (127.0.0.2 is another client than 127.0.0.1 on Linux loopback), sockets that drip a body, and
 * idle connections held open.
 */
import http from 'node:http'
import net from 'node:net'

/** One answered request. */
export interface Answer {
  status: number
  body: string
}

/** One request on a connection of its own (no agent); rejects when the server closed it unanswered. */
export async function request (url: string, init: { method?: string, token?: string, body?: Uint8Array | string, localAddress?: string, timeout?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' }
    if (init.token != null) headers.authorization = `Bearer ${init.token}`
    if (init.body != null) headers['content-type'] = 'application/octet-stream'
    const req = http.request(url, { method: init.method ?? 'GET', headers, agent: false, localAddress: init.localAddress, timeout: init.timeout ?? 15_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`no answer from ${url} in time`)) })
    req.on('error', reject)
    req.end(init.body)
  })
}

/** A raw connection and what arrived on it until it closed. */
export interface RawConnection {
  socket: net.Socket
  received(): string
  /** resolves when the server (or an error) closed it */
  closed: Promise<void>
  readonly isOpen: boolean
}

/** Opens a raw TCP connection to `port` on 127.0.0.1 from `localAddress`. */
export async function connectRaw (port: number, localAddress = '127.0.0.1'): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress })
  let text = ''
  let open = true
  socket.on('data', (c: Buffer) => { text += c.toString() })
  const closed = new Promise<void>(resolve => {
    socket.on('close', () => { open = false; resolve() })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => text, closed, get isOpen () { return open } }
}

/**
 * Starts a PUT with `token` announcing `length` body bytes and sends one byte every `every` ms
 * until the server closes the connection; resolves with what the server answered and how many
 * bytes went out.
 */
export async function slowBody (port: number, token: string, init: { length: number, every: number, key?: string, localAddress?: string }): Promise<{ status?: number, sent: number }> {
  const conn = await connectRaw(port, init.localAddress)
  conn.socket.write(`PUT /v1/kv/${init.key ?? 'slow'} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${init.length}\r\n\r\n`)
  let sent = 0
  const drip = setInterval(() => {
    if (conn.isOpen && sent < init.length - 1) {
      conn.socket.write('x')
      sent++
    }
  }, init.every)
  await conn.closed
  clearInterval(drip)
  const status = /^HTTP\/1\.1 (\d{3})/.exec(conn.received())?.[1]
  return { status: status == null ? undefined : Number(status), sent }
}
