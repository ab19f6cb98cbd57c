import { spawn } from 'node:child_process'
import { createApiServer } from '../../src/api/index.ts'
import { main } from '../../src/cli/index.ts'
import { CHECK_EXIT, EXIT } from '../../src/errors.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { BIN, runCli, startCli } from '../utils/cli-process.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { listen } from '../utils/http.ts'
import type { Peer } from '../../src/peer.ts'
import type { Cleanup } from '../utils/cleanup.ts'

interface Captured { code: number, stdout: string, stderr: string }

/** main() with captured output; `stdout()` shows what it printed so far */
function start (args: string[], signal?: AbortSignal): { done: Promise<Captured>, stdout: () => string } {
  let stdout = ''
  let stderr = ''
  const done = main(['node', 'p2pstore', ...args], {
    env: { P2PSTORE_HOME: '/nonexistent-p2pstore-home' },
    signal,
    streams: { stdout: { write: (s: string | Uint8Array) => { stdout += String(s) } }, stderr: { write: (s: string | Uint8Array) => { stderr += String(s) } } }
  }).then(code => ({ code, stdout, stderr }))
  return { done, stdout: () => stdout }
}

async function apiOf (cleanup: Cleanup, peer: Peer): Promise<string> {
  const app = createApiServer({ peer })
  cleanup.add(async () => { await app.close() })
  return app.listen({ host: '127.0.0.1', port: 0 })
}

const SELF = '12D3KooWSelf'
const STATUS = { peerId: SELF, version: '0.1.0', multiaddrs: [], uptimeSeconds: 1, connections: 0, peers: { known: 0, connected: 0, alive: 0, suspect: 0, dead: 0, left: 0 }, incarnation: 1, localHealth: 0, keys: 0, pendingHints: 0, joined: true, bootstrapPeers: 0, network: 'public' }
const RING = [{ peerId: SELF, state: 'alive', capacity: 1, share: 1, keys: 0, self: true }]

