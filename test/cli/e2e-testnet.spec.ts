/**
 * `p2pstore testnet` end to end (bin/p2pstore.js as a process): a stop at any moment of the
 * start-up abandons it and leaves nothing behind; a reused `--dir` keeps its ports; the printed
 * table says where to bootstrap from and what to try.
 */
import { readdirSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Cleanup } from '../utils/cleanup.ts'
import type { CliRun } from '../utils/cli-process.ts'

/** pids of live processes whose command line mentions `text` (the daemons of a test net in a dir) */
function processesMentioning (text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (/\) Z /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** resolves once `run` printed a stderr line matching `re` */
async function stderrLine (run: CliRun, re: RegExp): Promise<void> {
  await eventually(async () => {
    if (run.child.exitCode != null) throw new Error(`exited before printing ${re}; stderr: ${run.stderr()}`)
    return run.stderr().split('\n').some(l => re.test(l))
  }, `a stderr line matching ${re}`, 60_000, 10)
}

async function holdPort (cleanup: Cleanup, port: number): Promise<void> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  cleanup.add(async () => new Promise(resolve => server.close(resolve)))
}

describe('cli: p2pstore testnet (bin/p2pstore.js as a process)', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  const moments: Array<{ name: string, before?: RegExp }> = [
    { name: 'right after the spawn' },
    { name: 'while the first peer starts', before: /^starting peers: 0\/3$/ },
    { name: 'after "starting peers: 1/3"', before: /^starting peers: 1\/3$/ },
    { name: 'while the peers join', before: /^joining: / }
  ]
  for (const moment of moments) {
    it(`SIGINT ${moment.name}: abandons the start-up, never says ready, stops every daemon, removes its temp dir`, async () => {
      // every daemon is spawned with its data dir under TMPDIR: a process mentioning it is a leftover
      const tmp = await cleanup.tempDir('p2pstore-testnet-abort-')
      cleanup.add(() => { for (const pid of processesMentioning(tmp)) process.kill(pid, 'SIGKILL') })
      const run = startCli(cleanup, ['testnet', '--peers', '3'], { TMPDIR: tmp })
      if (moment.before != null) await stderrLine(run, moment.before)
      run.child.kill('SIGINT')
      const code = await run.exited

      const output = run.stdout() + run.stderr()
      expect(output).to.not.match(/ready/i)
      expect(run.stdout()).to.not.include('INDEX')
      if (moment.before == null) {
        // a signal before the CLI installed its handlers ends it the default way
        expect([EXIT.timeout, 'SIGINT'], output).to.include(code)
      } else {
        expect(code, output).to.equal(EXIT.timeout)
        expect(run.stderr()).to.include('SIGINT during start-up: the test net was abandoned')
      }
      expect(await fs.readdir(tmp), 'the temp dir of the test net').to.deep.equal([])
      expect(processesMentioning(tmp), 'daemons left running').to.deep.equal([])
    })
  }

  it('prints where to bootstrap from, and a reused --dir keeps its ports when they are free', async () => {
    const dir = await cleanup.tempDir()
    cleanup.add(() => { for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL') })
    const first = startCli(cleanup, ['testnet', '--peers', '2', '--dir', dir])
    const bootstrap = await first.waitForLine(/^bootstrap from: /)
    const tryLine = await first.waitForLine(/^try: /)
    const written = JSON.parse(await fs.readFile(path.join(dir, 'testnet.json'), 'utf8')) as { peers: Array<{ peerId: string, api: string, multiaddrs: string[] }> }
    const [p0, p1] = written.peers
    if (p0 == null || p1 == null) throw new Error('two peers expected')
    expect(bootstrap).to.match(new RegExp(`^bootstrap from: /ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${p0.peerId}$`))
    expect(tryLine).to.match(new RegExp(`^try: +npx p2pstore --api ${p0.api} peers$`))
    first.child.kill('SIGINT')
    expect(await first.exited, first.stderr()).to.equal(0)

    // peer-1's API port is taken now: it falls back to another one and says so; peer-0 keeps its own
    const taken = Number(new URL(p1.api).port)
    await holdPort(cleanup, taken)
    const second = startCli(cleanup, ['testnet', '--peers', '2', '--dir', dir])
    expect(await second.waitForLine(/^bootstrap from: /)).to.equal(bootstrap)
    const again = JSON.parse(await fs.readFile(path.join(dir, 'testnet.json'), 'utf8')) as { peers: Array<{ api: string }> }
    expect(again.peers[0]?.api).to.equal(p0.api)
    expect(again.peers[1]?.api).to.not.equal(p1.api)
    expect(second.stderr()).to.include(`peer-1: API port ${taken} of the last run on this dir is taken; using another free port`)
    second.child.kill('SIGINT')
    expect(await second.exited).to.equal(0)

    // daemon.log: one separator per start, and a timestamp on every other line
    const log = (await fs.readFile(path.join(dir, 'peer-0', 'daemon.log'), 'utf8')).split('\n').filter(l => l !== '')
    expect(log.filter(l => /^--- daemon started \S+ \(pid \d+\) ---$/.test(l))).to.have.length(2)
    for (const line of log.filter(l => !l.startsWith('--- '))) expect(line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/)
  })

  it('testnet --zones gives the daemons zones round-robin, and ring shows them with their shares', async () => {
    const dir = await cleanup.tempDir()
    cleanup.add(() => { for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL') })
    const run = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--zones', 'a,b'])
    await run.waitForLine(/^bootstrap from: /)
    const written = JSON.parse(await fs.readFile(path.join(dir, 'testnet.json'), 'utf8')) as { peers: Array<{ peerId: string, api: string }> }
    const zoneOf = new Map(written.peers.map((p, i) => [p.peerId, ['a', 'b', 'a'][i]]))
    const ring = await runCli(cleanup, ['--api', written.peers[0]?.api ?? '', 'ring', '--json'])
    expect(ring.code, ring.stderr).to.equal(0)
    const members = JSON.parse(ring.stdout) as Array<{ peerId: string, zone?: string, share: number, capacity: number }>
    expect(members).to.have.length(3)
    for (const m of members) {
      expect(m.zone).to.equal(zoneOf.get(m.peerId))
      expect(m.capacity).to.equal(1)
    }
    // 3 peers and N = 3: every peer is a home replica of every key
    expect(members.find(m => m.zone === 'b')?.share).to.be.closeTo(1, 1e-9)
    expect(members.reduce((a, m) => a + m.share, 0)).to.be.closeTo(3, 1e-9)
    run.child.kill('SIGINT')
    expect(await run.exited).to.equal(0)
  })

  it('testnet --netns without iptables is bad input (exit 2) with the reason', async () => {
    // a PATH with node and `ip` but no iptables (not being root gives exit 2 too, for that reason)
    const bin = await cleanup.tempDir()
    await fs.symlink('/usr/sbin/ip', path.join(bin, 'ip')).catch(() => {})
    const run = startCli(cleanup, ['testnet', '--peers', '1', '--netns'], { PATH: `${bin}:${path.dirname(process.execPath)}` })
    const code = await run.exited
    expect(code, run.stderr()).to.equal(EXIT.badInput)
    expect(run.stderr()).to.match(/iptables is not installed|not root|iproute2/)
    expect(run.stderr()).to.not.include('peer logs')
  })
})
