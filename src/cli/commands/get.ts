import { EXIT } from '../../errors.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore get`. */
export interface GetCommandOptions {
  n?: number
  r?: number
  resolve?: 'lww'
}

/**
 * `p2pstore get KEY`: one value prints raw (byte-exact, no newline added); several concurrent
 * values print as numbered siblings with the context and how to resolve them, and exit 4.
 */
export async function getCommand (ctx: CommandContext, key: string, opts: GetCommandOptions): Promise<number> {
  const client = await ctx.client()
  const result = await client.get(key, { n: opts.n, r: opts.r, resolve: opts.resolve, signal: ctx.signal })
  const siblings = result.siblings
  ctx.out.result(result, () => {
    if (siblings.length === 1 && siblings[0] != null) {
      ctx.out.raw(decode(siblings[0].value, siblings[0].encoding))
      return
    }
    ctx.out.line(`${key} has ${siblings.length} siblings (concurrent values):`)
    siblings.forEach((s, i) => {
      ctx.out.line(`--- sibling ${i + 1} of ${siblings.length}, written ${new Date(s.timestamp).toISOString()}${s.encoding === 'base64' ? ', binary (base64)' : ''}`)
      ctx.out.line(s.value)
    })
    ctx.out.line('---')
    ctx.out.line(`context: ${result.context}`)
    ctx.out.info(`resolve: p2pstore put ${quote(key)} --context ${result.context} VALUE   (or read with --resolve lww)`)
  })
  return siblings.length > 1 ? EXIT.siblings : EXIT.ok
}

function decode (value: string, encoding: 'utf8' | 'base64'): Uint8Array {
  return encoding === 'base64' ? Buffer.from(value, 'base64') : new TextEncoder().encode(value)
}

function quote (key: string): string {
  return /^[\w./:@-]+$/.test(key) ? key : `'${key.replace(/'/g, "'\\''")}'`
}
