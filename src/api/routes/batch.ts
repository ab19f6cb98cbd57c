import { InvalidParametersError, NotFoundError } from '@libp2p/interface'
import { setMaxListeners } from 'main-event'
import { BATCH_CONCURRENCY, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_N } from '../../constants.ts'
import { BatchTooLargeError, describeError, ForbiddenError } from '../../errors.ts'
import { encodeContextToken } from '../../protocol/index.ts'
import { grantOf, requireKeyInPrefix } from '../auth.ts'
import { errorJson } from '../edges.ts'
import { requestSignal } from '../request-signal.ts'
import { answeredSiblings, siblingJson, writeCondition } from './kv.ts'
import type { GetJson, WriteJson } from './kv.ts'
import type { Grant } from '../auth.ts'
import type { ErrorJson } from '../edges.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance } from 'fastify'

/** One item of a batch, as sent (`POST /v1/batch` body, one line of `p2pstore put --batch`). */
export interface BatchItem {
  op: 'get' | 'put' | 'delete'
  key: string
  /** put: the value, UTF-8 text unless `encoding` is base64 */
  value?: string
  /** @default 'utf8' */
  encoding?: 'utf8' | 'base64'
  /** put/delete: a context token (as `X-P2PStore-Context`) */
  context?: string
  /** put: create only if the key has no live value (as `If-None-Match: *`) */
  ifNoneMatch?: boolean
  /** put/delete: write only if the key holds exactly what this context token saw (as `If-Match`) */
  ifMatch?: string
  n?: number
  r?: number
  w?: number
  strict?: boolean
  /** delete: a tombstone without reading first */
  blind?: boolean
  /** get: `lww` */
  resolve?: 'lww'
}

/** One item's outcome: the status the single request would have answered, and its body. */
export interface BatchItemJson {
  op: string
  /** the key as sent (absent when the item had none) */
  key?: string
  /** 200, 300 (siblings), or the error's status: 404, 412, 400, 403, 503… */
  status: number
  /** a get's or write's answer, as `GET`/`PUT`/`DELETE /v1/kv/:key` with JSON */
  result?: GetJson | WriteJson
  error?: ErrorJson
  /** a get of a deleted key: the context of the delete (a 404 with a context header) */
  context?: string
}

/** The answer to a batch: every item's outcome, in the order sent. */
export interface BatchJson {
  items: BatchItemJson[]
  /** items answered 2xx or 300 */
  ok: number
  /** items that failed */
  failed: number
}

const OPS = new Set(['get', 'put', 'delete'])
const FIELDS: Record<BatchItem['op'], ReadonlySet<string>> = {
  get: new Set(['op', 'key', 'n', 'r', 'resolve']),
  put: new Set(['op', 'key', 'value', 'encoding', 'context', 'ifNoneMatch', 'ifMatch', 'n', 'w', 'strict']),
  delete: new Set(['op', 'key', 'context', 'ifMatch', 'n', 'r', 'w', 'strict', 'blind'])
}

/**
 * `POST /v1/batch` (issue #20): many gets, puts and deletes in one request, `{ "items": [...] }`
 * of up to MAX_BATCH_ITEMS items and MAX_BATCH_BYTES. Each item has its own outcome (its status
 * and answer, or its error), in the order sent; the batch answers 200 once every item has one.
 * Items run concurrently (BATCH_CONCURRENCY at once), except that items of the same key run one
 * after another in the order sent. A body that is not such JSON is refused whole (400), and so is
 * one with too many items or bytes (413 `BatchTooLargeError`); a bad item fails alone (400).
 * With API tokens, each item needs what its single request would: writes need `write`, and every
 * key the token's prefix.
 */
export function batchRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/batch', { bodyLimit: MAX_BATCH_BYTES }, async (request, reply) => {
    const raw = parseBatch(request.body)
    const grant = grantOf(request)
    // every item's request listens to it
    const signal = requestSignal(reply)
    setMaxListeners(Infinity, signal)
    const items: BatchItemJson[] = raw.map(item => ({ op: typeof (item as BatchItem).op === 'string' ? (item as BatchItem).op : '?', ...(typeof (item as BatchItem).key === 'string' ? { key: (item as BatchItem).key } : {}), status: 0 }))
    // one chain per key, so that items of one key run in the order sent
    const chains = new Map<string, number[]>()
    raw.forEach((item, i) => {
      const key = typeof (item as BatchItem).key === 'string' ? `k:${(item as BatchItem).key}` : `#${i}`
      const chain = chains.get(key) ?? []
      chain.push(i)
      chains.set(key, chain)
    })
    const queue = [...chains.values()]
    const worker = async (): Promise<void> => {
      for (let chain = queue.shift(); chain != null; chain = queue.shift()) {
        for (const i of chain) {
          const out = items[i]
          if (out != null) Object.assign(out, await runItem(ctx, raw[i], grant, signal))
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, queue.length) }, worker))
    const ok = items.filter(i => i.error == null).length
    const body: BatchJson = { items, ok, failed: items.length - ok }
    return reply.status(200).send(body)
  })
}

