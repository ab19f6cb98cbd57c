/**
 * The HTTP API as a fuzz target: a request (method, path with the key, query, headers, body) is
 * written as text — `METHOD /path?query`, header lines, a blank line, the body — so that the
 * mutator works on every part of it; the request is injected into the real API server (Fastify
 * `inject()`, routes, schemas, the context-token decoder) in front of a stand-in peer. The oracle:
 * the answer is never a 500 (an error the API did not turn into its typed answer).
 *
 * What light-my-request itself refuses (a header value Node's HTTP parser would never deliver) is
 * no finding: a real server drops such a request before any route sees it.
 */

import fc from 'fast-check'
import { createApiServer } from '../../src/api/index.ts'
import { emptyContext } from '../../src/clock/index.ts'
import { CONTEXT_HEADER } from '../../src/constants.ts'
import { encodeContextToken } from '../../src/protocol/index.ts'
import { contextArb } from './arbitraries.ts'
import type { FuzzTarget } from './targets.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { CausalContext } from '../../src/clock/index.ts'
import type { InjectOptions } from 'fastify'

const CONTEXT: CausalContext = { vv: new Map([['aa01', 3]]), cloud: [] }
const WRITTEN = { context: CONTEXT, acks: 2, replicas: 3, n: 3, coordinator: '12D3KooWFuzz' }

/** A peer that answers every kv call at once, with two siblings (so reads take the multipart path). */
const peer: ApiPeer = {
  status: async () => { throw new Error('not served in the fuzz target') },
  peers: async () => [],
  ring: async () => [],
  get: async () => ({
    siblings: [
      { dot: { actor: 'aa01', counter: 3 }, value: Uint8Array.of(0, 0xff, 0x0d, 0x0a), timestamp: 1_700_000_000_000, deleted: false },
      { dot: { actor: 'aa01', counter: 2 }, value: new TextEncoder().encode('héllo'), timestamp: 1_700_000_000_001, deleted: false }
    ],
    versions: [],
    context: CONTEXT,
    replies: 2,
    replicas: 3,
    n: 3
  }),
  put: async () => WRITTEN,
  delete: async () => WRITTEN,
  locate: async () => { throw new Error('not served in the fuzz target') }
}

const app = createApiServer({ peer })

const METHODS = ['GET', 'PUT', 'DELETE', 'POST', 'HEAD', 'OPTIONS', 'PATCH'] as const
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** A request's text (see the top of this file). */
function requestText (method: string, url: string, headers: Array<[string, string]>, body: Uint8Array): Uint8Array {
  const head = [`${method} ${url}`, ...headers.map(([name, value]) => `${name}: ${value}`)].join('\n')
  return Buffer.concat([Buffer.from(`${head}\n\n`, 'latin1'), body])
}

/** The request a text describes, as far as it is one. */
function parseRequest (input: Uint8Array): InjectOptions {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const split = bytes.indexOf('\n\n')
  const head = (split < 0 ? bytes : bytes.subarray(0, split)).toString('latin1').split('\n')
  const body = split < 0 ? undefined : bytes.subarray(split + 2)
  const [method = 'GET', ...rest] = (head[0] ?? '').split(' ')
  const url = rest.join(' ')
  const headers: Record<string, string> = {}
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (colon > 0 && HEADER_NAME.test(name) && HEADER_VALUE.test(value)) headers[name.toLowerCase()] = value
  }
  return {
    method: (METHODS as readonly string[]).includes(method) ? method as InjectOptions['method'] : 'GET',
    url: url.startsWith('/') ? url : `/${url}`,
    headers,
    ...(body == null || body.byteLength === 0 ? {} : { payload: body })
  }
}

async function inject (input: Uint8Array): Promise<void> {
  const options = parseRequest(input)
  let status: number
  let payload: string
  try {
    const res = await app.inject(options)
    status = res.statusCode
    payload = res.payload
  } catch {
    // light-my-request refused the request itself (see the top of this file)
    return
  }
  if (status === 500) throw new Error(`${options.method ?? 'GET'} ${options.url as string} answered 500: ${payload.slice(0, 200)}`)
}

