import { HttpClient } from '../../src/client/index.ts'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'

interface TestnetJson {
  peers: Array<{ index: number, peerId: string, api: string }>
}

describe('cli end to end: keys on a 3-daemon test net', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('lists every key once in bytewise order (paging through the daemon), under a prefix, with --limit and --json; deleted keys are gone; bad input exits 2', async () => {
    const dir = await cleanup.tempDir()
    const testnet = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--json'])
    const { peers } = JSON.parse(await testnet.waitForLine(/^\{/)) as TestnetJson
    const [p0, p1] = peers
    if (p0 == null || p1 == null) throw new Error('test net too small')
    const api = (p: { api: string }): string[] => ['--api', p.api]

    const client = new HttpClient({ url: p0.api })
    const keys = Array.from({ length: 1100 }, (_, i) => `item/${String(i).padStart(4, '0')}`)
    const others = ['a', 'item', 'zzz']
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map(async k => client.put(k, new TextEncoder().encode(k))))
    for (const k of others) await client.put(k, new TextEncoder().encode(k))
    await client.delete('zzz')

    // more keys than one page of 1000: the CLI follows the cursor
    const all = await runCli(cleanup, [...api(p1), 'keys'])
    expect(all.code, all.stderr).to.equal(0)
    expect(all.stdout.split('\n').filter(l => l !== '')).to.deep.equal(['a', 'item', ...keys])

    const some = await runCli(cleanup, [...api(p1), 'keys', '--prefix', 'item/', '--limit', '3'])
    expect(some.code, some.stderr).to.equal(0)
    expect(some.stdout).to.equal('item/0000\nitem/0001\nitem/0002\n')

    const json = await runCli(cleanup, [...api(p0), 'keys', '--prefix', 'item/', '--limit', '2', '--json'])
    expect(json.code, json.stderr).to.equal(0)
    expect(json.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as unknown)).to.deep.equal([{ key: 'item/0000', siblings: 1 }, { key: 'item/0001', siblings: 1 }])

    const none = await runCli(cleanup, [...api(p0), 'keys', '--prefix', 'nothing/'])
    expect(none.code).to.equal(0)
    expect(none.stdout).to.equal('')

    for (const bad of [['--limit', '0'], ['--limit', 'ten'], ['--prefix', 'p'.repeat(1025)]]) {
      const res = await runCli(cleanup, [...api(p0), 'keys', ...bad])
      expect(res.code, `${bad.join(' ')}: ${res.stderr}`).to.equal(EXIT.badInput)
    }
    expect((await runCli(cleanup, [...api(p0), 'keys', '--prefix', 'p'.repeat(1025)])).stderr).to.match(/the prefix is 1025 bytes: at most 1024/)
  })
})
