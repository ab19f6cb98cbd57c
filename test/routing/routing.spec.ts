import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { compareDistance, homeReplicas, keyId, peerKadId, preferenceList } from '../../src/routing/index.ts'
import { expect } from '../utils/expect.ts'

/** XOR distance as a bigint, the definition the fast comparison must agree with */
function distance (a: Uint8Array, b: Uint8Array): bigint {
  let d = 0n
  for (let i = 0; i < a.length; i++) d = (d << 8n) | BigInt((a[i] ?? 0) ^ (b[i] ?? 0))
  return d
}

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('routing', () => {
  it('keyId is sha256 of the key bytes', () => {
    expect(Buffer.from(keyId(new TextEncoder().encode('abc'))).toString('hex'))
      .to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('peerKadId is sha256 of the peer id multihash, as kad-dht computes it', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(peerKadId(peerId)).to.deep.equal(keyId(peerId.toMultihash().bytes))
  })

  it('compareDistance agrees with XOR distance as an unsigned big-endian integer', () => {
    fc.assert(fc.property(id32, id32, id32, (t, a, b) => {
      const expected = distance(t, a) < distance(t, b) ? -1 : distance(t, a) > distance(t, b) ? 1 : 0
      expect(Math.sign(compareDistance(t, a, b))).to.equal(expected)
    }), { numRuns: 500 })
  })

  it('preferenceList orders by distance, is a permutation, and homeReplicas is its prefix', () => {
    fc.assert(fc.property(id32, fc.array(id32, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (t, ids, n) => {
      const placed = ids.map((kadId, i) => ({ kadId, i }))
      const list = preferenceList(t, placed)
      expect(list.map(p => p.i).sort((a, b) => a - b)).to.deep.equal(placed.map(p => p.i))
      for (let i = 1; i < list.length; i++) {
        expect(distance(t, list[i - 1]?.kadId ?? t) <= distance(t, list[i]?.kadId ?? t)).to.equal(true)
      }
      expect(homeReplicas(t, placed, n)).to.deep.equal(list.slice(0, n))
    }), { numRuns: 300 })
  })

  it('spreads 10 000 keys over 10 peers with a bounded max/mean load (N = 3)', async () => {
    const peers = await Promise.all(Array.from({ length: 10 }, async (_, i) => ({ i, kadId: peerKadId(peerIdFromPrivateKey(await generateKeyPair('Ed25519'))) })))
    const load = new Array<number>(10).fill(0)
    for (let k = 0; k < 10_000; k++) {
      for (const p of homeReplicas(keyId(new TextEncoder().encode(`key-${k}`)), peers, 3)) load[p.i] = (load[p.i] ?? 0) + 1
    }
    const mean = 30_000 / 10
    // every key on exactly 3 peers; random peer ids give uneven arcs, but no peer is idle or holds all
    expect(load.reduce((a, b) => a + b, 0)).to.equal(30_000)
    expect(Math.min(...load)).to.be.greaterThan(0)
    expect(Math.max(...load) / mean).to.be.lessThan(3)
  })
})
