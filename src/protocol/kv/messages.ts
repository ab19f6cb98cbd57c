import { InvalidMessageError } from '@libp2p/interface'
import { MAX_KEY_BYTES, MAX_N, MAX_SCAN_PAGE } from '../../constants.ts'
import { decodeOrThrow } from '../decode.ts'
import { contextFromWire, contextToWire, DEFAULT_KV_LIMITS, siblingSetFromWire, siblingSetToWire } from './codec.ts'
import * as pb from './kv.ts'
import type { KvLimits } from './codec.ts'
import type { CausalContext, SiblingSet, WriteCondition } from '../../clock/index.ts'

/** A client write forwarded to a home replica to coordinate. */
export interface ForwardedPut {
  value: Uint8Array
  deleted: boolean
  /** what the client had seen */
  context: CausalContext
  n: number
  w: number
  /** only home replicas count towards w (no sloppy quorum) */
  strict: boolean
  /** a conditional write (for `if-match`, `context` is the one to match). @default undefined (unconditional) */
  condition?: WriteCondition
}

/** A validated request on `/p2pstore/kv/1.0.0`. */
export type KvRequest =
  | { type: 'read', key: Uint8Array }
  | { type: 'store', key: Uint8Array, state: SiblingSet, hintFor?: string[], condition?: WriteCondition }
  | { type: 'coordinate', key: Uint8Array, put: ForwardedPut }
  | { type: 'purge', key: Uint8Array, state: SiblingSet }
  | { type: 'summary' }
  | { type: 'digests', buckets: number[] }
  | { type: 'scan', scan: ScanRange }

/** Which keys a SCAN asks for: a page of at most `limit`, under `prefix`, after `after`. */
export interface ScanRange {
  /** only keys that start with these bytes; empty = every key */
  prefix: Uint8Array
  /** only keys strictly after this one; absent = from the first */
  after?: Uint8Array
  /** most entries (1 to MAX_SCAN_PAGE) */
  limit: number
  /** answer values too (an export); else every sibling's value is empty */
  values: boolean
}

/** One key of a SCAN answer with the replica's sibling set. */
export interface ScanEntry {
  key: Uint8Array
  state: SiblingSet
}

/** One key in an anti-entropy digest list. */
export interface KeyDigest {
  key: Uint8Array
  hash: Uint8Array
}

/** A validated response. */
export type KvResponse =
  | { status: 'ok', state?: SiblingSet, context?: CausalContext, acks?: number, leaves?: Uint8Array[], digests?: KeyDigest[], entries?: ScanEntry[], more?: boolean }
  | { status: 'not-found' }
  | { status: 'error', errorName: string, errorMessage: string }

/**
 * A hint owner as a STORE request and a stored record carry it: a peer id's text, 1 to 128
 * printable ASCII characters (no space, no control or non-ASCII character that would garble a
 * log line or `p2pstore locate`'s output).
 */
const HINT_OWNER = /^[\x21-\x7e]{1,128}$/

/** Whether `hintFor` is a valid list of hint owners: 1 to `max` of them, each as HINT_OWNER says. */
export function validHintOwners (hintFor: readonly string[], max: number): boolean {
  return hintFor.length >= 1 && hintFor.length <= max && hintFor.every(id => HINT_OWNER.test(id))
}

const CONDITION_TO_WIRE: Record<WriteCondition, pb.Condition> = { 'if-none-match': pb.Condition.IF_NONE_MATCH, 'if-match': pb.Condition.IF_MATCH }

function conditionToWire (condition: WriteCondition | undefined): pb.Condition {
  return condition == null ? pb.Condition.NONE : CONDITION_TO_WIRE[condition]
}

/** A condition off the wire; an unknown value (from a newer or a hostile peer) is refused, never ignored. */
function conditionFromWire (condition: pb.Condition | undefined): WriteCondition | undefined {
  switch (condition) {
    case undefined:
    case pb.Condition.NONE:
      return undefined
    case pb.Condition.IF_NONE_MATCH:
      return 'if-none-match'
    case pb.Condition.IF_MATCH:
      return 'if-match'
    default:
      throw new InvalidMessageError(`unknown write condition ${String(condition)}`)
  }
}

/** Most key digests in one DIGESTS answer (an anti-entropy round asks for a few leaves at a time). */
export const MAX_DIGESTS = 100_000

