import fs from 'node:fs/promises'
import path from 'node:path'
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand, tokenRotateCommand } from '../../../src/cli/commands/token.ts'
import { main } from '../../../src/cli/index.ts'
import { Output } from '../../../src/cli/output.ts'
import { DataDir } from '../../../src/datadir/index.ts'
import { EXIT } from '../../../src/errors.ts'
import { TokenStore } from '../../../src/tokens/index.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'
import type { CommandContext } from '../../../src/cli/context.ts'
import type { IssuedToken, TokenView } from '../../../src/tokens/index.ts'

const T0 = Date.parse('2026-03-01T12:00:00.000Z')
const hour = 3_600_000

interface Captured { code: number, stdout: string, stderr: string }

/** runs main() on a data dir with captured output */
async function run (dataDir: string, args: string[]): Promise<Captured> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'p2pstore', '--data', dataDir, ...args], {
    env: {},
    streams: { stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } } }
  })
  return { code, stdout, stderr }
}

/** a handler context on a data dir, with captured output */
function context (dataDir: string, json = false): { ctx: CommandContext, stdout(): string } {
  let stdout = ''
  const out = new Output({ stdout: { write: (s: string | Uint8Array) => { stdout += String(s) } }, stderr: { write: () => {} } }, json)
  const ctx: CommandContext = { out, dataDir, signal: new AbortController().signal, client: async () => { throw new Error('token commands never talk to a daemon') } }
  return { ctx, stdout: () => stdout }
}

describe('cli: p2pstore token', () => {
  const cleanup = useCleanup()
  let dataDir: string

  beforeEach(async () => {
    dataDir = path.join(await cleanup.tempDir(), 'data')
  })

  it('create prints the secret once, stores only its digest (mode 0600), and list never shows it', async () => {
    const created = await run(dataDir, ['token', 'create', '--role', 'write', '--prefix', 'app/', '--expires-in', '30d', '--json'])
    expect(created.code, created.stderr).to.equal(0)
    const issued = JSON.parse(created.stdout) as TokenView & { secret: string }
    expect(issued).to.include({ role: 'write', prefix: 'app/', state: 'active' })
    expect(issued.secret).to.match(/^p2ps_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
    expect(Date.parse(issued.expiresAt ?? '') - Date.parse(issued.createdAt)).to.equal(30 * 24 * hour)
    expect(issued).to.not.have.property('hash')

    const file = path.join(dataDir, 'api-tokens.json')
    const stored = await fs.readFile(file, 'utf8')
    expect(stored).to.not.include(issued.secret)
    expect(stored).to.not.include(issued.secret.slice(-43))
    expect((await fs.stat(file)).mode & 0o777).to.equal(0o600)

    const human = await run(dataDir, ['token', 'list'])
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.include(issued.id).and.include('write').and.include('app/').and.include('active')
    const listed = await run(dataDir, ['token', 'list', '--json'])
    expect(listed.stdout).to.not.include(issued.secret.slice(-43))
    expect(listed.stdout).to.not.match(/hash|p2ps_/)
    expect(JSON.parse(listed.stdout)).to.have.length(1)
  })

  it('create --save writes the secret to <datadir>/api-token (mode 0600) for the CLI', async () => {
    const created = await run(dataDir, ['token', 'create', '--role', 'admin', '--save', '--json'])
    expect(created.code, created.stderr).to.equal(0)
    const { secret } = JSON.parse(created.stdout) as { secret: string }
    const file = path.join(dataDir, 'api-token')
    expect((await fs.readFile(file, 'utf8')).trim()).to.equal(secret)
    expect((await fs.stat(file)).mode & 0o777).to.equal(0o600)
  })

  it('refuses bad roles, durations and prefixes with exit 2', async () => {
    for (const args of [
      ['token', 'create', '--role', 'root'],
      ['token', 'create'],
      ['token', 'create', '--role', 'read', '--expires-in', '30 days'],
      ['token', 'create', '--role', 'admin', '--prefix', 'app/'],
      ['token', 'create', '--role', 'metrics', '--prefix', 'app/'],
      ['token', 'rotate', 'abc', '--grace', 'soon']
    ]) {
      const res = await run(dataDir, args)
      expect(res.code, args.join(' ')).to.equal(EXIT.badInput)
    }
    expect(await new TokenStore(new DataDir(dataDir)).list()).to.deep.equal([])
  })

  it('revoke marks the token revoked (idempotent); an unknown id exits 3', async () => {
    const { secret, id } = JSON.parse((await run(dataDir, ['token', 'create', '--role', 'read', '--json'])).stdout) as { secret: string, id: string }
    const revoked = await run(dataDir, ['token', 'revoke', id])
    expect(revoked.code, revoked.stderr).to.equal(0)
    expect(revoked.stdout).to.include(`revoked token ${id}`)
    expect((await run(dataDir, ['token', 'revoke', id])).code).to.equal(0)
    const store = new TokenStore(new DataDir(dataDir))
    expect(() => store.verify(secret)).to.throw().with.property('name', 'UnauthorizedError')
    expect(store.list()[0]).to.include({ id, state: 'revoked' })
    expect((await run(dataDir, ['token', 'revoke', '000000000000'])).code).to.equal(EXIT.notFound)
  })

  it('rotate --grace keeps the old secret working until the grace ends (injected clock), the new one after', async () => {
    let now = T0
    const clock = (): number => now
    const { ctx, stdout } = context(dataDir, true)
    expect(await tokenCreateCommand(ctx, { role: 'write', prefix: 'app/' }, clock)).to.equal(0)
    const first = JSON.parse(stdout()) as IssuedToken['token'] & { secret: string }

    now = T0 + hour
    const rotating = context(dataDir, true)
    expect(await tokenRotateCommand(rotating.ctx, first.id, { grace: 24 * hour }, clock)).to.equal(0)
    const second = JSON.parse(rotating.stdout()) as TokenView & { secret: string }
    expect(second).to.include({ id: first.id, role: 'write', prefix: 'app/', graceUntil: new Date(T0 + 25 * hour).toISOString() })
    expect(second.secret).to.not.equal(first.secret)

    const store = new TokenStore(new DataDir(dataDir), { now: clock })
    now = T0 + 25 * hour - 1
    expect(store.verify(first.secret).id).to.equal(first.id)
    expect(store.verify(second.secret).id).to.equal(first.id)
    now = T0 + 25 * hour
    expect(() => store.verify(first.secret)).to.throw(/old secret stopped working/)
    expect(store.verify(second.secret).id).to.equal(first.id)

    const listing = context(dataDir, true)
    await tokenListCommand(listing.ctx, clock)
    expect(JSON.parse(listing.stdout())[0]).to.not.have.property('graceUntil')
  })

  it('rotate without --grace refuses the old secret at once; a revoked token cannot be rotated', async () => {
    const { ctx, stdout } = context(dataDir, true)
    await tokenCreateCommand(ctx, { role: 'read' })
    const first = JSON.parse(stdout()) as { id: string, secret: string }
    const rotating = context(dataDir, true)
    await tokenRotateCommand(rotating.ctx, first.id, {})
    const store = new TokenStore(new DataDir(dataDir))
    expect(() => store.verify(first.secret)).to.throw().with.property('name', 'UnauthorizedError')
    await tokenRevokeCommand(context(dataDir).ctx, first.id)
    await expect(tokenRotateCommand(context(dataDir).ctx, first.id, {})).to.be.rejectedWith(/is revoked/)
  })
})
