import { QuorumNotReachedError } from '../../../src/errors.ts'
import { errorResponse, expectOk, remoteError } from '../../../src/replication/rpc/errors.ts'
import { expect } from '../../utils/expect.ts'
import { peerIds } from '../../utils/replication.ts'

describe('replication rpc: remote errors', () => {
  it('rebuilds a replica\'s error as the same class, message first, naming the peer', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const err = remoteError(errorResponse(new QuorumNotReachedError([], 'quorum not reached: 1 of 2 acks (retry, or lower --w)')), peer)
    expect(err).to.be.instanceOf(QuorumNotReachedError)
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect(err.message).to.match(/^quorum not reached: 1 of 2 acks \(retry, or lower --w\) \(from 12D3…/)
  })

  it('keeps the name of an error it has no class for, and says what an unexpected answer was', async () => {
    const [peer] = await peerIds(1)
    if (peer == null) throw new Error('no peer')
    const odd = new Error('disk on fire')
    odd.name = 'DiskOnFireError'
    expect(remoteError(errorResponse(odd), peer)).to.have.property('name', 'DiskOnFireError')
    expect(() => expectOk({ status: 'not-found' }, peer)).to.throw().with.property('name', 'InvalidMessageError')
    expect(expectOk({ status: 'ok', acks: 2 }, peer)).to.deep.equal({ status: 'ok', acks: 2 })
  })
})
