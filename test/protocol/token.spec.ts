import fc from 'fast-check'
import { fromString as uint8ArrayFromString, toString as uint8ArrayToString } from 'uint8arrays'
import { contextsEqual } from '../../src/clock/context.ts'
import { emptyContext, normalizeContext } from '../../src/clock/index.ts'
import { decodeContextToken, encodeContextToken } from '../../src/protocol/index.ts'
import { expect } from '../utils/expect.ts'
import type { CausalContext } from '../../src/clock/index.ts'

const key = new TextEncoder().encode('users/alice')
const otherKey = new TextEncoder().encode('users/bob')

const context: CausalContext = {
  vv: new Map([['c0ffee0100000001', 4], ['0badcafe00000002', 1]]),
  cloud: [{ actor: 'c0ffee0100000001', counter: 9 }, { actor: '7e57ab1e00000003', counter: 2 }]
}

function bytesOf (token: string): Uint8Array {
  return uint8ArrayFromString(token, 'base64url')
}

function tokenOf (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base64url')
}

/** Rebuilds a token around other bytes with a valid checksum, as a forger would. */
async function withChecksum (body: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto')
  const sum = createHash('sha256').update(body).digest().subarray(0, 4)
  return tokenOf(Uint8Array.from([...body, ...sum]))
}

const contextArb: fc.Arbitrary<CausalContext> = fc.record({
  vv: fc.array(fc.tuple(fc.constantFrom('aa', '0102030405060708090a0b0c', 'ff00'), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), { maxLength: 3 }).map(e => new Map(e)),
  cloud: fc.array(fc.record({ actor: fc.constantFrom('aa', 'bb', 'ff00'), counter: fc.integer({ min: 1, max: 1_000_000 }) }), { maxLength: 6 })
})

describe('clock/token', () => {
  it('round-trips a context with version vector and cloud dots, normalized', () => {
    const token = encodeContextToken(context, key)
    expect(token).to.match(/^[A-Za-z0-9_-]+$/)
    const decoded = decodeContextToken(token, key)
    expect(contextsEqual(decoded, context)).to.equal(true)
    expect([...decoded.vv]).to.deep.equal([...normalizeContext(context).vv])
    expect(decoded.cloud).to.deep.equal(normalizeContext(context).cloud)
  })

  it('round-trips the empty context', () => {
    const token = encodeContextToken(emptyContext(), key)
    expect(bytesOf(token)).to.have.length(13)
    const decoded = decodeContextToken(token, key)
    expect([...decoded.vv]).to.deep.equal([])
    expect(decoded.cloud).to.deep.equal([])
  })

  it('gives equal contexts equal tokens', () => {
    const shuffled: CausalContext = { vv: new Map([...context.vv].reverse()), cloud: [...context.cloud].reverse() }
    expect(encodeContextToken(shuffled, key)).to.equal(encodeContextToken(context, key))
  })

  it('round-trips any context (property)', () => {
    fc.assert(fc.property(contextArb, c => {
      expect(contextsEqual(decodeContextToken(encodeContextToken(c, key), key), c)).to.equal(true)
    }), { numRuns: 200 })
  })

  describe('rejects', () => {
    const token = encodeContextToken(context, key)

    it('text that is not base64url', () => {
      for (const bad of [`${token}=`, `${token.slice(0, 10)}+${token.slice(11)}`, `${token} `, 'é']) {
        expect(() => decodeContextToken(bad, key), bad).to.throw(/not base64url/).with.property('name', 'InvalidContextTokenError')
      }
      // a length no base64 encoding has
      expect(() => decodeContextToken('AAAAA', key)).to.throw(/not base64url/).with.property('name', 'InvalidContextTokenError')
    })

    it('a token that is too short', () => {
      expect(() => decodeContextToken('', key)).to.throw(/too short/).with.property('name', 'InvalidContextTokenError')
      expect(() => decodeContextToken(token.slice(0, 16), key)).to.throw(/too short/).with.property('name', 'InvalidContextTokenError')
    })

    it('a token that is too long, unread', () => {
      expect(() => decodeContextToken('A'.repeat(64 * 1024), key)).to.throw(/too long/).with.property('name', 'InvalidContextTokenError')
      expect(() => decodeContextToken('A'.repeat(200), key, { maxValueBytes: 1, maxSiblings: 1, maxContextEntries: 2 })).to.throw(/too long/)
    })

    it('an unknown version', async () => {
      const bytes = bytesOf(token)
      bytes[0] = 2
      const forged = await withChecksum(bytes.subarray(0, bytes.length - 4))
      expect(() => decodeContextToken(forged, key)).to.throw(/unknown version 2/).with.property('name', 'InvalidContextTokenError')
    })

    it('a corrupt or altered token', () => {
      const bytes = bytesOf(token)
      bytes[12] = (bytes[12] ?? 0) ^ 0x01
      expect(() => decodeContextToken(tokenOf(bytes), key)).to.throw(/corrupt or altered/).with.property('name', 'InvalidContextTokenError')
      expect(() => decodeContextToken(token.slice(0, -3), key)).to.throw(/corrupt or altered|not base64url/).with.property('name', 'InvalidContextTokenError')
    })

    it('a token of another key', () => {
      expect(() => decodeContextToken(token, otherKey)).to.throw(/belongs to another key/).with.property('name', 'InvalidContextTokenError')
    })

    it('a payload the codec rejects, saying why', async () => {
      const header = bytesOf(token).subarray(0, 9)
      // a version vector entry with counter 0
      const zero = await withChecksum(Uint8Array.from([...header, 0x0a, 0x05, 0x0a, 0x01, 0xaa, 0x10, 0x00]))
      expect(() => decodeContextToken(zero, key)).to.throw(/invalid context: .*counter 0 out of range/).with.property('name', 'InvalidContextTokenError')
      // truncated protobuf
      const truncated = await withChecksum(Uint8Array.from([...header, 0x0a, 0x09, 0x0a]))
      expect(() => decodeContextToken(truncated, key)).to.throw(/invalid context: malformed context/).with.property('name', 'InvalidContextTokenError')
      // more entries than allowed
      expect(() => decodeContextToken(token, key, { maxValueBytes: 1, maxSiblings: 1, maxContextEntries: 3 }))
        .to.throw(/invalid context/).with.property('name', 'InvalidContextTokenError')
    })

    it('any single altered byte (property)', () => {
      const bytes = bytesOf(token)
      fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const altered = Uint8Array.from(bytes)
        altered[index] = (altered[index] ?? 0) ^ flip
        expect(() => decodeContextToken(tokenOf(altered), key)).to.throw().with.property('name', 'InvalidContextTokenError')
      }), { numRuns: 300 })
    })
  })
})
