import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, runCliBytes, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'
import type { BatchJson, WriteJson } from '../../src/api/index.ts'

interface TestnetJson {
  peers: Array<{ index: number, peerId: string, api: string }>
}

const lines = (...items: unknown[]): Buffer => Buffer.from(items.map(i => typeof i === 'string' ? i : JSON.stringify(i)).join('\n') + '\n')

describe('cli end to end: conditional puts and batches on a 3-daemon test net (issue #20)', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('put --if-none-match / --if-match exit 11 when refused; put --batch and get K1 K2 … give each item its outcome (exit 12 when any failed); bad batches exit 2 and write nothing', async () => {
    const dir = await cleanup.tempDir()
    const testnet = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--json'])
    const { peers } = JSON.parse(await testnet.waitForLine(/^\{/)) as TestnetJson
    const [p0, p1, p2] = peers
    if (p0 == null || p1 == null || p2 == null) throw new Error('test net too small')
    const api = (p: { api: string }): string[] => ['--api', p.api]

    // conditional puts
    const created = await runCli(cleanup, [...api(p0), 'put', 'lock', 'mine', '--if-none-match', '--json'])
    expect(created.code, created.stderr).to.equal(0)
    const again = await runCli(cleanup, [...api(p1), 'put', 'lock', 'yours', '--if-none-match'])
    expect(again.code).to.equal(EXIT.precondition)
    expect(again.stderr).to.match(/precondition failed: key "lock" already has a value/)
    expect(again.stderr).to.match(/hint: /)
    const context = (JSON.parse(created.stdout) as WriteJson).context
    expect((await runCli(cleanup, [...api(p2), 'put', 'lock', 'released', '--if-match', context])).code).to.equal(0)
    const stale = await runCli(cleanup, [...api(p1), 'put', 'lock', 'stolen', '--if-match', context, '--json'])
    expect(stale.code).to.equal(EXIT.precondition)
    expect(JSON.parse(stale.stderr)).to.include({ error: 'PreconditionFailedError', exitCode: EXIT.precondition })
    expect((await runCli(cleanup, [...api(p0), 'get', 'lock'])).stdout).to.equal('released')

    // put --batch: each line its own outcome
    const batch = await runCliBytes(cleanup, [...api(p0), 'put', '--batch'], lines(
      { key: 'b1', value: 'one' },
      '',
      { key: 'b2', value: Buffer.from([0, 1, 255]).toString('base64'), encoding: 'base64' },
      { key: 'lock', value: 'x', ifNoneMatch: true }
    ))
    expect(batch.code, batch.stderr).to.equal(EXIT.batchPartial)
    const out = batch.stdout.toString()
    expect(out).to.match(/^stored b1 \([23] of 3 copies acknowledged\)/m)
    expect(out).to.match(/^stored b2 /m)
    expect(out).to.match(/^lock: failed \(412 PreconditionFailedError: /m)
    expect(batch.stderr).to.match(/2 of 3 written, 1 failed/)

    const allGood = await runCliBytes(cleanup, [...api(p1), 'put', '--batch', '--json'], lines({ key: 'b3', value: 'three' }))
    expect(allGood.code, allGood.stderr).to.equal(0)
    expect((JSON.parse(allGood.stdout.toString()) as BatchJson).ok).to.equal(1)

    // get K1 K2 …: one request, each key its outcome
    const many = await runCli(cleanup, [...api(p2), 'get', 'b1', 'b3', 'lock'])
    expect(many.code, many.stderr).to.equal(0)
    expect(many.stdout).to.equal('--- b1\none\n--- b3\nthree\n--- lock\nreleased\n')
    const some = await runCli(cleanup, [...api(p2), 'get', 'b1', 'nothing-here', '--json'])
    expect(some.code).to.equal(EXIT.batchPartial)
    const json = JSON.parse(some.stdout) as BatchJson
    expect(json.items.map(i => i.status)).to.deep.equal([200, 404])

    // bad batches: refused whole, exit 2, nothing written
    const badLine = await runCliBytes(cleanup, [...api(p0), 'put', '--batch'], lines({ key: 'never1', value: 'v' }, '{"key": "never2", '))
    expect(badLine.code).to.equal(EXIT.badInput)
    expect(badLine.stderr).to.match(/line 2 of the batch is not JSON/)
    const noKey = await runCliBytes(cleanup, [...api(p0), 'put', '--batch'], lines({ key: 'never1', value: 'v' }, { value: 'v' }))
    expect(noKey.code).to.equal(EXIT.badInput)
    expect(noKey.stderr).to.match(/line 2: "key" must be a non-empty string/)
    const tooMany = await runCliBytes(cleanup, [...api(p0), 'put', '--batch'], lines(...Array.from({ length: 1001 }, (_, i) => ({ key: `never-${i}`, value: 'v' }))))
    expect(tooMany.code).to.equal(EXIT.badInput)
    expect(tooMany.stderr).to.match(/more than 1000 items/)
    const tooBig = await runCliBytes(cleanup, [...api(p0), 'put', '--batch'], lines({ key: 'never3', value: 'x'.repeat(16 * 1024 * 1024) }))
    expect(tooBig.code).to.equal(EXIT.badInput)
    expect(tooBig.stderr).to.match(/more than the limit of 16777216/)
    const withKey = await runCliBytes(cleanup, [...api(p0), 'put', 'k', '--batch'], lines({ key: 'never4', value: 'v' }))
    expect(withKey.code).to.equal(EXIT.badInput)
    const never = await runCli(cleanup, [...api(p1), 'get', 'never1', 'never2', 'never3', 'never4', 'never-0', '--json'])
    expect((JSON.parse(never.stdout) as BatchJson).items.map(i => i.status)).to.deep.equal([404, 404, 404, 404, 404])

    testnet.child.kill('SIGTERM')
    expect(await testnet.exited).to.equal(0)
  })
})
