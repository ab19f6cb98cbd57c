import http from 'node:http'
import type { Cleanup } from './cleanup.ts'
import type { AddressInfo } from 'node:net'

/** A plain HTTP server on 127.0.0.1:0 (not a p2pstore daemon), closed with every open connection after the test. */
export async function listen (cleanup: Cleanup, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanup.add(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
