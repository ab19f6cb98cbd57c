import { defaultLogger } from '@libp2p/logger'
import { mergeSiblingSets } from '../../src/clock/index.ts'
import { ReadRepair, replicasBehind } from '../../src/replication/read-repair.ts'
import { expect } from '../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, placed, written } from '../utils/replication.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

describe('replication: read repair', () => {
  const older = written('old', 'b'.repeat(24))
  const newer = written('new', 'b'.repeat(24), { base: older, context: older.context })
  const other = written('other', 'c'.repeat(24))

  it('names the replicas whose state the merge grows: behind, diverged or empty', () => {
    const final = mergeSiblingSets(newer, other)
    expect(replicasBehind([
      { peer: 'up-to-date', had: final },
      { peer: 'behind', had: older },
      { peer: 'diverged', had: other },
      { peer: 'empty', had: undefined }
    ], final)).to.deep.equal(['behind', 'diverged', 'empty'])
  })

  it('sends the merge to each replica that lacked part of it, merges locally, and skips those that failed', async () => {
    const [self, b, c, d] = await peerIds(4) as [PeerId, PeerId, PeerId, PeerId]
    const engine = await openEngine()
    const sent: Array<{ to: string, request: KvRequest }> = []
    const repair = new ReadRepair({
      peerId: self,
      engine,
      rpc: { request: async (to: PeerId, request: KvRequest): Promise<KvResponse> => { sent.push({ to: to.toString(), request }); return { status: 'ok' } } }
    }, defaultLogger().forComponent('test:read-repair'))
    const [pSelf, pB, pC, pD] = placed([self, b, c, d])
    if (pSelf == null || pB == null || pC == null || pD == null) throw new Error('no peers')
    repair.start(enc.encode('k'), [
      { replica: pSelf, peer: self.toString(), promise: Promise.resolve(undefined) },
      { replica: pB, peer: b.toString(), promise: Promise.resolve(newer) },
      { replica: pC, peer: c.toString(), promise: Promise.resolve(older) },
      { replica: pD, peer: d.toString(), promise: Promise.reject(new Error('timed out')) }
    ])
    await repair.settled()
    expect(sent.map(s => s.to)).to.deep.equal([c.toString()])
    expect(sent[0]?.request).to.deep.include({ type: 'store', state: newer })
    expect((await engine.get(enc.encode('k')))?.set).to.deep.equal(newer)
  })

  it('repair() with an aborted signal stores nothing locally (the failure is only logged)', async () => {
    const [self, b] = await peerIds(2) as [PeerId, PeerId]
    const engine = await openEngine()
    const repair = new ReadRepair({ peerId: self, engine, rpc: { request: async () => ({ status: 'ok' }) } }, defaultLogger().forComponent('test:read-repair'))
    const [pSelf, pB] = placed([self, b])
    if (pSelf == null || pB == null) throw new Error('no peers')
    await repair.repair(enc.encode('k'), [
      { replica: pSelf, peer: self.toString(), promise: Promise.resolve(undefined) },
      { replica: pB, peer: b.toString(), promise: Promise.resolve(newer) }
    ], { signal: aborted() })
    expect(await engine.get(enc.encode('k'))).to.equal(undefined)
  })
})
