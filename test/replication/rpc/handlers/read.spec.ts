import { ReadHandler } from '../../../../src/replication/rpc/handlers/read.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, written } from '../../../utils/replication.ts'

describe('replication rpc handler: read', () => {
  it('answers the stored sibling set, or not-found, and changes nothing', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const state = written('v1')
    await engine.update(enc.encode('k'), () => ({ set: state }))
    const handler = new ReadHandler({ engine })

    const hit = await handler.handle({ type: 'read', key: enc.encode('k') }, from, {})
    expect(hit).to.deep.equal({ status: 'ok', state })
    expect(await handler.handle({ type: 'read', key: enc.encode('missing') }, from, {})).to.deep.equal({ status: 'not-found' })
    expect(await engine.get(enc.encode('missing'))).to.equal(undefined)
  })

  it('rejects with AbortError when the request was aborted', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    await expect(new ReadHandler({ engine }).handle({ type: 'read', key: enc.encode('k') }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
