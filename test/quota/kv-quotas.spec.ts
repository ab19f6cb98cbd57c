import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { KvQuotas } from '../../src/quota/index.ts'
import { expect } from '../utils/expect.ts'
import type { Admitted, Throttled, ThrottleKind } from '../../src/quota/index.ts'
import type { PeerId } from '@libp2p/interface'

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

function admitted (outcome: Admitted | Throttled): Admitted {
  if (!outcome.admitted) throw new Error(`throttled (${outcome.kind}, ${outcome.wait} ms)`)
  return outcome
}

describe('quota: kv quotas', () => {
  it('holds back a peer past its request rate, and not another peer', async () => {
    const [a, b] = [await newPeer(), await newPeer()]
    let now = 0
    const quotas = new KvQuotas({}, { peerRequestRate: 10, peerRequestBurst: 2, globalRequestRate: 100, now: () => now })
    admitted(quotas.tryAcquire(a, 10)).release()
    admitted(quotas.tryAcquire(a, 10)).release()
    expect(quotas.tryAcquire(a, 10)).to.deep.include({ admitted: false, kind: 'requests', wait: 100 })
    admitted(quotas.tryAcquire(b, 10)).release()
    now = 100
    admitted(quotas.tryAcquire(a, 10)).release()
  })

  it('holds back a peer past its byte rate; a frame above the byte burst waits for a full bucket, then leaves a debt', async () => {
    const a = await newPeer()
    let now = 0
    const quotas = new KvQuotas({}, { peerByteRate: 1000, peerByteBurst: 1000, now: () => now })
    admitted(quotas.tryAcquire(a, 900)).release()
    expect(quotas.tryAcquire(a, 200)).to.deep.include({ admitted: false, kind: 'bytes', wait: 100 })
    expect(quotas.tryAcquire(a, 3000)).to.deep.include({ admitted: false, kind: 'bytes', wait: 900 })
    now = 900
    admitted(quotas.tryAcquire(a, 3000)).release()
    // 2000 bytes of debt and 1 more: 2001 ms
    expect(quotas.tryAcquire(a, 1)).to.deep.include({ admitted: false, kind: 'bytes', wait: 2001 })
  })

  it('holds back a peer at its most requests in flight until one ends', async () => {
    const a = await newPeer()
    const quotas = new KvQuotas({}, { peerMaxInFlight: 2, now: () => 0 })
    const first = admitted(quotas.tryAcquire(a, 1))
    admitted(quotas.tryAcquire(a, 1))
    expect(quotas.tryAcquire(a, 1)).to.deep.include({ admitted: false, kind: 'in_flight' })
    const third = quotas.acquire(a, 1)
    expect(quotas.inFlight(a)).to.equal(2)
    first.release()
    first.release() // twice counts once
    ;(await third).release()
    expect(quotas.inFlight(a)).to.equal(1)
  })

  it('has a global rate that two peers reach together and one alone does not', async () => {
    const peers = [await newPeer(), await newPeer(), await newPeer()]
    const quotas = new KvQuotas({}, { peerRequestRate: 10, peerRequestBurst: 4, globalRequestRate: 20, globalRequestBurst: 8, now: () => 0 })
    for (let i = 0; i < 4; i++) admitted(quotas.tryAcquire(peers[0] as PeerId, 1)).release()
    for (let i = 0; i < 4; i++) admitted(quotas.tryAcquire(peers[1] as PeerId, 1)).release()
    expect(quotas.tryAcquire(peers[2] as PeerId, 1)).to.deep.include({ admitted: false, kind: 'global' })
    expect(() => new KvQuotas({}, { peerRequestRate: 10, globalRequestRate: 19 })).to.throw(RangeError, /at least twice/)
  })

  it('waits for tokens, counts what held it back, and penalises sustained abuse', async () => {
    const a = await newPeer()
    const kinds: ThrottleKind[] = []
    let points = 0
    const quotas = new KvQuotas({
      metrics: { quotaThrottled: { inc: ({ kind }) => { kinds.push(kind) } } },
      standing: { penalise: (_p, _r, n) => { points += n } }
    }, { peerRequestRate: 200, peerRequestBurst: 1, globalRequestRate: 1000 })
    const waited: ThrottleKind[] = []
    // 1 at once, then one every 5 ms: 250 requests take about 1.25 s of waiting
    for (let i = 0; i < 250; i++) (await quotas.acquire(a, 1, { onWait: kind => { waited.push(kind) } })).release()
    expect(kinds).to.have.length(249)
    expect(new Set(kinds)).to.deep.equal(new Set(['requests']))
    expect(waited).to.have.length(249)
    expect(points).to.be.at.least(1)
  })

  it('stops waiting when aborted', async () => {
    const a = await newPeer()
    const quotas = new KvQuotas({}, { peerMaxInFlight: 1 })
    admitted(quotas.tryAcquire(a, 1))
    const controller = new AbortController()
    const waiting = quotas.acquire(a, 1, { signal: controller.signal })
    controller.abort()
    await expect(waiting).to.eventually.be.rejected.with.property('name', 'AbortError')
  })

  it('keeps state only for peers whose buckets have not refilled (bounded)', async () => {
    let now = 0
    const quotas = new KvQuotas({}, { peerRequestRate: 10, peerRequestBurst: 1, globalRequestRate: 1_000_000, now: () => now })
    const busy = await newPeer()
    const held = admitted(quotas.tryAcquire(busy, 1))
    for (let i = 0; i < 50; i++) admitted(quotas.tryAcquire(await newPeer(), 1)).release()
    expect(quotas.size).to.equal(51)
    // every bucket refills within 100 ms; the next request after the sweep interval drops them
    now = 5000
    admitted(quotas.tryAcquire(await newPeer(), 1)).release()
    // the busy peer still has a request in flight: its state stays
    expect(quotas.size).to.equal(2)
    held.release()
    expect(quotas.inFlight(busy)).to.equal(0)
  })
})
