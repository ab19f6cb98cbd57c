/**
 * The table of fuzz targets: every decoder and parser that reads what a peer, a client, the disk or
 * an operator hands p2pstore. Each has seeds (valid inputs, from the arbitraries), the decode under
 * test, the typed errors it may throw, and for messages that round-trip, their encoder.
 */

import { createHash, createHmac, hkdfSync } from 'node:crypto'
import fc from 'fast-check'
import { normalizeContext } from '../../src/clock/index.ts'
import { parseBootstrapList, resolveDaemonConfig } from '../../src/config.ts'
import { parseConfigText } from '../../src/datadir/index.ts'
import {
  DEFAULT_KV_LIMITS,
  decodeContext,
  decodeContextToken,
  decodeMembershipMessage,
  decodeRequest,
  decodeResponse,
  decodeRosterBody,
  decodeRosterExchange,
  decodeSiblingSet,
  decodeSignedRoster,
  encodeContext,
  encodeContextToken,
  encodeMembershipMessage,
  encodeRequest,
  encodeResponse,
  encodeRosterBody,
  encodeRosterExchange,
  encodeSiblingSet,
  encodeSignedRoster
} from '../../src/protocol/index.ts'
import { Keyring } from '../../src/storage/encryption.ts'
import { decodeRecord, encodeRecord } from '../../src/storage/record-codec.ts'
import { SAMPLES } from '../utils/settings.ts'
import { API_TARGET } from './api-target.ts'
import {
  bootstrapTextArb,
  contextArb,
  kvRequestArb,
  kvResponseArb,
  scanAnswerArb,
  membershipArb,
  recordArb,
  rosterBodyArb,
  siblingSetArb,
  signedRosterArb
} from './arbitraries.ts'
import { FILE_TARGETS } from './file-targets.ts'
import type { DaemonConfig } from '../../src/config.ts'

/** One decoder under fuzz. */
export interface FuzzTarget {
  name: string
  /** valid inputs, as bytes (text inputs as UTF-8) */
  seeds: fc.Arbitrary<Uint8Array>
  /** the decode under test; its return value is ignored, it may be async */
  decode: (input: Uint8Array) => unknown
  /** names of the typed errors the decoder may throw; anything else it throws is a finding */
  allowed: readonly string[]
  /** some seeds are invalid on purpose (a typed error is all the spec expects of them) */
  invalidSeeds?: boolean
  /** for messages that round-trip: values, their encoding, and decode(encode(x)) must equal x */
  roundTrip?: {
    values: fc.Arbitrary<unknown>
    encode: (value: never) => Uint8Array
    decode: (bytes: Uint8Array) => unknown
    /** what decoding gives back for `value` when not `value` itself (a token's context comes back normalized) */
    expected?: (value: never) => unknown
  }
}

const utf8 = new TextEncoder()
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')
const INVALID_MESSAGE = ['InvalidMessageError'] as const

/** The key every token of the token targets is for. */
const TOKEN_KEY = utf8.encode('fuzz/key')

/** A context token's base64url text from its body (version, key tag, payload), checksum added. */
function tokenFromBody (body: Uint8Array): string {
  const checksum = createHash('sha256').update(body).digest().subarray(0, 4)
  return Buffer.concat([body, checksum]).toString('base64url')
}

/** The body of a valid token (what `tokenFromBody` completes). */
function tokenBody (token: string): Uint8Array {
  const bytes = Buffer.from(token, 'base64url')
  return bytes.subarray(0, bytes.byteLength - 4)
}

/** The key-encryption key of the keyring targets. */
const KEK = new Uint8Array(32).fill(7)
const noPersist = async (): Promise<void> => {}
const KEYRING_SEED = Keyring.create({ key: KEK, now: () => 1_700_000_000_000 }, 'fuzz', 'on', noPersist).encode()

/** A keyring's stored bytes from its body's JSON text, with the MAC `Keyring.load` checks. */
const MAC_KEY = Buffer.from(hkdfSync('sha256', KEK, new Uint8Array(0), 'p2pstore/keyring-mac/v1', 32))

