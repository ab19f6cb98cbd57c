import { defaultLogger } from '@libp2p/logger'
import { stubInterface } from 'sinon-ts'
import { emptyContext } from '../../../../src/clock/index.ts'
import { QuorumNotReachedError } from '../../../../src/errors.ts'
import { CoordinateHandler } from '../../../../src/replication/rpc/handlers/coordinate.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, peerIds, written } from '../../../utils/replication.ts'
import type { CoordinateHandlerComponents } from '../../../../src/replication/rpc/handlers/coordinate.ts'
import type { AbortOptions } from '@libp2p/interface'

describe('replication rpc handler: coordinate', () => {
  const put = { value: enc.encode('v'), deleted: false, context: emptyContext(), n: 3, w: 2, strict: false }

  it('coordinates the forwarded write and answers its context and acks', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const coordinator = stubInterface<CoordinateHandlerComponents['coordinator']>()
    const context = written('v').context
    coordinator.coordinateForwarded.resolves({ context, acks: 2 })
    const handler = new CoordinateHandler({ logger: defaultLogger(), coordinator })
    const response = await handler.handle({ type: 'coordinate', key: enc.encode('k'), put }, from, {})
    expect(response).to.deep.equal({ status: 'ok', context, acks: 2 })
    expect(coordinator.coordinateForwarded.calledOnceWith(enc.encode('k'), put)).to.equal(true)
  })

  it('lets a quorum failure out with its name, for the rpc to answer as an error', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const coordinator = stubInterface<CoordinateHandlerComponents['coordinator']>()
    coordinator.coordinateForwarded.rejects(new QuorumNotReachedError([], 'quorum not reached: 1 of 2 acks'))
    const handler = new CoordinateHandler({ logger: defaultLogger(), coordinator })
    await expect(handler.handle({ type: 'coordinate', key: enc.encode('k'), put }, from, {}))
      .to.eventually.be.rejected.with.property('name', 'QuorumNotReachedError')
  })

  it('passes the signal down: an aborted request rejects with AbortError', async () => {
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const coordinator = stubInterface<CoordinateHandlerComponents['coordinator']>()
    coordinator.coordinateForwarded.callsFake(async (_key: unknown, _put: unknown, options: AbortOptions) => {
      options.signal?.throwIfAborted()
      return { context: emptyContext(), acks: 1 }
    })
    const handler = new CoordinateHandler({ logger: defaultLogger(), coordinator })
    await expect(handler.handle({ type: 'coordinate', key: enc.encode('k'), put }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
