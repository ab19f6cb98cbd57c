/**
 * A structure-aware mutator for protobuf frames (and any other bytes): random bytes rarely get
 * past a length prefix, so most mutations here keep the frame's shape and change one field — a
 * varint to an edge value, a length prefix off by a little or a lot, a nested message mutated
 * inside and its prefix fixed, a field dropped or repeated — next to the plain ones (bit flips,
 * byte inserts and deletes, truncation, splicing two valid inputs).
 *
 * Everything is driven by `Rng`, seeded, so an input is reproduced from (seed input, rng seed).
 */

/** A small seeded PRNG (mulberry32): fast, deterministic, good enough to pick mutations. */
export class Rng {
  private state: number

  constructor (seed: number) {
    this.state = seed >>> 0
  }

  /** A 32-bit unsigned integer. */
  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n) (0 when n ≤ 0). */
  int (n: number): number {
    return n <= 0 ? 0 : this.next() % n
  }

  pick<T> (items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new RangeError('pick from an empty list')
    return item
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff
    return out
  }
}

/** One protobuf field as found on the wire: where its tag, length prefix (if any) and value are. */
export interface WireField {
  tagStart: number
  wireType: number
  /** start of the length varint (wire type 2) */
  lengthStart?: number
  valueStart: number
  valueEnd: number
}

/** Reads a varint at `pos`; undefined when it runs past `end` or over 10 bytes. */
function readVarint (bytes: Uint8Array, pos: number, end: number): { value: bigint, next: number } | undefined {
  let value = 0n
  let shift = 0n
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = bytes[pos++] ?? 0
    value |= BigInt(b & 0x7f) << shift
    if ((b & 0x80) === 0) return { value, next: pos }
    shift += 7n
  }
  return undefined
}

/**
 * The fields of `bytes[start, end)` read as one protobuf message, as far as they parse (a bytes
 * or string field's payload is not a message, and the scan just stops where it stops making sense).
 */
export function scanFields (bytes: Uint8Array, start = 0, end = bytes.byteLength): WireField[] {
  const fields: WireField[] = []
  let pos = start
  while (pos < end) {
    const tag = readVarint(bytes, pos, end)
    if (tag == null || tag.value === 0n) break
    const wireType = Number(tag.value & 7n)
    const tagStart = pos
    pos = tag.next
    if (wireType === 0) {
      const v = readVarint(bytes, pos, end)
      if (v == null) break
      fields.push({ tagStart, wireType, valueStart: pos, valueEnd: v.next })
      pos = v.next
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4
      if (pos + size > end) break
      fields.push({ tagStart, wireType, valueStart: pos, valueEnd: pos + size })
      pos += size
    } else if (wireType === 2) {
      const length = readVarint(bytes, pos, end)
      if (length == null || length.next + Number(length.value) > end) break
      fields.push({ tagStart, wireType, lengthStart: pos, valueStart: length.next, valueEnd: length.next + Number(length.value) })
      pos = length.next + Number(length.value)
    } else {
      break
    }
  }
  return fields
}

/** A varint's bytes (any value below 2^64, or a deliberately overlong or unterminated form). */
export function varint (value: bigint): Uint8Array {
  const out: number[] = []
  let v = BigInt.asUintN(64, value)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) b |= 0x80
    out.push(b)
  } while (v !== 0n)
  return Uint8Array.from(out)
}

/** Values that sit on an edge somewhere: signed/unsigned 32 and 64 bits, 2^53, lengths. */
const EDGE_VALUES: readonly bigint[] = [
  0n, 1n, 2n, 127n, 128n, 255n, 256n, 1023n, 1024n, 1025n, 4095n, 4096n, 4097n, 65535n, 65536n,
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n,
  2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n
]

const INTERESTING_BYTES: readonly number[] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x10]

/** For text inputs (JSON, lists, tokens): values of another type or on an edge, and stray syntax. */
const TEXT_LITERALS: readonly Uint8Array[] = ['null', '0', '-1', '1e309', '[]', '{}', '""', 'true', '[[[[', '"\\u0000"', '\n', '#', '%00', '\ufeff']
  .map(t => new TextEncoder().encode(t))

/**
 * A copy of `bytes`. Not `bytes.slice()`: on a Buffer (seeds may be Buffers) that is a view, and a
 * mutation would change the seed itself.
 */
