import { defaultLogger } from '@libp2p/logger'
import { stubInterface } from 'sinon-ts'
import { Coordinator } from '../../src/replication/index.ts'
import { expect } from '../utils/expect.ts'
import { enc, openEngine, peerIds, placed } from '../utils/replication.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { CoordinatorComponents } from '../../src/replication/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

describe('quota: a hinted copy refused over quota', () => {
  it('makes the coordinator try the next fallback, as for any replica that failed', async () => {
    const [self, b, down, full, spare] = await peerIds(5) as [PeerId, PeerId, PeerId, PeerId, PeerId]
    const sent: Array<{ peer: string, request: KvRequest }> = []
    const rpc = stubInterface<CoordinatorComponents['rpc']>()
    rpc.request.callsFake(async (peer: PeerId, request: KvRequest, _options: AbortOptions = {}): Promise<KvResponse> => {
      sent.push({ peer: peer.toString(), request })
      if (peer.equals(down)) throw Object.assign(new Error('unreachable'), { name: 'DialError' })
      // the first fallback holds its share of our hints already (hint-quota.ts answers this way)
      if (peer.equals(full)) return { status: 'error', errorName: 'QuotaExceededError', errorMessage: 'hinted copy of 4 bytes refused: over its share' }
      return { status: 'ok' }
    })
    const placement = stubInterface<CoordinatorComponents['placement']>()
    placement.homeReplicas.callsFake(async (_key: Uint8Array, n: number) => placed([self, b, down]).slice(0, n))
    placement.preferenceList.callsFake(async () => [...placed([self, b, down]), ...placed([full, spare])])
    const coordinator = new Coordinator({ logger: defaultLogger(), peerId: self, engine: await openEngine(), rpc, placement }, {})
    const result = await coordinator.put(enc.encode('k'), enc.encode('v'), { w: 3 })
    expect(result.acks).to.equal(3)
    const hinted = sent.filter(s => s.request.type === 'store' && s.request.hintFor != null).map(s => s.peer)
    expect(hinted).to.deep.equal([full.toString(), spare.toString()])
  })
})
