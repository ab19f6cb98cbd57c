import path from 'node:path'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'
import type { LimitsJson } from '../../src/limits/index.ts'

describe('cli: p2pstore limits against a running daemon', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('lists the limits the daemon runs with, its settings applied, and the worst-case memory', async () => {
    const data = ['--data', path.join(await cleanup.tempDir(), 'lone')]
    const daemon = startCli(cleanup, [...data, 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--max-connections', '12', '--json'])
    await daemon.waitForLine(/"event":"ready"/)

    const json = await runCli(cleanup, [...data, 'limits', '--json'])
    expect(json.code, json.stderr).to.equal(0)
    const report = JSON.parse(json.stdout) as LimitsJson
    expect(report.limits.find(l => l.name === 'connections in total')).to.include({ value: 12, source: 'maxConnections' })
    expect(report.worstCaseBytes).to.be.greaterThan(0)

    const human = await runCli(cleanup, [...data, 'limits'])
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout.split('\n')[0]).to.match(/^SCOPE\s+LIMIT\s+VALUE\s+SET BY\s+WORST-CASE MEMORY$/)
    expect(human.stdout).to.match(/connections in total\s+12\s+maxConnections/)
    expect(human.stdout + human.stderr).to.match(/worst case with every limit reached at once: [\d.]+ [KMGT]iB/)

    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).to.equal(0)
  })
})
