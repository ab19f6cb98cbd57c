import { InvalidParametersError, UnsupportedOperationError } from '@libp2p/interface'
import { MAX_KEY_BYTES, MAX_SCAN_PAGE } from '../../constants.ts'
import { requestSignal } from '../request-signal.ts'
import { invalidInput } from '../validation.ts'
import type { ApiContext } from '../types.ts'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** One key of a listing page. */
export interface ListedKeyJson {
  /** the key: text when it is valid UTF-8, else base64 */
  key: string
  /** present (`base64`) only for a key that is not valid UTF-8 */
  encoding?: 'base64'
  /** live values under it (more than 1: siblings, resolve them with get and put --context) */
  siblings: number
}

/** The answer of `GET /v1/kv` (what `p2pstore keys --json` prints, one page at a time). */
export interface KeysPageJson {
  keys: ListedKeyJson[]
  /** the cursor of the next page (`?cursor=`); absent on the last page */
  next?: string
  /** peers asked */
  peers: number
  /** peers that did not answer: the listing stays complete with at most n − 1 of them */
  unreachable: string[]
}

interface KeysQuery { prefix?: string, limit?: string, cursor?: string }

/** `limit`: digits only (its range is checked with its own message); empty means "not given". */
const QUERY = {
  type: 'object',
  properties: {
    prefix: { type: 'string' },
    limit: { type: 'string', pattern: '^[0-9]*$' },
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]*$' }
  }
} as const
const limitMessage = (value: unknown): string => `limit=${String(value)}: expected a whole number from 1 to ${MAX_SCAN_PAGE}`
const queryErrors = invalidInput({
  limit: limitMessage,
  cursor: () => 'the cursor is not one this API gave out: pass `next` of the previous page exactly as it came (base64url)',
  prefix: value => Array.isArray(value) ? `send one prefix, not ${value.length}` : `prefix=${String(value)}: expected text (UTF-8, percent-encoded)`
})

/** The version byte that starts every cursor: a cursor of another form is refused, not misread. */
const CURSOR_VERSION = 1

/**
 * `GET /v1/kv?prefix=&limit=&cursor=` — a page of the network's keys in bytewise order of their
 * UTF-8 bytes, each once (see `Peer.list`): at most `limit` (default 100, at most 1000), and
 * `next`, an opaque cursor for the following page, unless this was the last. A key whose merge
 * holds only tombstones is not listed. The prefix is text, percent-encoded as a key is; a token
 * scoped to a prefix may list only under it. Every page is a scatter to every live member, so
 * pages cost what the network holds in the range, not what came before.
 */
export function keysRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: KeysQuery }>('/v1/kv', { schema: { querystring: QUERY }, schemaErrorFormatter: queryErrors }, async (request, reply): Promise<KeysPageJson> => {
    const list = ctx.peer.list
    if (list == null) throw new UnsupportedOperationError('this peer does not list keys')
    const prefix = prefixOf(request)
    const limit = limitOf(request.query.limit)
    const after = request.query.cursor == null || request.query.cursor === '' ? undefined : decodeCursor(request.query.cursor, prefix)
    const page = await list.call(ctx.peer, { prefix, after, limit, signal: requestSignal(reply) })
    return {
      keys: page.keys.map(({ key, state }) => ({ ...keyJson(key), siblings: state.siblings.filter(s => !s.deleted).length })),
      ...(page.next == null ? {} : { next: encodeCursor(page.next) }),
      peers: page.peers,
      unreachable: page.unreachable
    }
  })
}

/** The prefix as bytes, decoded strictly from the raw query: percent-escapes that are not UTF-8 are refused, not replaced. */
export function prefixOf (request: Pick<FastifyRequest, 'url'>): Uint8Array | undefined {
  const query = request.url.split('?')[1] ?? ''
  const raw = query.split('&').filter(part => part.startsWith('prefix=')).map(part => part.slice('prefix='.length))
  if (raw.length > 1) throw new InvalidParametersError(`send one prefix, not ${raw.length}`)
  const value = raw[0]
  if (value == null || value === '') return undefined
  let text: string
  try {
    text = decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    throw new InvalidParametersError(`prefix=${value.slice(0, 60)}: not valid percent-encoded UTF-8`)
  }
  const bytes = new TextEncoder().encode(text)
  if (bytes.byteLength > MAX_KEY_BYTES) throw new InvalidParametersError(`the prefix is ${bytes.byteLength} bytes: at most ${MAX_KEY_BYTES} (a key's length)`)
  return bytes
}

function limitOf (value: string | undefined): number | undefined {
  if (value == null || value === '') return undefined
  const limit = Number(value)
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SCAN_PAGE) throw new InvalidParametersError(limitMessage(value))
  return limit
}

/** A page's last key as an opaque cursor: base64url of a version byte and the key. */
export function encodeCursor (key: Uint8Array): string {
  const bytes = new Uint8Array(1 + key.byteLength)
  bytes[0] = CURSOR_VERSION
  bytes.set(key, 1)
  return Buffer.from(bytes).toString('base64url')
}

/** A cursor back to its key; one that is malformed, of another version, or outside `prefix` is refused. */
export function decodeCursor (cursor: string, prefix: Uint8Array | undefined): Uint8Array {
  const bytes = Buffer.from(cursor, 'base64url')
  const refuse = (why: string): never => {
    throw new InvalidParametersError(`cursor=${cursor.slice(0, 60)}: ${why}; pass \`next\` of the previous page exactly as it came, with the same prefix`)
  }
  if (bytes.toString('base64url') !== cursor) refuse('not base64url')
  if (bytes[0] !== CURSOR_VERSION) refuse('not a cursor of this API')
  const key = Uint8Array.from(bytes.subarray(1))
  if (key.byteLength === 0 || key.byteLength > MAX_KEY_BYTES) refuse(`a cursor holds a key of 1 to ${MAX_KEY_BYTES} bytes`)
  if (prefix != null && (key.byteLength < prefix.byteLength || Buffer.compare(key.subarray(0, prefix.byteLength), prefix) !== 0)) refuse('it belongs to a listing under another prefix')
  return key
}

// ignoreBOM: a leading byte-order mark is part of the key
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function keyJson (key: Uint8Array): { key: string, encoding?: 'base64' } {
  try {
    return { key: utf8.decode(key) }
  } catch {
    return { key: Buffer.from(key).toString('base64'), encoding: 'base64' }
  }
}
