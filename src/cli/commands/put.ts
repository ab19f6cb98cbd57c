import type { ClientWriteOptions } from '../../client/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore put` and `p2pstore delete`. */
export interface WriteCommandOptions {
  context?: string
  n?: number
  w?: number
  strict?: boolean
}

/**
 * `p2pstore put KEY [VALUE]`: stores VALUE, or standard input when VALUE is omitted (binary-safe).
 * Prints the new context, which the next write of the key can pass with --context.
 */
export async function putCommand (ctx: CommandContext, key: string, value: string | undefined, opts: WriteCommandOptions, stdin: () => Promise<Uint8Array>): Promise<number> {
  const bytes = value == null ? await stdin() : new TextEncoder().encode(value)
  const client = await ctx.client()
  const result = await client.put(key, bytes, writeOptions(ctx, opts))
  ctx.out.result(result, () => {
    ctx.out.line(`stored ${key} (${bytes.byteLength} bytes, ${result.acks} copies acknowledged)`)
    ctx.out.line(`context: ${result.context}`)
  })
  return 0
}

/** `p2pstore delete KEY`: writes a tombstone; with --context it supersedes exactly what was read. */
export async function deleteCommand (ctx: CommandContext, key: string, opts: WriteCommandOptions): Promise<number> {
  const client = await ctx.client()
  const result = await client.delete(key, writeOptions(ctx, opts))
  ctx.out.result(result, () => {
    ctx.out.line(`deleted ${key} (${result.acks} copies acknowledged)`)
    ctx.out.line(`context: ${result.context}`)
  })
  return 0
}

function writeOptions (ctx: CommandContext, opts: WriteCommandOptions): ClientWriteOptions {
  return { context: opts.context, n: opts.n, w: opts.w, strict: opts.strict, signal: ctx.signal }
}
