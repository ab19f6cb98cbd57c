import { EXIT } from '../../errors.ts'
import { withTrace } from '../trace.ts'
import type { GetJson } from '../../api/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore get`. */
export interface GetCommandOptions {
  n?: number
  r?: number
  resolve?: 'lww'
  /** print what the request did, as a timeline on stderr */
  trace?: boolean
}

/**
 * `p2pstore get KEY`: one value prints raw (byte-exact, no newline added); several concurrent
 * values print as numbered siblings with the context and how to resolve them, and exit 4 (a delete
 * concurrent with a value is one of them, marked deleted). A key that is not found exits 3; with
 * --json it still prints `{ key, context, siblings: [] }`, so a script can write after a delete.
 */
export async function getCommand (ctx: CommandContext, key: string, opts: GetCommandOptions): Promise<number> {
  const client = await ctx.client()
  let result: GetJson
  try {
    result = await withTrace(ctx, opts.trace, async () => client.get(key, { n: opts.n, r: opts.r, resolve: opts.resolve, ...(opts.trace === true ? { trace: true } : {}), signal: ctx.signal }))
  } catch (err) {
    const context = (err as { context?: unknown }).context
    if (ctx.out.json && (err as Error).name === 'NotFoundError' && typeof context === 'string') {
      // the context of what was deleted lets the next put supersede the delete
      const body: GetJson = { key, context, siblings: [] }
      ctx.out.data(body)
      return ctx.out.error(err)
    }
    throw err
  }
  const siblings = result.siblings
  if (result.replicas != null && result.n != null && result.replicas < result.n) {
    ctx.out.info(`(${result.replies ?? result.replicas} of ${result.n} replicas answered: degraded, only ${result.replicas} peer${result.replicas === 1 ? '' : 's'} in this network)`)
  }
  ctx.out.result(result, () => {
    if (siblings.length === 1 && siblings[0] != null) {
      ctx.out.raw(decode(siblings[0].value, siblings[0].encoding))
      return
    }
    ctx.out.line(`${key} has ${siblings.length} siblings (concurrent values):`)
    siblings.forEach((s, i) => {
      if (s.deleted === true) {
        ctx.out.line(`--- sibling ${i + 1} of ${siblings.length}, deleted ${new Date(s.timestamp).toISOString()} (a delete concurrent with the other values)`)
        return
      }
      ctx.out.line(`--- sibling ${i + 1} of ${siblings.length}, written ${new Date(s.timestamp).toISOString()}${s.encoding === 'base64' ? ', binary (base64)' : ''}`)
      ctx.out.line(s.value)
    })
    ctx.out.line('---')
    ctx.out.line(`context: ${result.context}`)
    ctx.out.info(`resolve: npx p2pstore put ${quote(key)} --context ${result.context} VALUE   (or delete with --context, or read with --resolve lww)`)
  })
  return siblings.length > 1 ? EXIT.siblings : EXIT.ok
}

function decode (value: string, encoding: 'utf8' | 'base64'): Uint8Array {
  return encoding === 'base64' ? Buffer.from(value, 'base64') : new TextEncoder().encode(value)
}

function quote (key: string): string {
  return /^[\w./:@-]+$/.test(key) ? key : `'${key.replace(/'/g, "'\\''")}'`
}
