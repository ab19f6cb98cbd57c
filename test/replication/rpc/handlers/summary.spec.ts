import { stubInterface } from 'sinon-ts'
import { SummaryHandler } from '../../../../src/replication/rpc/handlers/summary.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, peerIds } from '../../../utils/replication.ts'
import type { SummaryHandlerComponents } from '../../../../src/replication/rpc/handlers/summary.ts'
import type { AbortOptions } from '@libp2p/interface'

describe('replication rpc handler: summary', () => {
  it('answers the leaves anti-entropy keeps for the requester', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const antiEntropy = stubInterface<SummaryHandlerComponents['antiEntropy']>()
    const leaves = [Uint8Array.from([1]), Uint8Array.from([2])]
    antiEntropy.leavesFor.resolves(leaves)
    expect(await new SummaryHandler({ antiEntropy }).handle({ type: 'summary' }, from, {})).to.deep.equal({ status: 'ok', leaves })
    expect(antiEntropy.leavesFor.firstCall.args[0]).to.equal(from)
  })

  it('rejects with AbortError when aborted', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const antiEntropy = stubInterface<SummaryHandlerComponents['antiEntropy']>()
    antiEntropy.leavesFor.callsFake(async (_peer: unknown, options: AbortOptions) => { options.signal?.throwIfAborted(); return [] })
    await expect(new SummaryHandler({ antiEntropy }).handle({ type: 'summary' }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
