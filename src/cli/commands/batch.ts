import { InvalidParametersError } from '@libp2p/interface'
import { MAX_BATCH_BYTES, MAX_BATCH_ITEMS } from '../../constants.ts'
import { BatchTooLargeError, EXIT } from '../../errors.ts'
import type { BatchItem, BatchItemJson, BatchJson, GetJson, WriteJson } from '../../api/index.ts'
import type { CommandContext } from '../context.ts'

/** Quorum flags of `get K1 K2 …` and `put --batch`: they apply to every item that sets none. */
export interface BatchFlags {
  n?: number
  r?: number
  w?: number
  strict?: boolean
  resolve?: 'lww'
}

/**
 * `p2pstore get K1 K2 …`: one batch request for all the keys. Prints each key's value (or its
 * siblings, or why it failed) under a `--- KEY` line; `--json` prints the batch answer. Exits 0
 * when every key has one value, 4 when some have siblings and none failed, 12 when any failed
 * (not found included).
 */
export async function getManyCommand (ctx: CommandContext, keys: string[], flags: BatchFlags): Promise<number> {
  const items: BatchItem[] = keys.map(key => ({ op: 'get', key, ...defined({ n: flags.n, r: flags.r, resolve: flags.resolve }) }))
  checkCount(items.length)
  const client = await ctx.client()
  const answer = await client.batch(items, { signal: ctx.signal })
  ctx.out.result(answer, () => {
    for (const item of answer.items) {
      const result = item.result as GetJson | undefined
      if (item.error != null) {
        ctx.out.line(`--- ${item.key ?? '?'}: ${item.status === 404 ? 'not found' : `failed (${item.error.error}: ${item.error.message})`}`)
        continue
      }
      if (result == null) continue
      const live = result.siblings
      if (live.length === 1 && live[0] != null) {
        ctx.out.line(`--- ${result.key}`)
        ctx.out.line(live[0].encoding === 'base64' ? `${live[0].value} (base64)` : live[0].value)
        continue
      }
      ctx.out.line(`--- ${result.key}: ${live.length} siblings (context ${result.context})`)
      live.forEach((s, i) => { ctx.out.line(`  [${i + 1}] ${s.deleted === true ? '(deleted)' : s.encoding === 'base64' ? `${s.value} (base64)` : s.value}`) })
    }
    summary(ctx, answer, 'read')
  })
  return exitOf(answer)
}

/**
 * `p2pstore put --batch < FILE`: one batch request for every line of standard input, a JSON
 * object per line: `{"key": "k", "value": "text"}` plus any of `encoding` ("base64"), `context`,
 * `ifNoneMatch` (true), `ifMatch` (a context token), `n`, `w`, `strict`, or `"op": "delete"`.
 * Blank lines are skipped. A line that is not such an object refuses the whole batch (exit 2,
 * nothing sent), as does more than MAX_BATCH_ITEMS lines or MAX_BATCH_BYTES. Prints each item's
 * outcome and a summary; exits 0 when every item was written, 12 when any failed.
 */
export async function putBatchCommand (ctx: CommandContext, flags: BatchFlags, stdin: () => Promise<Uint8Array>): Promise<number> {
  const input = await stdin()
  if (input.byteLength > MAX_BATCH_BYTES) throw new BatchTooLargeError(`the batch is ${input.byteLength} bytes, more than the limit of ${MAX_BATCH_BYTES}; split it`)
  const items = parseJsonLines(new TextDecoder().decode(input), flags)
  const client = await ctx.client()
  const answer = await client.batch(items, { signal: ctx.signal })
  ctx.out.result(answer, () => {
    for (const item of answer.items) {
      const result = item.result as WriteJson | undefined
      if (item.error != null) ctx.out.line(`${item.key ?? '?'}: failed (${item.status} ${item.error.error}: ${item.error.message})`)
      else if (result != null) ctx.out.line(`${item.op === 'delete' ? 'deleted' : 'stored'} ${result.key} (${result.acks} of ${result.n ?? result.replicas ?? result.acks} copies acknowledged), context ${result.context}`)
    }
    summary(ctx, answer, 'written')
  })
  return exitOf(answer)
}

/** The items of a JSON-lines batch, each line checked for shape here (values are checked by the daemon). */
export function parseJsonLines (text: string, flags: BatchFlags = {}): BatchItem[] {
  const items: BatchItem[] = []
  const lines = text.split('\n')
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (err) {
      throw new InvalidParametersError(`line ${i + 1} of the batch is not JSON (${(err as Error).message}); each line is an object such as {"key": "k1", "value": "v1"}`)
    }
    if (typeof parsed !== 'object' || parsed == null || Array.isArray(parsed)) {
      throw new InvalidParametersError(`line ${i + 1} of the batch is not a JSON object; each line is an object such as {"key": "k1", "value": "v1"}`)
    }
    const item = parsed as Record<string, unknown>
    const op = item.op ?? 'put'
    if (op !== 'put' && op !== 'delete') throw new InvalidParametersError(`line ${i + 1}: op ${JSON.stringify(op)}: put --batch writes ("put" or "delete"); read keys with \`p2pstore get K1 K2 …\``)
    if (typeof item.key !== 'string' || item.key === '') throw new InvalidParametersError(`line ${i + 1}: "key" must be a non-empty string`)
    items.push({ ...defined({ n: flags.n, w: flags.w, strict: flags.strict }), ...item, op } as BatchItem)
    checkCount(items.length)
  }
  if (items.length === 0) throw new InvalidParametersError('the batch is empty: pipe one JSON object per line, such as {"key": "k1", "value": "v1"}')
  return items
}

function checkCount (count: number): void {
  if (count > MAX_BATCH_ITEMS) throw new BatchTooLargeError(`the batch has more than ${MAX_BATCH_ITEMS} items; split it into several batches`)
}

function summary (ctx: CommandContext, answer: BatchJson, what: string): void {
  ctx.out.info(`${answer.ok} of ${answer.items.length} ${what}${answer.failed > 0 ? `, ${answer.failed} failed` : ''}`)
}

function exitOf (answer: BatchJson): number {
  if (answer.failed > 0) return EXIT.batchPartial
  return answer.items.some((i: BatchItemJson) => i.status === 300) ? EXIT.siblings : EXIT.ok
}

/** `obj` without its undefined fields (so they do not override an item's own). */
function defined<T extends Record<string, unknown>> (obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v != null)) as Partial<T>
}
