/**
 * Targets for files an operator hands p2pstore: a roster (signed bytes, and the armoured text of a
 * roster file) and `api-tokens.json`. Rosters are signed once, when this module loads (signing is
 * async and an arbitrary's map is not).
 */

import { generateKeyPair } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { armourRoster, dearmourRoster, signRoster, verifyRoster } from '../../src/roster/index.ts'
import { parseTokenFile } from '../../src/tokens/index.ts'
import { PEERS } from './arbitraries.ts'
import type { FuzzTarget } from './targets.ts'
import type { Roster } from '../../src/roster/index.ts'

const operator = await generateKeyPair('Ed25519')
const ROSTERS: Roster[] = await Promise.all(Array.from({ length: 12 }, async (_, i) => signRoster(operator, {
  sequence: BigInt(i + 1) * (i % 3 === 0 ? 2n ** 31n : 1n),
  members: PEERS.slice(0, 1 + (i % PEERS.length)).map((p, j) => ({ peerId: p.toString(), label: j % 2 === 0 ? `host-${j}` : undefined })),
  issuedAt: 1_700_000_000_000 + i
})))

const utf8 = new TextEncoder()
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')
const ROSTER_ERRORS = ['InvalidRosterError', 'StaleRosterError'] as const

const hex = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n / 2, maxLength: n / 2 }).map(b => Buffer.from(b).toString('hex'))
const time = fc.integer({ min: 0, max: 4_102_444_800_000 }).map(ms => new Date(ms).toISOString())

/** api-tokens.json texts of valid entries. */
const tokenFileArb: fc.Arbitrary<Uint8Array> = fc.array(fc.record({
  id: fc.oneof(hex(12), fc.constant('legacy')),
  role: fc.constantFrom('metrics', 'read', 'write', 'admin'),
  hash: hex(64),
  prefix: fc.option(fc.string({ minLength: 1, maxLength: 10 }), { nil: undefined }),
  createdAt: time,
  expiresAt: fc.option(time, { nil: undefined }),
  revokedAt: fc.option(time, { nil: undefined }),
  previous: fc.option(fc.record({ hash: hex(64), until: time }), { nil: undefined })
}), { maxLength: 3 }).map(tokens => utf8.encode(JSON.stringify({ version: 1, tokens }, null, 2)))

export const FILE_TARGETS: readonly FuzzTarget[] = [
  {
    // a roster as gossip and `roster apply` hand it over: decoded, its key parsed, its signature checked
    name: 'roster-verify',
    seeds: fc.constantFrom(...ROSTERS.map(r => r.bytes)),
    decode: async input => verifyRoster(input),
    allowed: ROSTER_ERRORS
  },
  {
    name: 'roster-file',
    seeds: fc.constantFrom(...ROSTERS.map(r => utf8.encode(armourRoster(r)))),
    decode: async input => verifyRoster(dearmourRoster(text(input))),
    allowed: ROSTER_ERRORS
  },
  {
    name: 'api-tokens-json',
    seeds: tokenFileArb,
    decode: input => parseTokenFile(text(input), 'api-tokens.json'),
    allowed: ['DataDirError']
  }
]
