import { spawn } from 'node:child_process'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { BIN, runCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'
import { listen } from '../utils/http.ts'
import type { PeerStatus } from '../../src/peer.ts'
import type { Cleanup } from '../utils/cleanup.ts'

/** a status far larger than a pipe's buffer (64 KiB), so writes go on after the reader has gone */
const BIG_STATUS: PeerStatus = {
  peerId: '12D3KooWSelf',
  version: '0.1.0',
  multiaddrs: Array.from({ length: 5000 }, (_, i) => `/ip4/127.0.0.1/tcp/${10000 + i}/p2p/12D3KooWSelf`),
  uptimeSeconds: 1,
  connections: 0,
  peers: { known: 0, connected: 0, alive: 0, suspect: 0, dead: 0, left: 0 },
  incarnation: 1,
  localHealth: 0,
  keys: 0,
  pendingHints: 0,
  joined: true,
  bootstrapPeers: 0,
  network: 'public'
}

/** runs the CLI with its stdout closed by the reader at once (`p2pstore … | head -c 0`) */
async function runWithClosedStdout (cleanup: Cleanup, args: string[]): Promise<{ code: number | string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, P2PSTORE_API: '', P2PSTORE_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | string>(resolve => { child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1) }) })
  cleanup.add(async () => { if (child.exitCode == null && child.signalCode == null) { child.kill('SIGKILL'); await exited } })
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await exited
  return { code, stderr }
}

describe('cli end to end against servers that are not a running daemon (bin/p2pstore.js)', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('a closed stdout ends the command quietly with exit 141, no stack trace', async () => {
    const api = await listen(cleanup, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.url === '/v1/status' ? BIG_STATUS : []))
    })
    for (const args of [['--api', api, 'status'], ['--api', api, 'status', '--json'], ['--help']]) {
      const res = await runWithClosedStdout(cleanup, args)
      expect(res.stderr, args.join(' ')).to.equal('')
      expect(res.code, args.join(' ')).to.equal(EXIT.brokenPipe)
    }
  })

  it('--api at an HTTP server that is not p2pstore (an HTML 404 page): exit 6 with a hint', async () => {
    const api = await listen(cleanup, (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html;charset=utf-8' }).end('<!DOCTYPE HTML>\n<html><body><h1>Error response</h1><p>Error code: 404</p></body></html>\n')
    })
    for (const command of ['status', 'peers']) {
      const res = await runCli(cleanup, ['--api', api, command])
      expect(res.code, res.stderr).to.equal(EXIT.unreachable)
      expect(res.stderr).to.include(`p2pstore: the server at ${api} is not a p2pstore daemon`)
      expect(res.stderr).to.include('hint: is --api a p2pstore daemon?')
      expect(res.stderr).to.not.include('this is a bug')
    }
  })

  it('--timeout: a daemon that never answers fails fast with exit 9, naming it and the next step', async () => {
    const api = await listen(cleanup, () => {})
    const res = await runCli(cleanup, ['--api', api, '--timeout', '300ms', 'status'])
    expect(res.code).to.equal(EXIT.timeout)
    expect(res.stderr).to.include(`p2pstore: the daemon at ${api} did not answer GET /v1/status within 300 ms: is it paused, overloaded or stuck? check it with \`npx p2pstore --api ${api} --timeout 30s status\``)
  })
})