function keyringFromBody (body: string): Uint8Array {
  const mac = createHmac('sha256', MAC_KEY).update(body).digest('base64')
  return utf8.encode(JSON.stringify({ body, mac }))
}

const keyringBodySeed = (JSON.parse(text(KEYRING_SEED)) as { body: string }).body

/** Stored records sealed under the keyring (sealing is async, so done once, here). */
// its clock stands still at the keyring's creation, so no seal rotates the data key
const KEYRING = Keyring.load(KEYRING_SEED, { key: KEK, now: () => 1_700_000_000_000 }, 'fuzz', noPersist)
const DB_KEY = utf8.encode('o/fuzz')
const SEALED = await Promise.all(fc.sample(recordArb, { numRuns: 24, seed: 7 }).map(async r => KEYRING.seal(DB_KEY, encodeRecord(r))))

const SETTING_NAMES = Object.keys(SAMPLES) as Array<keyof DaemonConfig>

/**
 * config.json texts: a few settings with sample values; settings with any JSON value; and a
 * setting whose value is nested a little, or tens of thousands of levels deep (byte mutations would
 * never build one; a worker thread's 4 MiB stack takes some 10 000 levels of recursion).
 */
const configArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { depthSize: 'small' },
  {
    weight: 10,
    arbitrary: fc.subarray(SETTING_NAMES, { maxLength: 5 })
      .chain(keys => fc.tuple(...keys.map(key => fc.constantFrom(...SAMPLES[key]).map(value => [key, value] as const))))
      .map(entries => JSON.stringify(Object.fromEntries(entries), null, 2))
  },
  { weight: 10, arbitrary: fc.dictionary(fc.constantFrom(...SETTING_NAMES), fc.jsonValue(), { maxKeys: 3 }).map(value => JSON.stringify(value)) },
  {
    // rare: each is some 100 KB and slow to mutate
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...SETTING_NAMES), fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 30_000, max: 60_000 })), fc.constantFrom('[', '{"a":'))
      .map(([key, depth, open]) => `{"${key}":${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}}`)
  }
).map(t => utf8.encode(t))

