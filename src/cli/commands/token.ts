import { DATADIR_FILES } from '../../constants.ts'
import { DataDir } from '../../datadir/index.ts'
import { TokenStore } from '../../tokens/index.ts'
import type { IssuedToken, Role, TokenView } from '../../tokens/index.ts'
import type { CommandContext } from '../context.ts'

/** Flags of `p2pstore token create`. */
export interface TokenCreateOptions {
  role: Role
  prefix?: string
  /** ms */
  expiresIn?: number
  save?: boolean
}

/** Flags of `p2pstore token rotate`. */
export interface TokenRotateOptions {
  /** ms */
  grace?: number
  save?: boolean
}

/** The clock of a token command; tests pass their own. */
export type Clock = () => number

/**
 * `p2pstore token create --role R [--prefix P] [--expires-in D] [--save]`: mints a token in
 * `<datadir>/api-tokens.json` and prints its secret, the only time it is shown.
 */
export async function tokenCreateCommand (ctx: CommandContext, opts: TokenCreateOptions, now?: Clock): Promise<number> {
  const { dir, store } = await open(ctx, now)
  const issued = await store.create({ role: opts.role, prefix: opts.prefix, expiresIn: opts.expiresIn })
  await printIssued(ctx, dir, issued, opts.save === true, `created token ${issued.token.id}`)
  return 0
}

/** `p2pstore token list`: every token with its role, prefix, expiry and state; never a secret. */
export async function tokenListCommand (ctx: CommandContext, now?: Clock): Promise<number> {
  const { store } = await open(ctx, now)
  const tokens = store.list()
  ctx.out.result(tokens, () => {
    if (tokens.length === 0) {
      ctx.out.info(`no API tokens in ${store.file}; create one with \`npx p2pstore token create --role admin --save\``)
      return
    }
    ctx.out.columns(['id', 'role', 'prefix', 'created', 'expires', 'state'], tokens.map(t => [
      t.id, t.role, t.prefix ?? '*', t.createdAt, t.expiresAt ?? 'never', describeState(t)
    ]))
  })
  return 0
}

/** `p2pstore token revoke ID`: a running daemon refuses the token from its next request on. */
export async function tokenRevokeCommand (ctx: CommandContext, id: string, now?: Clock): Promise<number> {
  const { store } = await open(ctx, now)
  const token = await store.revoke(id)
  ctx.out.result(token, () => { ctx.out.line(`revoked token ${token.id} (${token.revokedAt ?? ''})`) })
  return 0
}

/**
 * `p2pstore token rotate ID [--grace D] [--save]`: a new secret for the same token (role, prefix
 * and expiry kept), printed once; the old secret keeps working for the grace period.
 */
export async function tokenRotateCommand (ctx: CommandContext, id: string, opts: TokenRotateOptions, now?: Clock): Promise<number> {
  const { dir, store } = await open(ctx, now)
  const issued = await store.rotate(id, opts.grace ?? 0)
  const old = issued.token.graceUntil == null ? 'the old secret is refused from now on' : `the old secret works until ${issued.token.graceUntil}`
  await printIssued(ctx, dir, issued, opts.save === true, `rotated token ${issued.token.id}; ${old}`)
  return 0
}

async function open (ctx: CommandContext, now?: Clock): Promise<{ dir: DataDir, store: TokenStore }> {
  const dir = new DataDir(ctx.dataDir)
  await dir.open()
  return { dir, store: new TokenStore(dir, { now }) }
}

async function printIssued (ctx: CommandContext, dir: DataDir, issued: IssuedToken, save: boolean, headline: string): Promise<void> {
  if (save) await dir.writeText(DATADIR_FILES.apiToken, `${issued.secret}\n`, 0o600)
  const { token, secret } = issued
  ctx.out.result({ ...token, secret, ...(save ? { savedTo: dir.file(DATADIR_FILES.apiToken) } : {}) }, () => {
    ctx.out.info(headline)
    ctx.out.table([
      ['id', token.id],
      ['role', token.role],
      ['prefix', token.prefix ?? '* (every key)'],
      ['expires', token.expiresAt ?? 'never'],
      ['secret', secret]
    ])
    ctx.out.info('the secret is shown only now and stored hashed: keep it (send it as `Authorization: Bearer <secret>`, or `p2pstore --token <secret>`)')
    if (save) ctx.out.info(`saved to ${dir.file(DATADIR_FILES.apiToken)}: the CLI on this machine sends it`)
  })
}

function describeState (token: TokenView): string {
  if (token.state === 'revoked') return `revoked ${token.revokedAt ?? ''}`
  if (token.state === 'expired') return 'expired'
  return token.graceUntil == null ? 'active' : `active (old secret until ${token.graceUntil})`
}
