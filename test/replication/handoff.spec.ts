import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { applyWrite, emptySiblingSet, nextDot } from '../../src/clock/index.ts'
import { Handoff } from '../../src/replication/index.ts'
import { MemoryEngine } from '../../src/storage/index.ts'
import { expect } from '../utils/expect.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { PlacedPeer } from '../../src/routing/index.ts'
import type { StoredRecord } from '../../src/storage/index.ts'
import type { PeerId } from '@libp2p/interface'

const enc = new TextEncoder()

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function recordOf (value: string, hintFor?: string[]): StoredRecord {
  const set = emptySiblingSet()
  const { state } = applyWrite(set, { dot: nextDot(set, 'aabbccddeeff001100000001'), value: enc.encode(value), timestamp: 1, deleted: false, context: set.context })
  return { set: state, hintFor }
}

/** An engine that counts reads, so a test can tell which keys a pass looked at. */
class CountingEngine extends MemoryEngine {
  reads = 0
  override async get (key: Uint8Array): Promise<StoredRecord | undefined> {
    this.reads++
    return super.get(key)
  }
}

describe('handoff: incremental passes', () => {
  it('checks only the keys changed since the last pass, hands off what this peer no longer owns, and retries hints until delivered', async () => {
    const [self, a, b, c] = await Promise.all([peer(), peer(), peer(), peer()])
    if (self == null || a == null || b == null || c == null) throw new Error('no peers')
    const engine = new CountingEngine()
    await engine.open()
    // keys starting with "own" are held by self, a and b; every other key by a, b and c
    const placed = (...ids: PeerId[]): PlacedPeer[] => ids.map(peerId => ({ peerId, kadId: new Uint8Array(32) }))
    const stored: string[] = []
    let ownersUp = false
    const handoff = new Handoff({
      logger: defaultLogger(),
      peerId: self,
      engine,
      placement: { fromView: key => new TextDecoder().decode(key).startsWith('own') ? placed(self, a, b, c) : placed(a, b, c, self).slice(0, 3) },
      rpc: {
        request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => {
          if (!ownersUp) throw new Error('owner down')
          if (request.type === 'store') stored.push(`${new TextDecoder().decode(request.key)}→${to.equals(a) ? 'a' : to.equals(b) ? 'b' : 'c'}`)
          return { status: 'ok' }
        }
      },
      members: { notLeft: () => [] }
    }, { n: 3, margin: 0, interval: 3_600_000 })
    for (let i = 0; i < 50; i++) await engine.update(enc.encode(`own-${i}`), () => recordOf('x'))
    handoff.start()
    try {
      const full = await handoff.pass()
      expect(full).to.include({ handedOff: 0, pendingHints: 0 })

      // nothing changed: an incremental pass reads nothing
      engine.reads = 0
      await handoff.incrementalPass()
      expect(engine.reads).to.equal(0)

      // one owned key rewritten, one hinted copy and one copy of a key self does not own arrive
      await engine.update(enc.encode('own-7'), () => recordOf('y'))
      await engine.update(enc.encode('hinted'), () => recordOf('h', [c.toString()]))
      await engine.update(enc.encode('stray'), () => recordOf('s'))
      engine.reads = 0
      const down = await handoff.incrementalPass()
      // the rewritten owned key is settled by ranking alone; the two others are read
      expect(engine.reads).to.equal(2)
      expect(down).to.include({ handedOff: 0, pendingHints: 1 })

      // owners back: the hint is retried though it did not change; both copies go home and are deleted
      ownersUp = true
      const up = await handoff.incrementalPass()
      expect(up).to.include({ handedOff: 2, pendingHints: 0 })
      expect(stored.sort()).to.deep.equal(['hinted→a', 'hinted→b', 'hinted→c', 'stray→a', 'stray→b', 'stray→c'])
      expect(await engine.get(enc.encode('hinted'))).to.equal(undefined)
      expect(await engine.get(enc.encode('stray'))).to.equal(undefined)
      expect(await engine.count()).to.equal(50)
    } finally {
      await handoff.stop()
      await engine.close()
    }
  })
})
