import { UnsupportedOperationError } from '@libp2p/interface'
import { MAX_SCAN_PAGE } from '../../constants.ts'
import { EXIT } from '../../errors.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore keys`. */
export interface KeysCommandOptions {
  /** only keys starting with this text */
  prefix?: string
  /** stop after this many keys. @default every key */
  limit?: number
  /** keys per request to the daemon (1 to 1000). @default 1000, or `limit` when smaller */
  page?: number
}

/**
 * `p2pstore keys [--prefix P] [--limit N]`: the network's keys in bytewise order, one a line,
 * printed as each page arrives (the CLI pages through `GET /v1/kv` with the cursor the daemon
 * hands back, so nothing is held but one page). A key that is not UTF-8 prints as `base64:…`.
 * `--json` prints one JSON object a line (`{ key, encoding?, siblings }`). Bad input exits 2.
 */
export async function keysCommand (ctx: CommandContext, opts: KeysCommandOptions): Promise<number> {
  const client = await ctx.client()
  const list = client.keys
  if (list == null) throw new UnsupportedOperationError('this client cannot list keys')
  const page = Math.min(opts.page ?? MAX_SCAN_PAGE, opts.limit ?? MAX_SCAN_PAGE)
  let left = opts.limit ?? Infinity
  let cursor: string | undefined
  let unreachable = new Set<string>()
  while (left > 0) {
    let answer
    try {
      answer = await list.call(client, { prefix: opts.prefix, limit: Math.min(page, left), cursor, signal: ctx.signal })
    } catch (err) {
      // an older daemon has no such route
      const e = err as Error
      if (e.name === 'NotFoundError' && e.message.startsWith('no such endpoint')) {
        throw Object.assign(new UnsupportedOperationError(`this daemon does not serve GET /v1/kv (an older p2pstore): upgrade it to list keys (${e.message})`), { cause: err })
      }
      throw err
    }
    for (const key of answer.keys) {
      if (ctx.out.json) ctx.out.data(key)
      else ctx.out.line(key.encoding === 'base64' ? `base64:${key.key}` : key.key)
    }
    left -= answer.keys.length
    unreachable = new Set([...unreachable, ...answer.unreachable])
    if (answer.next == null) break
    cursor = answer.next
  }
  if (unreachable.size > 0) ctx.out.info(`(${unreachable.size} peer${unreachable.size === 1 ? '' : 's'} did not answer; every key with a copy on another peer is listed)`)
  return EXIT.ok
}
