import { stubInterface } from 'sinon-ts'
import { DigestsHandler } from '../../../../src/replication/rpc/handlers/digests.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, peerIds } from '../../../utils/replication.ts'
import type { DigestsHandlerComponents } from '../../../../src/replication/rpc/handlers/digests.ts'
import type { AbortOptions } from '@libp2p/interface'

describe('replication rpc handler: digests', () => {
  it('answers the digests of the requested buckets for the requester', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const antiEntropy = stubInterface<DigestsHandlerComponents['antiEntropy']>()
    const digests = [{ key: enc.encode('k'), hash: Uint8Array.from([9]) }]
    antiEntropy.digestsFor.resolves(digests)
    expect(await new DigestsHandler({ antiEntropy }).handle({ type: 'digests', buckets: [3, 7] }, from, {})).to.deep.equal({ status: 'ok', digests })
    expect(antiEntropy.digestsFor.firstCall.args.slice(0, 2)).to.deep.equal([from, [3, 7]])
  })

  it('rejects with AbortError when aborted', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const antiEntropy = stubInterface<DigestsHandlerComponents['antiEntropy']>()
    antiEntropy.digestsFor.callsFake(async (_peer: unknown, _buckets: unknown, options: AbortOptions) => { options.signal?.throwIfAborted(); return [] })
    await expect(new DigestsHandler({ antiEntropy }).handle({ type: 'digests', buckets: [1] }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
