import { withTrace } from '../trace.ts'
import type { WriteJson } from '../../api/index.ts'
import type { ClientWriteOptions } from '../../client/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore put` and `p2pstore delete`. */
export interface WriteCommandOptions {
  context?: string
  n?: number
  w?: number
  strict?: boolean
  /** delete only: read quorum of the read before a delete without --context */
  r?: number
  /** delete only: a tombstone without reading first */
  blind?: boolean
  /** print what the request did, as a timeline on stderr */
  trace?: boolean
  /** put only: create only if the key has no live value */
  ifNoneMatch?: boolean
  /** write only if the key holds exactly what this context token saw */
  ifMatch?: string
}

/**
 * `p2pstore put KEY [VALUE]`: stores VALUE, or standard input when VALUE is omitted (binary-safe).
 * Prints the new context, which the next write of the key can pass with --context.
 */
export async function putCommand (ctx: CommandContext, key: string, value: string | undefined, opts: WriteCommandOptions, stdin: () => Promise<Uint8Array>): Promise<number> {
  const bytes = value == null ? await stdin() : new TextEncoder().encode(value)
  const client = await ctx.client()
  const result = await withTrace(ctx, opts.trace, async () => client.put(key, bytes, writeOptions(ctx, opts)))
  ctx.out.result(result, () => {
    ctx.out.line(`stored ${key} (${bytes.byteLength} byte${bytes.byteLength === 1 ? '' : 's'}, ${copies(result)})`)
    ctx.out.line(`context: ${result.context}`)
  })
  return 0
}

/**
 * `p2pstore delete KEY`: deletes what is there — it reads the key first (with --r) and writes a
 * tombstone with that read's context; with --context it supersedes exactly what that earlier read
 * saw; with --blind it writes a tombstone without reading, which supersedes nothing.
 */
export async function deleteCommand (ctx: CommandContext, key: string, opts: WriteCommandOptions): Promise<number> {
  const client = await ctx.client()
  const result = await withTrace(ctx, opts.trace, async () => client.delete(key, { ...writeOptions(ctx, opts), r: opts.r, blind: opts.blind }))
  ctx.out.result(result, () => {
    ctx.out.line(`deleted ${key} (${opts.blind === true ? 'blind tombstone, ' : ''}${copies(result)})`)
    ctx.out.line(`context: ${result.context}`)
  })
  return 0
}

/** `2 of 3 copies acknowledged`, or `1 of 3 copies: degraded, only 1 peer in this network` */
function copies (result: WriteJson): string {
  const n = result.n
  if (n == null) return `${result.acks} copies acknowledged`
  const replicas = result.replicas ?? n
  if (replicas >= n) return `${result.acks} of ${n} copies acknowledged`
  return `${result.acks} of ${n} copies: degraded, only ${replicas} peer${replicas === 1 ? '' : 's'} in this network`
}

function writeOptions (ctx: CommandContext, opts: WriteCommandOptions): ClientWriteOptions {
  return {
    context: opts.context,
    n: opts.n,
    w: opts.w,
    strict: opts.strict,
    ...(opts.trace === true ? { trace: true } : {}),
    ...(opts.ifNoneMatch === true ? { ifNoneMatch: true } : {}),
    ...(opts.ifMatch == null ? {} : { ifMatch: opts.ifMatch }),
    signal: ctx.signal
  }
}
