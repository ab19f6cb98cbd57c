import { randomBytes } from 'node:crypto'
import { InvalidParametersError, NotFoundError } from '@libp2p/interface'
import { emptyContext, resolveLww } from '../../clock/index.ts'
import { CONTEXT_HEADER, MAX_N, TRACE_GRACE, TRACE_HEADER } from '../../constants.ts'
import { RequestTrace } from '../../metrics/index.ts'
import { decodeContextToken, encodeContextToken } from '../../protocol/index.ts'
import { requestSignal } from '../request-signal.ts'
import { invalidInput, wholeNumberPattern } from '../validation.ts'
import type { CausalContext, Sibling, WriteCondition } from '../../clock/index.ts'
import type { TraceJson } from '../../metrics/index.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** One sibling in the JSON form of a read. */
export interface SiblingJson {
  /** the value: text when it is valid UTF-8, else base64 */
  value: string
  encoding: 'utf8' | 'base64'
  /** when the coordinator wrote it (ms since the epoch) */
  timestamp: number
  /** a delete concurrent with the other siblings (its value is empty); absent on values */
  deleted?: true
}

/** The JSON form of a read (`Accept: application/json`), also what `p2pstore get --json` prints. */
export interface GetJson {
  key: string
  context: string
  siblings: SiblingJson[]
  /** replicas that answered (≥ r) */
  replies?: number
  /** replicas asked: n, or fewer when the network has fewer live peers (a degraded read) */
  replicas?: number
  /** the replicas the key should have */
  n?: number
  /** what the request did (`?trace=1`) */
  trace?: TraceJson
}

/** The answer to a put or delete. */
export interface WriteJson {
  key: string
  context: string
  /** durable copies acknowledged (≥ w) */
  acks: number
  /** copies the write went to: n, or fewer when the network has fewer live peers (degraded) */
  replicas?: number
  /** the replicas the key should have */
  n?: number
  coordinator: string
  /** what the request did (`?trace=1`) */
  trace?: TraceJson
}

interface KvParams { key: string }
interface KvQuery { n?: string, r?: string, w?: string, resolve?: string, strict?: string, blind?: string, trace?: string }

/** `n`, `r`, `w`: a whole number from 1 to MAX_N; empty means "not given". */
const QUORUM = { type: 'string', pattern: wholeNumberPattern(MAX_N) } as const
/** `strict`, `blind`: a flag; empty means "not given". */
const FLAG = { type: 'string', enum: ['', 'true', '1', 'false', '0'] } as const

/** The query of each method, fields in the order they are checked. */
const GET_QUERY = { type: 'object', properties: { n: QUORUM, r: QUORUM, resolve: { type: 'string', enum: ['lww'] }, trace: FLAG } } as const
const PUT_QUERY = { type: 'object', properties: { n: QUORUM, w: QUORUM, strict: FLAG, trace: FLAG } } as const
const DELETE_QUERY = { type: 'object', properties: { n: QUORUM, w: QUORUM, strict: FLAG, r: QUORUM, blind: FLAG, trace: FLAG } } as const
const PARAMS = { type: 'object', required: ['key'], properties: { key: { type: 'string' } } } as const
/** A write's headers: at most one context token (Node joins repeated headers it knows, not ours). */
const WRITE_HEADERS = {
  type: 'object',
  properties: {
    [CONTEXT_HEADER]: { type: 'string' },
    // conditional writes (issue #20): only `*` for If-None-Match; If-Match carries a context token
    'if-none-match': { type: 'string', enum: ['*'] },
    'if-match': { type: 'string' }
  }
} as const

/** What a bad query value says: the value as sent, and what is expected. */
const quorumMessage = (name: string) => (value: unknown) => `${name}=${String(value)}: expected a whole number from 1 to ${MAX_N}`
const flagMessage = (name: string) => (value: unknown) => `${name}=${String(value)}: expected true or false`
const queryErrors = invalidInput({
  n: quorumMessage('n'),
  r: quorumMessage('r'),
  w: quorumMessage('w'),
  resolve: value => `resolve=${String(value)} is not a read policy (only "lww")`,
  strict: flagMessage('strict'),
  blind: flagMessage('blind'),
  trace: flagMessage('trace'),
  [CONTEXT_HEADER]: value => `send one ${CONTEXT_HEADER} header, not ${Array.isArray(value) ? value.length : String(value)}`,
  'if-none-match': value => `If-None-Match: ${String(value)}: only "If-None-Match: *" (create only if the key has no value) is supported`,
  'if-match': value => `send one If-Match header with one context token, not ${String(value)}`
})

