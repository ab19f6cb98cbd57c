import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RULES = path.join(ROOT, 'bootstrap/prometheus/p2pstore-alerts.yml')
const RULE_TESTS = path.join(ROOT, 'bootstrap/prometheus/p2pstore-alerts.test.yml')
const enc = new TextEncoder()

/** Runs promtool (Debian's `prometheus` package) with `input` on stdin; resolves with its exit code and output. */
async function promtool (args: string[], input?: string): Promise<{ code: number, output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => chunks.push(d))
    child.stderr.on('data', (d: Buffer) => chunks.push(d))
    child.once('error', err => { reject(new Error(`cannot run promtool (apt-get install prometheus): ${err.message}`)) })
    child.once('exit', code => { resolve({ code: code ?? -1, output: Buffer.concat(chunks).toString('utf8') }) })
    child.stdin.end(input)
  })
}

describe('metrics: promtool checks the alert rules and a real peer\'s /metrics', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('the alert rules are valid', async () => {
    const res = await promtool(['check', 'rules', RULES])
    expect(res.code, res.output).to.equal(0)
    expect(res.output).to.match(/SUCCESS: \d+ rules found/)
  })

  it('the alert rules fire as their unit tests say (single copy after 2 min, split views after 5)', async () => {
    const res = await promtool(['test', 'rules', RULE_TESTS])
    expect(res.code, res.output).to.equal(0)
  })

  it('a peer\'s /metrics passes promtool check metrics, libp2p\'s families included', async () => {
    const net = await createTestnet(3, { onTeardown: fn => { cleanup.add(fn) } })
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('no peers')
    await a.put('linted', enc.encode('v'))
    await b.get('linted')
    await a.get('missing').catch(() => {})
    const text = await a.metrics.registry.metrics()
    const res = await promtool(['check', 'metrics'], text)
    expect(res.output).to.equal('')
    expect(res.code).to.equal(0)
  })
})