const keyArb = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), fc.constant('a'.repeat(1100)))
const queryArb = fc.dictionary(
  fc.constantFrom('n', 'r', 'w', 'strict', 'blind', 'resolve', 'x'),
  fc.constantFrom('', '1', '2', '3', '0', '17', 'true', 'false', 'lww', '-1', '1e3', '%FF', 'a'),
  { maxKeys: 3 }
).map(q => Object.entries(q).map(([k, v]) => `${k}=${v}`).join('&'))

const kvSeeds: fc.Arbitrary<Uint8Array> = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PUT', 'HEAD'),
  key: keyArb,
  query: queryArb,
  context: fc.option(contextArb, { nil: undefined }),
  otherKey: fc.boolean(),
  accept: fc.constantFrom(undefined, 'application/json', '*/*', 'multipart/mixed'),
  contentType: fc.constantFrom(undefined, 'application/octet-stream', 'application/json', 'text/plain', 'multipart/form-data'),
  body: fc.uint8Array({ maxLength: 40 }),
  // conditional writes (issue #20)
  condition: fc.constantFrom(undefined, 'if-none-match: *', 'if-none-match: x', 'if-match', 'if-match: "garbage"', 'if-match: ')
}).map(r => {
  const headers: Array<[string, string]> = []
  if (r.condition === 'if-match') headers.push(['if-match', `"${encodeContextToken(r.context ?? emptyContext(), new TextEncoder().encode(r.key))}"`])
  else if (r.condition != null) headers.push(r.condition.split(': ') as [string, string])
  if (r.context != null) headers.push([CONTEXT_HEADER, encodeContextToken(r.context ?? emptyContext(), new TextEncoder().encode(r.otherKey ? 'other' : r.key))])
  if (r.accept != null) headers.push(['accept', r.accept])
  if (r.contentType != null) headers.push(['content-type', r.contentType])
  const path = `/v1/kv/${encodeURIComponent(r.key)}${r.query === '' ? '' : `?${r.query}`}`
  return requestText(r.method, path, headers, r.method === 'PUT' ? r.body : new Uint8Array(0))
})

/** `POST /v1/batch` bodies: items of every op with fields right, wrong and missing (issue #20). */
const batchSeeds: fc.Arbitrary<Uint8Array> = fc.array(fc.record({
  op: fc.constantFrom('get', 'put', 'delete', 'nope', 7),
  key: fc.oneof(keyArb, fc.constant(3), fc.constant('')),
  value: fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constant(1)), { nil: undefined }),
  encoding: fc.constantFrom(undefined, 'utf8', 'base64', 'hex'),
  ifNoneMatch: fc.constantFrom(undefined, true, false, 'yes'),
  ifMatch: fc.option(contextArb.map(c => encodeContextToken(c, new TextEncoder().encode('k'))), { nil: undefined }),
  n: fc.constantFrom(undefined, 1, 3, 0, 17, 2.5, '2')
}), { maxLength: 5 }).chain(items => fc.constantFrom(
  JSON.stringify({ items }),
  JSON.stringify(items),
  JSON.stringify({ items: items.length === 0 ? null : items[0] }),
  `{"items": ${JSON.stringify(items).slice(0, -1)}`
)).map(body => requestText('POST', '/v1/batch', [['content-type', 'application/json']], new TextEncoder().encode(body)))

const seeds: fc.Arbitrary<Uint8Array> = fc.oneof({ arbitrary: kvSeeds, weight: 3 }, { arbitrary: batchSeeds, weight: 1 })

/** The API's inputs: keys, query parameters, headers and bodies of `/v1/kv/:key` and `/v1/batch`. */
export const API_TARGET: FuzzTarget = {
  name: 'api-kv',
  seeds,
  decode: inject,
  allowed: []
}