/**
 * `/v1/kv/:key` — GET, PUT and DELETE of raw bytes. The key is the URL path segment (percent-encode
 * `/` and other reserved characters); its UTF-8 bytes are the stored key. The context travels in
 * the `X-P2PStore-Context` header both ways. Several siblings answer 300 Multiple Choices: a
 * `multipart/mixed` body with one part per sibling (as Riak does), or JSON with
 * `Accept: application/json`; a delete concurrent with values is one of them, marked deleted.
 * DELETE without a context header reads first (`?r=`) and deletes what it read; `?blind=true`
 * writes a tombstone that supersedes nothing.
 */
export function kvRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: KvParams, Querystring: KvQuery }>('/v1/kv/:key', { schema: { params: PARAMS, querystring: GET_QUERY }, schemaErrorFormatter: queryErrors }, async (request, reply) => {
    const key = keyBytes(request.params.key)
    const n = intParam(request.query.n)
    const r = intParam(request.query.r)
    const resolve = request.query.resolve

    const trace = traceOf(ctx, request.query.trace)
    const result = await runTraced(trace, reply, async () => ctx.peer.get(key, { n, r, signal: requestSignal(reply), trace }),
      res => `answered with ${res.siblings.length} version${res.siblings.length === 1 ? '' : 's'} from ${res.replies} of ${res.replicas} replicas`)
    const context = encodeContextToken(result.context, key)
    reply.header(CONTEXT_HEADER, context)
    const siblings = answeredSiblings(result, resolve)
    const counts = { replies: result.replies, replicas: result.replicas, n: result.n, ...(trace == null ? {} : { trace: trace.toJSON() }) }
    if (siblings.length === 0) throw new NotFoundError(`no value for key "${request.params.key}"`)

    const status = siblings.length > 1 ? 300 : 200
    if (wantsJson(request)) {
      const body: GetJson = { key: request.params.key, context, siblings: siblings.map(siblingJson), ...counts }
      return reply.status(status).send(body)
    }
    if (siblings.length === 1) {
      return reply.status(200).type('application/octet-stream').send(Buffer.from(siblings[0]?.value ?? new Uint8Array()))
    }
    const boundary = randomBytes(12).toString('hex')
    return reply.status(300).type(`multipart/mixed; boundary=${boundary}`).send(multipart(siblings, boundary))
  })

  const write = async (request: FastifyRequest<{ Params: KvParams, Querystring: KvQuery }>, reply: FastifyReply, deleted: boolean): Promise<WriteJson> => {
    const key = keyBytes(request.params.key)
    // one string at most: the schema refused a repeated header
    const token = request.headers[CONTEXT_HEADER] as string | undefined
    const { context, condition } = writeCondition(key, token, request.headers['if-none-match'] as string | undefined, request.headers['if-match'] as string | undefined, deleted)
    const trace = traceOf(ctx, request.query.trace)
    const options = { context, condition, n: intParam(request.query.n), w: intParam(request.query.w), strict: boolParam(request.query.strict), signal: requestSignal(reply), trace }
    const value = deleted ? undefined : bodyBytes(request.body)
    const result = await runTraced(trace, reply, async () => value == null
      ? ctx.peer.delete(key, { ...options, r: intParam(request.query.r), blind: boolParam(request.query.blind) })
      : ctx.peer.put(key, value, { ...options, context: context ?? emptyContext() }),
    res => `answered after ${res.acks} acks of ${res.replicas} replicas`)
    const newContext = encodeContextToken(result.context, key)
    reply.header(CONTEXT_HEADER, newContext)
    const json: WriteJson = { key: request.params.key, context: newContext, acks: result.acks, replicas: result.replicas, n: result.n, coordinator: result.coordinator }
    if (trace != null) json.trace = trace.toJSON()
    return json
  }

  app.put<{ Params: KvParams, Querystring: KvQuery }>('/v1/kv/:key', { schema: { params: PARAMS, querystring: PUT_QUERY, headers: WRITE_HEADERS }, schemaErrorFormatter: queryErrors }, async (request, reply) => write(request, reply, false))
  app.delete<{ Params: KvParams, Querystring: KvQuery }>('/v1/kv/:key', { schema: { params: PARAMS, querystring: DELETE_QUERY, headers: WRITE_HEADERS }, schemaErrorFormatter: queryErrors }, async (request, reply) => write(request, reply, true))
}

/**
 * The siblings a read answers: every live one, or with `resolve=lww` the latest version alone —
 * none when that is a delete (a newer delete beats an older concurrent value).
 */