/** A request as one frame's bytes. */
export function encodeRequest (id: bigint, request: KvRequest): Uint8Array {
  if (request.type === 'summary') {
    return pb.Request.encode({ id, key: new Uint8Array(0), type: pb.Request.Type.SUMMARY, hintFor: [], buckets: [] })
  }
  if (request.type === 'digests') {
    return pb.Request.encode({ id, key: new Uint8Array(0), type: pb.Request.Type.DIGESTS, hintFor: [], buckets: request.buckets })
  }
  if (request.type === 'scan') {
    const scan = request.scan
    return pb.Request.encode({
      id,
      key: new Uint8Array(0),
      type: pb.Request.Type.SCAN,
      hintFor: [],
      buckets: [],
      scan: { prefix: scan.prefix as Uint8Array<ArrayBuffer>, after: (scan.after ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>, limit: scan.limit, values: scan.values }
    })
  }
  const base = { id, key: request.key as Uint8Array<ArrayBuffer>, buckets: [] }
  switch (request.type) {
    case 'read':
      return pb.Request.encode({ ...base, type: pb.Request.Type.READ, hintFor: [] })
    case 'store':
      return pb.Request.encode({ ...base, type: pb.Request.Type.STORE, state: siblingSetToWire(request.state), hintFor: request.hintFor ?? [], condition: conditionToWire(request.condition) })
    case 'purge':
      return pb.Request.encode({ ...base, type: pb.Request.Type.PURGE, state: siblingSetToWire(request.state), hintFor: [] })
    case 'coordinate':
      return pb.Request.encode({
        ...base,
        type: pb.Request.Type.COORDINATE,
        hintFor: [],
        put: {
          value: request.put.value as Uint8Array<ArrayBuffer>,
          deleted: request.put.deleted,
          context: contextToWire(request.put.context),
          n: request.put.n,
          w: request.put.w,
          strict: request.put.strict,
          condition: conditionToWire(request.put.condition)
        }
      })
  }
}

/**
 * Decodes and validates one request frame: key size, type, and every nested state and context
 * within `limits`. Anything malformed raises `InvalidMessageError` (the caller resets the stream).
 */
export function decodeRequest (frame: Parameters<typeof pb.Request.decode>[0], limits: KvLimits = DEFAULT_KV_LIMITS): { id: bigint, request: KvRequest } {
  const raw = decodeOrThrow(() => pb.Request.decode(frame, { limits: { state: { siblings: limits.maxSiblings }, buckets: 256 } }), 'kv request')
  if (raw.type === pb.Request.Type.SUMMARY) return { id: raw.id, request: { type: 'summary' } }
  if (raw.type === pb.Request.Type.DIGESTS) {
    if (raw.buckets.some(b => b > 255)) throw new InvalidMessageError('bucket index out of range (0–255)')
    return { id: raw.id, request: { type: 'digests', buckets: raw.buckets } }
  }
  if (raw.type === pb.Request.Type.SCAN) return { id: raw.id, request: { type: 'scan', scan: scanFromWire(raw.scan) } }
  const key = raw.key
  if (key.byteLength === 0 || key.byteLength > MAX_KEY_BYTES) {
    throw new InvalidMessageError(`key of ${key.byteLength} bytes (1–${MAX_KEY_BYTES} allowed)`)
  }
  switch (raw.type) {
    case pb.Request.Type.READ:
      return { id: raw.id, request: { type: 'read', key } }
    case pb.Request.Type.STORE: {
      if (raw.hintFor.length > 0 && !validHintOwners(raw.hintFor, MAX_N)) {
        throw new InvalidMessageError('malformed hint owners')
      }
      const hintFor = raw.hintFor.length > 0 ? raw.hintFor : undefined
      const condition = conditionFromWire(raw.condition)
      if (condition != null && hintFor != null) throw new InvalidMessageError('a conditional STORE is never a hinted one')
      return { id: raw.id, request: { type: 'store', key, state: siblingSetFromWire(raw.state, limits), hintFor, ...(condition == null ? {} : { condition }) } }
    }
    case pb.Request.Type.PURGE:
      return { id: raw.id, request: { type: 'purge', key, state: siblingSetFromWire(raw.state, limits) } }
    case pb.Request.Type.COORDINATE: {
      const put = raw.put
      if (put == null) throw new InvalidMessageError('COORDINATE without a put')
      if (put.value.byteLength > limits.maxValueBytes) throw new InvalidMessageError(`value of ${put.value.byteLength} bytes (max ${limits.maxValueBytes})`)
      if (put.deleted && put.value.byteLength > 0) throw new InvalidMessageError('a delete carries a value')
      if (put.n < 1 || put.n > MAX_N || put.w < 1 || put.w > put.n) throw new InvalidMessageError(`n=${put.n} w=${put.w} out of range (1 ≤ w ≤ n ≤ ${MAX_N})`)
      const condition = conditionFromWire(put.condition)
      return {
        id: raw.id,
        request: { type: 'coordinate', key, put: { value: put.value, deleted: put.deleted, context: contextFromWire(put.context, limits), n: put.n, w: put.w, strict: put.strict, ...(condition == null ? {} : { condition }) } }
      }
    }
    default:
      throw new InvalidMessageError(`unknown request type ${raw.type}`)
  }
}

/** A response as one frame's bytes. */
export function encodeResponse (id: bigint, response: KvResponse): Uint8Array {
  switch (response.status) {
    case 'ok':
      return pb.Response.encode({
        id,
        status: pb.Response.Status.OK,
        state: response.state == null ? undefined : siblingSetToWire(response.state),
        context: response.context == null ? undefined : contextToWire(response.context),
        acks: response.acks ?? 0,
        errorName: '',
        errorMessage: '',
        leaves: (response.leaves ?? []) as Array<Uint8Array<ArrayBuffer>>,
        digests: (response.digests ?? []) as pb.KeyDigest[],
        entries: (response.entries ?? []).map(e => ({ key: e.key as Uint8Array<ArrayBuffer>, state: siblingSetToWire(e.state) })),
        more: response.more ?? false
      })
    case 'not-found':
      return pb.Response.encode({ id, status: pb.Response.Status.NOT_FOUND, acks: 0, errorName: '', errorMessage: '', leaves: [], digests: [], entries: [], more: false })
    case 'error':
      return pb.Response.encode({ id, status: pb.Response.Status.ERROR, acks: 0, errorName: response.errorName, errorMessage: response.errorMessage, leaves: [], digests: [], entries: [], more: false })
  }
}

/** Decodes and validates one response frame. */
export function decodeResponse (frame: Parameters<typeof pb.Response.decode>[0], limits: KvLimits = DEFAULT_KV_LIMITS): { id: bigint, response: KvResponse } {
  const raw = decodeOrThrow(() => pb.Response.decode(frame, { limits: { state: { siblings: limits.maxSiblings }, leaves: 256, digests: MAX_DIGESTS, entries: MAX_SCAN_PAGE, entries$: { state: { siblings: limits.maxSiblings } } } }), 'kv response')
  switch (raw.status) {
    case pb.Response.Status.OK:
      if (raw.leaves.some(l => l.byteLength > 64)) throw new InvalidMessageError('leaf hash longer than 64 bytes')
      if (raw.digests.some(d => d.key.byteLength === 0 || d.key.byteLength > MAX_KEY_BYTES || d.hash.byteLength > 64)) throw new InvalidMessageError('malformed key digest')
      return {
        id: raw.id,
        response: {
          status: 'ok',
          state: raw.state == null ? undefined : siblingSetFromWire(raw.state, limits),
          context: raw.context == null ? undefined : contextFromWire(raw.context, limits),
          acks: raw.acks,
          leaves: raw.leaves,
          digests: raw.digests,
          ...(raw.entries.length > 0 || raw.more ? { entries: scanEntriesFromWire(raw.entries, limits), more: raw.more } : {})
        }
      }
    case pb.Response.Status.NOT_FOUND:
      return { id: raw.id, response: { status: 'not-found' } }
    case pb.Response.Status.ERROR:
      return { id: raw.id, response: { status: 'error', errorName: raw.errorName.slice(0, 100), errorMessage: raw.errorMessage.slice(0, 2000) } }
    default:
      throw new InvalidMessageError(`unknown response status ${raw.status}`)
  }
}

/** A SCAN's range as the wire carries it, validated: limit in range, prefix and `after` no longer than a key. */
function scanFromWire (scan: pb.ScanArgs | undefined): ScanRange {
  if (scan == null) throw new InvalidMessageError('SCAN without its range')
  if (scan.limit < 1 || scan.limit > MAX_SCAN_PAGE) throw new InvalidMessageError(`scan limit ${scan.limit} out of range (1–${MAX_SCAN_PAGE})`)
  if (scan.prefix.byteLength > MAX_KEY_BYTES) throw new InvalidMessageError(`scan prefix of ${scan.prefix.byteLength} bytes (max ${MAX_KEY_BYTES})`)
  if (scan.after.byteLength > MAX_KEY_BYTES) throw new InvalidMessageError(`scan start key of ${scan.after.byteLength} bytes (max ${MAX_KEY_BYTES})`)
  return { prefix: scan.prefix, ...(scan.after.byteLength > 0 ? { after: scan.after } : {}), limit: scan.limit, values: scan.values }
}

/** A SCAN answer's entries, validated: keys of 1 to MAX_KEY_BYTES in strictly increasing order, each a valid sibling set. */
function scanEntriesFromWire (entries: pb.ScanEntry[], limits: KvLimits): ScanEntry[] {
  let previous: Uint8Array | undefined
  return entries.map(entry => {
    if (entry.key.byteLength === 0 || entry.key.byteLength > MAX_KEY_BYTES) throw new InvalidMessageError(`scan entry key of ${entry.key.byteLength} bytes (1–${MAX_KEY_BYTES} allowed)`)
    if (previous != null && compareKeys(previous, entry.key) >= 0) throw new InvalidMessageError('scan entries out of key order')
    previous = entry.key
    return { key: entry.key, state: siblingSetFromWire(entry.state, limits) }
  })
}

/** Bytewise order of two keys (a prefix first). */
function compareKeys (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}