/** a stand-in daemon; its verdict flips on every health request when `flapping`, so a watch keeps printing */
async function standIn (cleanup: Cleanup, flapping: boolean): Promise<string> {
  let polls = 0
  return listen(cleanup, (req, res) => {
    const body = req.url === '/v1/health'
      ? { verdict: flapping && polls++ % 2 === 1 ? 'degraded' : 'healthy', peerId: SELF, reasons: [] }
      : req.url === '/v1/status' ? STATUS : req.url === '/v1/ring' ? RING : []
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
}

describe('cli views against real peers and as a process', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('a real network: status --check follows a killed member (0 → 1), --watch prints a JSON line when it dies, locate shows its 3 holders', async () => {
    const net = await createTestnet(4, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    const [watched, , , victim] = net.peers
    if (watched == null || victim == null) throw new Error('test net too small')
    const url = await apiOf(cleanup, watched)

    await watched.put('colour', new TextEncoder().encode('blue'))
    // enough keys that the victim is a home replica of some: its death leaves them short of a copy
    for (let i = 0; i < 30; i++) await watched.put(`k${i}`, new TextEncoder().encode(`v${i}`))
    await eventually(async () => (await watched.locate('colour')).homeCopies === 3, '3 copies', 30_000)
    const located = await start(['--api', url, 'locate', 'colour']).done
    expect(located.code, located.stderr).to.equal(EXIT.ok)
    expect(located.stdout.split('\n')[0]).to.match(/^colour: 3 of 3 home replicas hold it; 1 value \(N = 3, as …\w{6} sees it\)$/)
    expect(located.stdout.split('\n').filter(l => /^\d\s+home\s+12D3\S+( \(this\))?\s+(alive|suspect)\s+holds\s+1\s/.test(l)), located.stdout).to.have.length(3)

    // the verdict comes from the daemon's /v1/health
    // (on a loaded machine a member may be suspect for a moment: ask until the view is settled)
    let healthy: Captured | undefined
    await eventually(async () => {
      healthy = await start(['--api', url, 'status', '--check']).done
      return healthy.code === CHECK_EXIT.healthy
    }, 'a healthy verdict', 60_000, 500)
    expect(healthy?.stdout).to.match(/^HEALTHY \(the view of …\w{6}\)/)
    expect(healthy?.stdout).to.not.include('from /v1/status')

    const stop = new AbortController()
    cleanup.add(() => { stop.abort() })
    const watch = start(['--api', url, 'status', '--watch', '--json'], stop.signal)
    const lines = (): Array<{ verdict: string, members: Array<{ peerId: string, state: string }> }> => watch.stdout().trimEnd().split('\n').filter(l => l !== '').map(l => JSON.parse(l))
    await eventually(async () => lines().length >= 1, 'the first snapshot', 30_000)
    expect(lines()[0]?.members).to.have.length(4)

    await victim.stop({ leave: false })
    const id = victim.peerId.toString()
    await eventually(async () => lines().some(l => l.members.find(m => m.peerId === id)?.state === 'dead'), 'a line with the victim dead', 90_000, 200)
    const deadLine = lines().find(l => l.members.find(m => m.peerId === id)?.state === 'dead')
    // degraded while keys lack a copy; a small net may have re-replicated already (data safe: healthy)
    expect(['degraded', 'healthy']).to.include(deadLine?.verdict)
    // problem rows first
    expect(deadLine?.members[0]).to.deep.include({ peerId: id, state: 'dead' })
    stop.abort()
    const watched_ = await watch.done
    expect(watched_.code, watched_.stderr).to.equal(0)

    const degraded = await start(['--api', url, 'status', '--check']).done
    // degraded while its keys lack a copy; already healthy again if re-replication was quick
    expect([CHECK_EXIT.degraded, CHECK_EXIT.healthy], degraded.stdout).to.include(degraded.code)
    if (degraded.code === CHECK_EXIT.degraded) expect(degraded.stdout).to.include(`peer ${id.slice(0, 4)}…${id.slice(-4)} dead`)
    // re-replication restores N confirmed copies: the verdict follows back to healthy
    await eventually(async () => (await start(['--api', url, 'status', '--check']).done).code === CHECK_EXIT.healthy, 'healthy again after re-replication', 120_000, 1000)
  })

  it('bin/p2pstore.js: an unreachable daemon makes status --check exit 3 with an actionable message', async () => {
    const res = await runCli(cleanup, ['--data', await cleanup.tempDir(), 'status', '--check'])
    expect(res.code).to.equal(CHECK_EXIT.unavailable)
    expect(res.stdout).to.match(/^UNAVAILABLE: no daemon is running on data dir .* \(no api file there\)$/m)
    expect(res.stdout).to.match(/^ {2}next: start one with `npx p2pstore daemon`, or point at it with --api URL/m)
  })

  it('bin/p2pstore.js: status --watch stops on Ctrl-C with exit 0, and on a closed stdout with 141', async () => {
    const watch = startCli(cleanup, ['--api', await standIn(cleanup, false), 'status', '--watch'])
    await watch.waitForLine(/"verdict":"healthy"/)
    watch.child.kill('SIGINT')
    expect(await watch.exited, watch.stderr()).to.equal(0)
    expect(watch.stderr()).to.equal('')

    // a closed stdout is noticed at the next line the watch prints (each poll changes the verdict here)
    const api = await standIn(cleanup, true)

    const child = spawn(process.execPath, [BIN, '--api', api, 'status', '--watch'], { env: { ...process.env, P2PSTORE_API: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | string>(resolve => { child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1) }) })
    cleanup.add(async () => { if (child.exitCode == null && child.signalCode == null) { child.kill('SIGKILL'); await exited } })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    // read the first line, then go away as `| head -1` does
    await new Promise<void>(resolve => { child.stdout.once('data', () => { child.stdout.destroy(); resolve() }) })
    expect(await exited, stderr).to.equal(EXIT.brokenPipe)
    expect(stderr).to.equal('')
  })
})