export function answeredSiblings (result: { siblings: Sibling[], versions: Sibling[] }, resolve: string | undefined): Sibling[] {
  if (resolve !== 'lww') return result.siblings
  const winner = resolveLww(result.versions)
  return winner == null || winner.deleted ? [] : [winner]
}

/**
 * A write's context and condition from its headers: `X-P2PStore-Context` alone (none: a blind put;
 * a delete reads first), `If-None-Match: *` (create only; no context), or `If-Match: <token>` (the
 * token as `get` gave it, bare or as an entity tag in double quotes; replaces the context header).
 */
export function writeCondition (key: Uint8Array, token: string | undefined, ifNoneMatch: string | undefined, ifMatch: string | undefined, deleted: boolean): { context?: CausalContext, condition?: WriteCondition } {
  const given = (value: string | undefined): value is string => value != null && value !== ''
  if (given(ifNoneMatch) && given(ifMatch)) throw new InvalidParametersError('send If-None-Match or If-Match, not both')
  if (given(ifNoneMatch)) {
    if (deleted) throw new InvalidParametersError('If-None-Match: * is for creating a key; a delete takes If-Match')
    if (given(token)) throw new InvalidParametersError(`If-None-Match: * creates a key that has no value, so it takes no ${CONTEXT_HEADER}`)
    return { condition: 'if-none-match' }
  }
  if (given(ifMatch)) {
    const bare = /^"(.*)"$/.exec(ifMatch)?.[1] ?? ifMatch
    if (given(token) && token !== bare) throw new InvalidParametersError(`If-Match carries the context: send it alone, or the same token as ${CONTEXT_HEADER}`)
    return { context: decodeContextToken(bare, key), condition: 'if-match' }
  }
  return { context: given(token) ? decodeContextToken(token, key) : undefined }
}

/** A trace recorder when the query asks for one (`?trace=1`). */
function traceOf (ctx: ApiContext, flag: string | undefined): RequestTrace | undefined {
  return boolParam(flag) === true ? new RequestTrace(ctx.peer.peerId?.toString() ?? 'this peer') : undefined
}

/**
 * Runs a request with its trace, if any: marks the answer, waits a short grace for late replies
 * and read repairs, and sends the trace in the `x-p2pstore-trace` header (base64url JSON), on an
 * error answer too.
 */
async function runTraced<T> (trace: RequestTrace | undefined, reply: FastifyReply, run: () => Promise<T>, describe: (value: T) => string): Promise<T> {
  if (trace == null) return run()
  try {
    const value = await run()
    trace.answer(describe(value))
    return value
  } catch (err) {
    const e = err as Error
    trace.answer(`failed: ${e.name}: ${e.message}`)
    throw err
  } finally {
    await trace.settle(TRACE_GRACE)
    reply.header(TRACE_HEADER, Buffer.from(JSON.stringify(trace.toJSON())).toString('base64url'))
  }
}

function keyBytes (key: string): Uint8Array {
  return new TextEncoder().encode(key)
}

function bodyBytes (body: unknown): Uint8Array {
  if (body == null) return new Uint8Array(0)
  if (body instanceof Uint8Array) return body
  throw new InvalidParametersError('the request body must be the raw value bytes')
}

/** A quorum value the schema let through: absent or empty is "not given". */
function intParam (value: string | undefined): number | undefined {
  return value == null || value === '' ? undefined : Number(value)
}

/** A flag the schema let through: absent or empty is "not given". */
function boolParam (value: string | undefined): boolean | undefined {
  return value == null || value === '' ? undefined : value === 'true' || value === '1'
}

function wantsJson (request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/json')
}

// ignoreBOM: a leading byte-order mark is part of the value and must survive the round trip
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A sibling as JSON: text when the bytes are valid UTF-8, base64 otherwise. */
export function siblingJson (sibling: Sibling): SiblingJson {
  const deleted = sibling.deleted ? { deleted: true as const } : {}
  try {
    return { value: utf8.decode(sibling.value), encoding: 'utf8', timestamp: sibling.timestamp, ...deleted }
  } catch {
    return { value: Buffer.from(sibling.value).toString('base64'), encoding: 'base64', timestamp: sibling.timestamp, ...deleted }
  }
}

function multipart (siblings: Sibling[], boundary: string): Buffer {
  const parts: Buffer[] = []
  for (const sibling of siblings) {
    const deleted = sibling.deleted ? 'X-P2PStore-Deleted: true\r\n' : ''
    parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\nX-P2PStore-Timestamp: ${sibling.timestamp}\r\n${deleted}\r\n`))
    parts.push(Buffer.from(sibling.value))
    parts.push(Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(parts)
}
