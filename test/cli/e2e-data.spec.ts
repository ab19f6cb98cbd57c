import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, runCliBytes, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'

interface TestnetJson {
  peers: Array<{ index: number, peerId: string, api: string }>
}

describe('cli end to end: put, get, siblings, delete on a 3-daemon test net', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('round-trips a 1 MiB binary value through stdin byte-exact, shows and resolves siblings, deletes, refuses oversized input', async () => {
    const dir = await cleanup.tempDir()
    const testnet = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--json'])
    const { peers } = JSON.parse(await testnet.waitForLine(/^\{/)) as TestnetJson
    const [p0, p1, p2] = peers
    if (p0 == null || p1 == null || p2 == null) throw new Error('test net too small')
    const api = (p: { api: string }): string[] => ['--api', p.api]

    // 1 MiB of random bytes through stdin, read back through another daemon
    const value = randomBytes(1024 * 1024)
    const put = await runCliBytes(cleanup, [...api(p0), 'put', 'blob'], value)
    expect(put.code, put.stderr).to.equal(0)
    expect(put.stdout.toString()).to.match(/^stored blob \(1048576 bytes, [23] of 3 copies acknowledged\)\ncontext: \S+\n$/)
    const got = await runCliBytes(cleanup, [...api(p2), 'get', 'blob'])
    expect(got.code, got.stderr).to.equal(0)
    expect(got.stdout.equals(value)).to.equal(true)

    // one byte too many: refused with the documented exit code, nothing stored
    const tooBig = await runCliBytes(cleanup, [...api(p0), 'put', 'blob2'], randomBytes(1024 * 1024 + 1))
    expect(tooBig.code).to.equal(EXIT.badInput)
    expect(tooBig.stderr).to.match(/larger than the limit of 1048576 bytes/)
    expect((await runCli(cleanup, [...api(p1), 'get', 'blob2'])).code).to.equal(EXIT.notFound)
    const longKey = await runCli(cleanup, [...api(p1), 'put', 'k'.repeat(1025), 'v'])
    expect(longKey.code).to.equal(EXIT.badInput)
    expect(longKey.stderr).to.match(/key of 1025 bytes/)

    // two blind writes through two daemons: siblings, exit 4, and a context to resolve them
    expect((await runCli(cleanup, [...api(p0), 'put', 'colour', 'red'])).code).to.equal(0)
    expect((await runCli(cleanup, [...api(p1), 'put', 'colour', 'green'])).code).to.equal(0)
    const siblings = await runCli(cleanup, [...api(p2), 'get', 'colour', '--json'])
    expect(siblings.code).to.equal(EXIT.siblings)
    const read = JSON.parse(siblings.stdout) as { key: string, context: string, siblings: Array<{ value: string, encoding: string }> }
    expect(read.siblings.map(s => s.value).sort()).to.deep.equal(['green', 'red'])
    expect(read.siblings.every(s => s.encoding === 'utf8')).to.equal(true)
    const human = await runCli(cleanup, [...api(p2), 'get', 'colour'])
    expect(human.code).to.equal(EXIT.siblings)
    expect(human.stdout).to.match(/colour has 2 siblings/)
    expect(human.stderr).to.match(/p2pstore put colour --context/)

    const resolved = await runCli(cleanup, [...api(p2), 'put', 'colour', 'yellow', '--context', read.context])
    expect(resolved.code, resolved.stderr).to.equal(0)
    for (const p of peers) {
      const res = await runCli(cleanup, [...api(p), 'get', 'colour'])
      expect(res.code).to.equal(0)
      expect(res.stdout).to.equal('yellow')
    }

    // a corrupt context is bad input
    const corrupt = await runCli(cleanup, [...api(p0), 'put', 'colour', 'x', '--context', `${read.context.slice(0, -2)}xx`])
    expect(corrupt.code).to.equal(EXIT.badInput)

    // delete with the read context: not found everywhere
    const before = JSON.parse((await runCli(cleanup, [...api(p0), 'get', 'colour', '--json'])).stdout) as { context: string }
    expect((await runCli(cleanup, [...api(p1), 'delete', 'colour', '--context', before.context])).code).to.equal(0)
    for (const p of peers) expect((await runCli(cleanup, [...api(p), 'get', 'colour'])).code).to.equal(EXIT.notFound)

    testnet.child.kill('SIGTERM')
    expect(await testnet.exited).to.equal(0)
  })

  it('one machine, one peer: init && daemon && put --w 1 && get --r 1 work; the defaults fail fast with the quorum error and a hint', async () => {
    const data = ['--data', path.join(await cleanup.tempDir(), 'lone')]
    expect((await runCli(cleanup, [...data, 'init'])).code).to.equal(0)
    const daemon = startCli(cleanup, [...data, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json'])
    await daemon.waitForLine(/"event":"ready"/)

    // W=2 of N=3 with one peer: the quorum error (exit 5), not the deadline (exit 9)
    const refused = await runCli(cleanup, [...data, 'put', 'refused', 'y'])
    expect(refused.code, refused.stderr).to.equal(EXIT.quorum)
    expect(refused.stderr.split('\n')[0]).to.equal('p2pstore: quorum not reached: 1 of 2 acks (only 1 peer in this network; start more peers, or lower --w/--n)')

    const put = await runCli(cleanup, [...data, 'put', 'x', 'y', '--w', '1'])
    expect(put.code, put.stderr).to.equal(0)
    expect(put.stdout.split('\n')[0]).to.equal('stored x (1 byte, 1 of 3 copies: degraded, only 1 peer in this network)')
    const got = await runCli(cleanup, [...data, 'get', 'x', '--r', '1'])
    expect(got.code, got.stderr).to.equal(0)
    expect(got.stdout).to.equal('y')
    expect(got.stderr).to.match(/degraded, only 1 peer in this network/)
    expect((await runCli(cleanup, [...data, 'get', 'x'])).code).to.equal(EXIT.quorum)

    // --n 1: every default quorum fits one peer
    expect((await runCli(cleanup, [...data, 'put', 'k', 'v', '--n', '1'])).code).to.equal(0)
    expect((await runCli(cleanup, [...data, 'get', 'k', '--n', '1'])).stdout).to.equal('v')
    const deleted = await runCli(cleanup, [...data, 'delete', 'k', '--n', '1'])
    expect(deleted.code, deleted.stderr).to.equal(0)
    // a deleted key: not found, and --json still gives the context to write after the delete
    const gone = await runCli(cleanup, [...data, 'get', 'k', '--n', '1', '--json'])
    expect(gone.code).to.equal(EXIT.notFound)
    const body = JSON.parse(gone.stdout) as { key: string, context: string, siblings: unknown[] }
    expect(body).to.include({ key: 'k' })
    expect(body.siblings).to.deep.equal([])
    expect(body.context).to.match(/^\S+$/)

    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).to.equal(0)
  })
})
