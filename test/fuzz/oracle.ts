/**
 * The oracle: a decode either returns a value or throws one of its target's typed errors. Anything
 * else — a plain `Error`, `TypeError`, `RangeError`, a non-error thrown, a decode that runs past
 * `HANG_MS` — is a finding. The round-trip check: decode(encode(x)) equals x.
 */

import { isDeepStrictEqual } from 'node:util'
import type { FuzzTarget } from './targets.ts'

/** A decode that takes longer than this on one input is a hang. */
export const HANG_MS = 1000

/** What went wrong with one input. */
export interface Finding {
  kind: 'crash' | 'hang' | 'round-trip'
  /** the error's name (or `hang`) */
  name: string
  message: string
  /** first frames of the stack, to tell findings apart */
  where: string
}

/** Names no decoder may throw, whatever its table says: these are programmer errors. */
const NEVER = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError'])

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** The finding an error thrown by `target` is, or undefined when it is one of its typed errors. */
export function judgeError (target: FuzzTarget, err: unknown): Finding | undefined {
  if (err instanceof Error && !NEVER.has(err.name) && target.allowed.includes(err.name)) return undefined
  const name = err instanceof Error ? err.name : typeof err
  const message = err instanceof Error ? err.message : String(err)
  const where = err instanceof Error ? (err.stack ?? '').split('\n').slice(1, 4).map(l => l.trim()).join(' < ') : ''
  return { kind: 'crash', name, message: message.slice(0, 300), where }
}

/**
 * Runs `target.decode` on one input. Synchronous decoders are judged synchronously (the campaign
 * runs millions); a decode that returns a promise is awaited. A sync decode cannot be interrupted,
 * so a hang is seen here once it ends (the campaign's watchdog catches those that never end).
 */
export function checkInput (target: FuzzTarget, input: Uint8Array): Finding | undefined | Promise<Finding | undefined> {
  const started = performance.now()
  const late = (): Finding | undefined => {
    const ms = performance.now() - started
    return ms > HANG_MS ? { kind: 'hang', name: 'hang', message: `decode took ${Math.round(ms)} ms (limit ${HANG_MS})`, where: '' } : undefined
  }
  let result: unknown
  try {
    result = target.decode(input)
  } catch (err) {
    return judgeError(target, err) ?? late()
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(() => late(), (err: unknown) => judgeError(target, err) ?? late())
  }
  return late()
}

/**
 * A value as plain data, for comparing what went in with what came out: bytes as hex, maps as
 * entry lists, peer ids and multiaddrs as text, undefined properties dropped.
 */
export function plain (value: unknown): unknown {
  if (value instanceof Uint8Array || value instanceof Uint32Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (value instanceof Map) return [...value].map(([k, v]) => [plain(k), plain(v)])
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === 'bigint') return `${value}n`
  if (value != null && typeof value === 'object') {
    const v = value as { toString(): string, bytes?: unknown, toMultihash?: unknown }
    if (typeof v.toMultihash === 'function' || v.bytes instanceof Uint8Array) return `text:${v.toString()}`
    const out: Record<string, unknown> = {}
    for (const [k, item] of Object.entries(value)) if (item !== undefined) out[k] = plain(item)
    return out
  }
  return value
}

/** The round-trip finding of `value`, or undefined when decode(encode(value)) equals it. */
export function checkRoundTrip (target: FuzzTarget, value: unknown): Finding | undefined {
  const rt = target.roundTrip
  if (rt == null) return undefined
  let back: unknown
  try {
    back = rt.decode(rt.encode(value as never))
  } catch (err) {
    return { kind: 'round-trip', name: err instanceof Error ? err.name : typeof err, message: `a valid value did not decode: ${String(err)}`.slice(0, 300), where: '' }
  }
  const expected = rt.expected == null ? value : rt.expected(value as never)
  if (isDeepStrictEqual(plain(back), plain(expected))) return undefined
  return {
    kind: 'round-trip',
    name: 'mismatch',
    message: `decode(encode(x)) differs from x: ${JSON.stringify(plain(expected)).slice(0, 300)} came back as ${JSON.stringify(plain(back)).slice(0, 300)}`,
    where: ''
  }
}
