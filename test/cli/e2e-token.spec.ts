import fs from 'node:fs/promises'
import path from 'node:path'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'
import type { CliRun } from '../utils/cli-process.ts'

/** a daemon with its API on every interface (beyond loopback) and libp2p on loopback */
const beyondLoopback = (dataDir: string, ...extra: string[]): string[] =>
  ['--data', dataDir, 'daemon', '--api-host', '0.0.0.0', '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--open', '--json', ...extra]

/** the ready line's API URL, reached over 127.0.0.1 */
async function ready (daemon: CliRun): Promise<{ url: string, apiAuth: string }> {
  const info = JSON.parse(await daemon.waitForLine(/"event":"ready"/)) as { api: string, apiAuth: string }
  return { url: `http://127.0.0.1:${new URL(info.api).port}`, apiAuth: info.apiAuth }
}

async function status (url: string, secret?: string): Promise<number> {
  const res = await fetch(`${url}/v1/status`, { headers: secret == null ? {} : { authorization: `Bearer ${secret}` } })
  await res.arrayBuffer()
  return res.status
}

describe('cli end to end: API tokens on a daemon beyond loopback', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('refuses to start without a token, naming `token create --role admin` and --insecure', async () => {
    const dataDir = path.join(await cleanup.tempDir(), 'data')
    const res = await runCli(cleanup, beyondLoopback(dataDir).filter(a => a !== '--json'))
    expect(res.code, res.stderr).to.equal(EXIT.badInput)
    expect(res.stderr).to.include('token create --role admin').and.include('--insecure').and.include('0.0.0.0')
    // nothing was left behind for the CLI to find
    await expect(fs.access(path.join(dataDir, 'api'))).to.be.rejected
  })

  it('starts open with --insecure and says so loudly', async () => {
    const dataDir = path.join(await cleanup.tempDir(), 'data')
    const daemon = startCli(cleanup, beyondLoopback(dataDir, '--insecure'))
    const { url, apiAuth } = await ready(daemon)
    expect(apiAuth).to.equal('open')
    expect(daemon.stderr()).to.match(/WARNING: --insecure/)
    expect(await status(url)).to.equal(200)
  })

  it('demands a token once one exists, and refuses a token revoked while it runs at the next request', async () => {
    const dataDir = path.join(await cleanup.tempDir(), 'data')
    const created = await runCli(cleanup, ['--data', dataDir, 'token', 'create', '--role', 'read', '--json'])
    expect(created.code, created.stderr).to.equal(0)
    const { id, secret } = JSON.parse(created.stdout) as { id: string, secret: string }

    const daemon = startCli(cleanup, beyondLoopback(dataDir))
    const { url, apiAuth } = await ready(daemon)
    expect(apiAuth).to.equal('tokens')
    expect(await status(url)).to.equal(401)
    expect(await status(url, secret)).to.equal(200)
    const put = await fetch(`${url}/v1/kv/k`, { method: 'PUT', body: 'v', headers: { authorization: `Bearer ${secret}` } })
    expect(put.status).to.equal(403)
    expect(await put.json()).to.include({ error: 'ForbiddenError' })

    const revoked = await runCli(cleanup, ['--data', dataDir, 'token', 'revoke', id])
    expect(revoked.code, revoked.stderr).to.equal(0)
    expect(await status(url, secret)).to.equal(401)
  })

  it('keeps a legacy <datadir>/api-token working as the admin token "legacy", sent by the CLI', async () => {
    const dataDir = path.join(await cleanup.tempDir(), 'data')
    await fs.mkdir(dataDir, { mode: 0o700 })
    await fs.writeFile(path.join(dataDir, 'api-token'), 'an-old-bare-token-from-before-roles\n', { mode: 0o600 })
    const daemon = startCli(cleanup, beyondLoopback(dataDir))
    const { url } = await ready(daemon)
    expect(await status(url)).to.equal(401)
    const cli = await runCli(cleanup, ['--data', dataDir, '--api', url, 'status', '--json'])
    expect(cli.code, cli.stderr).to.equal(0)
    const listed = await runCli(cleanup, ['--data', dataDir, 'token', 'list', '--json'])
    const tokens = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    expect(tokens).to.have.length(1)
    expect(tokens[0]).to.include({ id: 'legacy', role: 'admin', state: 'active' })
  })

  it('--init-token creates an admin token and saves it where the CLI reads it', async () => {
    const dataDir = path.join(await cleanup.tempDir(), 'data')
    const daemon = startCli(cleanup, beyondLoopback(dataDir, '--init-token'))
    const { url } = await ready(daemon)
    const secret = (await fs.readFile(path.join(dataDir, 'api-token'), 'utf8')).trim()
    expect(secret).to.match(/^p2ps_/)
    expect(await status(url)).to.equal(401)
    expect(await status(url, secret)).to.equal(200)
    const cli = await runCli(cleanup, ['--data', dataDir, '--api', url, 'status', '--json'])
    expect(cli.code, cli.stderr).to.equal(0)
  })
})