function copy (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

function concat (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.byteLength
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function replace (bytes: Uint8Array, start: number, end: number, by: Uint8Array): Uint8Array {
  return concat(bytes.subarray(0, start), by, bytes.subarray(end))
}

function edgeValue (rng: Rng): bigint {
  const value = rng.pick(EDGE_VALUES)
  return rng.int(4) === 0 ? value + BigInt(rng.int(5)) - 2n : value
}

/** A wire field of `bytes` (any depth of nested messages, as far as they parse), or none. */
function anyField (bytes: Uint8Array, rng: Rng): WireField | undefined {
  let fields = scanFields(bytes)
  let chosen: WireField | undefined
  for (let depth = 0; depth < 6 && fields.length > 0; depth++) {
    chosen = rng.pick(fields)
    if (chosen.wireType !== 2 || rng.int(2) === 0) break
    const inner = scanFields(bytes, chosen.valueStart, chosen.valueEnd)
    if (inner.length === 0) break
    fields = inner
  }
  return chosen
}

type Mutation = (bytes: Uint8Array, rng: Rng, other: Uint8Array) => Uint8Array

const MUTATIONS: readonly Mutation[] = [
  // flip one bit
  (bytes, rng) => {
    if (bytes.byteLength === 0) return bytes
    const out = copy(bytes)
    const i = rng.int(out.byteLength)
    out[i] = (out[i] ?? 0) ^ (1 << rng.int(8))
    return out
  },
  // set a byte to an interesting or random value
  (bytes, rng) => {
    if (bytes.byteLength === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES))
    const out = copy(bytes)
    out[rng.int(out.byteLength)] = rng.int(2) === 0 ? rng.pick(INTERESTING_BYTES) : rng.next() & 0xff
    return out
  },
  // insert a few bytes
  (bytes, rng) => {
    const at = rng.int(bytes.byteLength + 1)
    return replace(bytes, at, at, rng.bytes(1 + rng.int(8)))
  },
  // delete a range
  (bytes, rng) => {
    if (bytes.byteLength === 0) return bytes
    const at = rng.int(bytes.byteLength)
    return replace(bytes, at, Math.min(bytes.byteLength, at + 1 + rng.int(8)), new Uint8Array(0))
  },
  // truncate
  (bytes, rng) => bytes.subarray(0, rng.int(bytes.byteLength + 1)),
  // splice: a prefix of this input and a suffix of another valid one
  (bytes, rng, other) => concat(bytes.subarray(0, rng.int(bytes.byteLength + 1)), other.subarray(rng.int(other.byteLength + 1))),
  // a varint field to an edge value (or an overlong / unterminated varint)
  (bytes, rng) => {
    const field = anyField(bytes, rng)
    if (field == null || field.wireType !== 0) return bytes
    const kind = rng.int(8)
    const by = kind === 0
      ? Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
      : kind === 1 ? Uint8Array.of(0xff, 0xff) : varint(edgeValue(rng))
    return replace(bytes, field.valueStart, field.valueEnd, by)
  },
  // a length prefix off by a little, or to an edge value (the payload left as it was)
  (bytes, rng) => {
    const field = anyField(bytes, rng)
    if (field?.lengthStart == null) return bytes
    const length = BigInt(field.valueEnd - field.valueStart)
    const value = rng.int(2) === 0 ? length + BigInt(rng.int(5)) - 2n : edgeValue(rng)
    return replace(bytes, field.lengthStart, field.valueStart, varint(value < 0n ? 0n : value))
  },
  // mutate inside a nested field and fix its length prefix, so the frame still parses around it
  (bytes, rng, other) => {
    const field = anyField(bytes, rng)
    if (field?.lengthStart == null) return bytes
    const inner = mutate(bytes.subarray(field.valueStart, field.valueEnd), rng, other, 1)
    return replace(bytes, field.lengthStart, field.valueEnd, concat(varint(BigInt(inner.byteLength)), inner))
  },
  // drop a field
  (bytes, rng) => {
    const field = anyField(bytes, rng)
    return field == null ? bytes : replace(bytes, field.tagStart, field.valueEnd, new Uint8Array(0))
  },
  // repeat a field (a second copy of a non-repeated field, one more of a repeated one)
  (bytes, rng) => {
    const field = anyField(bytes, rng)
    return field == null ? bytes : replace(bytes, field.valueEnd, field.valueEnd, copy(bytes.subarray(field.tagStart, field.valueEnd)))
  },
  // change a field's wire type or number
  (bytes, rng) => {
    const field = anyField(bytes, rng)
    if (field == null) return bytes
    const tag = readVarint(bytes, field.tagStart, bytes.byteLength)
    if (tag == null) return bytes
    const number = rng.int(2) === 0 ? tag.value >> 3n : BigInt(rng.int(20))
    return replace(bytes, field.tagStart, tag.next, varint((number << 3n) | BigInt(rng.int(8))))
  },
  // a span (often the start, the end or everything) replaced by a text literal: JSON values of the
  // wrong type, null where an object belongs, stray syntax
  (bytes, rng) => {
    const start = rng.int(3) === 0 ? 0 : rng.int(bytes.byteLength + 1)
    const end = rng.int(3) === 0 ? bytes.byteLength : start + rng.int(bytes.byteLength - start + 1)
    return replace(bytes, start, end, rng.pick(TEXT_LITERALS))
  },
  // append a field of the other input
  (bytes, rng, other) => {
    const fields = scanFields(other)
    if (fields.length === 0) return bytes
    const field = rng.pick(fields)
    return concat(bytes, other.subarray(field.tagStart, field.valueEnd))
  }
]

/**
 * `bytes` with 1 to 4 mutations (`stack` of them when given). `other` is another valid input,
 * for splicing. Never changes `bytes` itself.
 */
export function mutate (bytes: Uint8Array, rng: Rng, other: Uint8Array = bytes, stack = 1 + rng.int(4)): Uint8Array {
  let out = bytes
  for (let i = 0; i < stack; i++) out = rng.pick(MUTATIONS)(out, rng, other)
  return out
}

/** How many kinds of mutation there are (for the spec that checks each one changes something). */
export const MUTATION_COUNT = MUTATIONS.length