/** The batch body: `{ "items": [ … ] }` of at most MAX_BATCH_ITEMS objects. */
function parseBatch (body: unknown): unknown[] {
  const text = body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : ''
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new InvalidParametersError(`the batch is not JSON (${(err as Error).message}); send {"items": [{"op": "get", "key": "k1"}, …]}`)
  }
  const items = (parsed as { items?: unknown } | null)?.items
  if (typeof parsed !== 'object' || parsed == null || !Array.isArray(items)) {
    throw new InvalidParametersError('the batch must be an object with an "items" array: {"items": [{"op": "get", "key": "k1"}, …]}')
  }
  if (items.length === 0) throw new InvalidParametersError('the batch has no items')
  if (items.length > MAX_BATCH_ITEMS) throw new BatchTooLargeError(`the batch has ${items.length} items, more than the limit of ${MAX_BATCH_ITEMS}; split it`)
  return items
}

/** Runs one item: its outcome, or its error as the single request would have answered it. */
async function runItem (ctx: ApiContext, raw: unknown, grant: Grant | undefined, signal: AbortSignal): Promise<Omit<BatchItemJson, 'op' | 'key'>> {
  try {
    const item = validItem(raw)
    authorize(item, grant)
    const key = new TextEncoder().encode(item.key)
    if (item.op === 'get') {
      const result = await ctx.peer.get(key, { n: item.n, r: item.r, signal })
      const context = encodeContextToken(result.context, key)
      const siblings = answeredSiblings(result, item.resolve)
      if (siblings.length === 0) {
        return { status: 404, error: errorJson(new NotFoundError(`no value for key "${item.key}"`)), context }
      }
      const json: GetJson = { key: item.key, context, siblings: siblings.map(siblingJson), replies: result.replies, replicas: result.replicas, n: result.n }
      return { status: siblings.length > 1 ? 300 : 200, result: json }
    }
    const deleted = item.op === 'delete'
    const { context, condition } = writeCondition(key, item.context, item.ifNoneMatch === true ? '*' : undefined, item.ifMatch, deleted)
    const options = { context, condition, n: item.n, w: item.w, strict: item.strict, signal }
    const result = deleted
      ? await ctx.peer.delete(key, { ...options, r: item.r, blind: item.blind })
      : await ctx.peer.put(key, itemValue(item), options)
    const json: WriteJson = { key: item.key, context: encodeContextToken(result.context, key), acks: result.acks, replicas: result.replicas, n: result.n, coordinator: result.coordinator }
    return { status: 200, result: json }
  } catch (err) {
    // a programmer error is not an item's outcome
    if (err instanceof TypeError || err instanceof RangeError) throw err
    return { status: describeError(err).httpStatus, error: errorJson(err) }
  }
}

/** An item checked field by field: a bad one fails alone, with a message naming the field. */
function validItem (raw: unknown): BatchItem {
  if (typeof raw !== 'object' || raw == null || Array.isArray(raw)) throw new InvalidParametersError('an item must be an object such as {"op": "get", "key": "k1"}')
  const item = raw as Record<string, unknown>
  if (typeof item.op !== 'string' || !OPS.has(item.op)) throw new InvalidParametersError(`op ${JSON.stringify(item.op)}: expected "get", "put" or "delete"`)
  const op = item.op as BatchItem['op']
  const unknown = Object.keys(item).filter(field => !FIELDS[op].has(field))
  if (unknown.length > 0) throw new InvalidParametersError(`a ${op} item has no field ${unknown.map(f => JSON.stringify(f)).join(', ')} (allowed: ${[...FIELDS[op]].join(', ')})`)
  if (typeof item.key !== 'string' || item.key === '') throw new InvalidParametersError('key: expected a non-empty string')
  for (const name of ['n', 'r', 'w'] as const) {
    const value = item[name]
    if (value != null && (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_N)) throw new InvalidParametersError(`${name}=${JSON.stringify(value)}: expected a whole number from 1 to ${MAX_N}`)
  }
  for (const name of ['context', 'ifMatch'] as const) {
    if (item[name] != null && typeof item[name] !== 'string') throw new InvalidParametersError(`${name}: expected a context token string`)
  }
  for (const name of ['strict', 'blind', 'ifNoneMatch'] as const) {
    if (item[name] != null && typeof item[name] !== 'boolean') throw new InvalidParametersError(`${name}: expected true or false`)
  }
  if (item.resolve != null && item.resolve !== 'lww') throw new InvalidParametersError(`resolve=${JSON.stringify(item.resolve)} is not a read policy (only "lww")`)
  if (op === 'put') {
    if (typeof item.value !== 'string') throw new InvalidParametersError('value: a put needs its value as a string (text, or base64 with "encoding": "base64")')
    if (item.encoding != null && item.encoding !== 'utf8' && item.encoding !== 'base64') throw new InvalidParametersError(`encoding=${JSON.stringify(item.encoding)}: expected "utf8" or "base64"`)
  }
  return item as unknown as BatchItem
}

function itemValue (item: BatchItem): Uint8Array {
  const value = item.value ?? ''
  if (item.encoding !== 'base64') return new TextEncoder().encode(value)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw new InvalidParametersError('value: not valid base64')
  return Buffer.from(value, 'base64')
}

/** An item the request's token does not allow fails alone with 403, before any lookup. */
function authorize (item: BatchItem, grant: Grant | undefined): void {
  if (grant == null) return
  const needs = item.op === 'get' ? 'read' : 'write'
  if (!grant.permissions.has(needs)) throw new ForbiddenError(`token ${grant.id} may not ${item.op}: that needs the ${needs === 'write' ? 'write or admin' : 'read, write or admin'} role`)
  requireKeyInPrefix(grant, item.key)
}
