import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { parseExposition, valueOf } from './exposition.ts'

interface TestnetJson {
  peers: Array<{ index: number, peerId: string, api: string }>
}

describe('metrics and traces end to end (daemons of `p2pstore testnet`)', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('every daemon serves GET /metrics; put and get --trace print a timeline on stderr and the value on stdout', async () => {
    const dir = await cleanup.tempDir()
    const testnet = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--json'])
    const ready = JSON.parse(await testnet.waitForLine(/^\{/, 120_000)) as TestnetJson
    const [first, second] = ready.peers
    if (first == null || second == null) throw new Error('no peers')

    const put = await runCli(cleanup, ['--api', first.api, 'put', 'e2e-traced', 'hello', '--trace'])
    expect(put.code, put.stderr).to.equal(0)
    expect(put.stdout).to.match(/^stored e2e-traced/)
    expect(put.stderr).to.match(/Tracing request on coordinator /)
    expect(put.stderr).to.match(/\| quorum +\| 2 of 2 acks/)

    const get = await runCli(cleanup, ['--api', second.api, 'get', 'e2e-traced', '--trace'])
    expect(get.code, get.stderr).to.equal(0)
    // stdout stays the value, byte for byte
    expect(get.stdout).to.equal('hello')
    expect(get.stderr).to.match(/\| preference \| home replica 1, alive/)
    expect(get.stderr).to.match(/\| send +\| read/)
    expect(get.stderr).to.match(/\| answer +\| answered with 1 version/)

    // a not-found read traced: the trace comes with the error
    const missing = await runCli(cleanup, ['--api', second.api, 'get', 'e2e-missing', '--trace'])
    expect(missing.code).to.equal(3)
    expect(missing.stderr).to.match(/Tracing request on coordinator /)

    // --json puts the trace in the JSON result
    const json = await runCli(cleanup, ['--api', second.api, 'get', 'e2e-traced', '--trace', '--json'])
    expect(json.code, json.stderr).to.equal(0)
    expect((JSON.parse(json.stdout) as { trace?: { events: unknown[] } }).trace?.events.length).to.be.greaterThan(0)

    const scrape = async (api: string): Promise<{ status: number, type: string, body: string }> => {
      const res = await fetch(`${api}/metrics`)
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
    }
    for (const peer of ready.peers) {
      const res = await scrape(peer.api)
      expect(res.status).to.equal(200)
      expect(res.type).to.match(/^text\/plain; version=0\.0\.4/)
      const families = parseExposition(res.body)
      expect(valueOf(families, 'p2pstore_build_info')).to.equal(1)
      expect(families.has('libp2p_connection_manager_connections')).to.equal(true)
    }
    await eventually(async () => {
      const families = parseExposition((await scrape(first.api)).body)
      return valueOf(families, 'p2pstore_requests_total', { op: 'put', outcome: 'ok' }) === 1
    }, 'the put counted on the first daemon', 30_000)
    const secondFamilies = parseExposition((await scrape(second.api)).body)
    expect(valueOf(secondFamilies, 'p2pstore_requests_total', { op: 'get', outcome: 'ok' })).to.equal(2)
    expect(valueOf(secondFamilies, 'p2pstore_requests_total', { op: 'get', outcome: 'not_found' })).to.equal(1)
    expect(valueOf(secondFamilies, 'p2pstore_requests_total', { op: 'put', outcome: 'ok' })).to.equal(0)

    testnet.child.kill('SIGTERM')
    expect(await testnet.exited).to.equal(0)
  })
})