/** The parser of config.json as the daemon runs it: the file's text, then every setting checked. */
function parseConfig (input: Uint8Array): unknown {
  return resolveDaemonConfig({}, parseConfigText(text(input), 'config.json'))
}

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'kv-request',
    seeds: kvRequestArb.map(({ id, request }) => encodeRequest(id, request)),
    decode: input => decodeRequest(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: kvRequestArb, encode: ({ id, request }) => encodeRequest(id, request), decode: bytes => decodeRequest(bytes) }
  },
  {
    name: 'kv-response',
    seeds: kvResponseArb.map(({ id, response }) => encodeResponse(id, response)),
    decode: input => decodeResponse(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: kvResponseArb, encode: ({ id, response }) => encodeResponse(id, response), decode: bytes => decodeResponse(bytes) }
  },
  {
    // a listing's answers: many keys and sibling sets in one frame, their order checked
    name: 'kv-scan-response',
    seeds: scanAnswerArb.map(({ id, response }) => encodeResponse(id, response)),
    decode: input => decodeResponse(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: scanAnswerArb, encode: ({ id, response }) => encodeResponse(id, response), decode: bytes => decodeResponse(bytes) }
  },
  {
    name: 'sibling-set',
    seeds: siblingSetArb.map(encodeSiblingSet),
    decode: input => decodeSiblingSet(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: siblingSetArb, encode: encodeSiblingSet, decode: bytes => decodeSiblingSet(bytes) }
  },
  {
    name: 'context',
    seeds: contextArb.map(encodeContext),
    decode: input => decodeContext(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: contextArb, encode: encodeContext, decode: bytes => decodeContext(bytes) }
  },
  {
    name: 'membership',
    seeds: membershipArb.map(encodeMembershipMessage),
    decode: input => decodeMembershipMessage(input),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: membershipArb, encode: encodeMembershipMessage, decode: bytes => decodeMembershipMessage(bytes) }
  },
  {
    name: 'roster-body',
    seeds: rosterBodyArb.map(encodeRosterBody),
    decode: decodeRosterBody,
    allowed: INVALID_MESSAGE,
    roundTrip: { values: rosterBodyArb, encode: encodeRosterBody, decode: decodeRosterBody }
  },
  {
    name: 'signed-roster',
    seeds: signedRosterArb.map(encodeSignedRoster),
    decode: decodeSignedRoster,
    allowed: INVALID_MESSAGE,
    roundTrip: { values: signedRosterArb, encode: encodeSignedRoster, decode: decodeSignedRoster }
  },
  {
    name: 'roster-exchange',
    seeds: fc.option(fc.uint8Array({ minLength: 1, maxLength: 60 }), { nil: undefined }).map(encodeRosterExchange),
    decode: decodeRosterExchange,
    allowed: INVALID_MESSAGE,
    roundTrip: { values: fc.option(fc.uint8Array({ minLength: 1, maxLength: 60 }), { nil: undefined }), encode: encodeRosterExchange, decode: decodeRosterExchange }
  },
  {
    name: 'record',
    seeds: recordArb.map(encodeRecord),
    decode: input => decodeRecord(input, DEFAULT_KV_LIMITS),
    allowed: INVALID_MESSAGE,
    roundTrip: { values: recordArb, encode: encodeRecord, decode: bytes => decodeRecord(bytes, DEFAULT_KV_LIMITS) }
  },
  {
    // the token as a client pastes it: mostly caught by the alphabet and the checksum
    name: 'context-token',
    seeds: contextArb.map(c => utf8.encode(encodeContextToken(c, TOKEN_KEY))),
    decode: input => decodeContextToken(text(input), TOKEN_KEY),
    allowed: ['InvalidContextTokenError'],
    roundTrip: {
      values: contextArb,
      encode: c => utf8.encode(encodeContextToken(c, TOKEN_KEY)),
      decode: bytes => decodeContextToken(text(bytes), TOKEN_KEY),
      expected: normalizeContext
    }
  },
  {
    // past the checksum: the body is mutated and a valid checksum put back, so the payload is reached
    name: 'context-token-body',
    seeds: contextArb.map(c => tokenBody(encodeContextToken(c, TOKEN_KEY))),
    decode: input => decodeContextToken(tokenFromBody(input), TOKEN_KEY),
    allowed: ['InvalidContextTokenError']
  },
  {
    name: 'config-json',
    seeds: configArb,
    decode: parseConfig,
    invalidSeeds: true,
    allowed: ['InvalidConfigurationError', 'InvalidMultiaddrError']
  },
  {
    name: 'bootstrap-list',
    seeds: bootstrapTextArb.map(t => utf8.encode(t)),
    decode: input => parseBootstrapList(text(input), 'peers'),
    allowed: ['InvalidMultiaddrError']
  },
  {
    // the keyring as stored: anything altered fails its MAC
    name: 'keyring',
    seeds: fc.constant(KEYRING_SEED),
    decode: input => Keyring.load(input, { key: KEK }, 'fuzz', noPersist),
    allowed: ['IntegrityError', 'DataDirError', 'EncryptionKeyError']
  },
  {
    // past the MAC: the body is mutated and authenticated again, so its checks are reached
    name: 'keyring-body',
    seeds: fc.constant(utf8.encode(keyringBodySeed)),
    decode: input => Keyring.load(keyringFromBody(text(input)), { key: KEK }, 'fuzz', noPersist),
    allowed: ['IntegrityError', 'DataDirError', 'EncryptionKeyError']
  },
  {
    // an encrypted record as LevelDB holds it: header, nonce, ciphertext, tag; then the record inside
    name: 'encrypted-record',
    seeds: fc.constantFrom(...SEALED),
    decode: input => decodeRecord(KEYRING.open(DB_KEY, DB_KEY, input), DEFAULT_KV_LIMITS),
    allowed: ['IntegrityError', 'InvalidMessageError']
  },
  ...FILE_TARGETS,
  API_TARGET
]

/** A target by name. */
export function targetNamed (name: string, targets: readonly FuzzTarget[] = TARGETS): FuzzTarget {
  const target = targets.find(t => t.name === name)
  if (target == null) throw new Error(`no fuzz target "${name}" (known: ${targets.map(t => t.name).join(', ')})`)
  return target
}
