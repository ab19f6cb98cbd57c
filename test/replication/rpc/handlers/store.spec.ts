import { mergeSiblingSets } from '../../../../src/clock/index.ts'
import { StoreHandler } from '../../../../src/replication/rpc/handlers/store.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, written } from '../../../utils/replication.ts'

describe('replication rpc handler: store', () => {
  it('merges the state into the local copy durably, keeping what was there', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const key = enc.encode('k')
    const mine = written('mine', 'a'.repeat(24))
    const theirs = written('theirs', 'b'.repeat(24))
    await engine.update(key, () => ({ set: mine, actor: 'a'.repeat(24) }))

    expect(await new StoreHandler({ engine }).handle({ type: 'store', key, state: theirs }, from, {})).to.deep.equal({ status: 'ok' })
    const record = await engine.get(key)
    expect(record?.set).to.deep.equal(mergeSiblingSets(mine, theirs))
    // the record's local field survives a merge
    expect(record?.actor).to.equal('a'.repeat(24))
    expect(record?.hintFor).to.equal(undefined)
  })

  it('marks a copy it did not hold as hinted, but never turns a replica into a hint', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const handler = new StoreHandler({ engine })
    await handler.handle({ type: 'store', key: enc.encode('new'), state: written('x'), hintFor: ['owner'] }, from, {})
    expect((await engine.get(enc.encode('new')))?.hintFor).to.deep.equal(['owner'])

    await engine.update(enc.encode('held'), () => ({ set: written('x') }))
    await handler.handle({ type: 'store', key: enc.encode('held'), state: written('y', 'c'.repeat(24)), hintFor: ['owner'] }, from, {})
    expect((await engine.get(enc.encode('held')))?.hintFor).to.equal(undefined)
  })

  it('stores nothing for an empty state, and nothing when aborted (AbortError)', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const handler = new StoreHandler({ engine })
    await handler.handle({ type: 'store', key: enc.encode('empty'), state: { siblings: [], context: { vv: new Map(), cloud: [] } } }, from, {})
    expect(await engine.get(enc.encode('empty'))).to.equal(undefined)

    await expect(handler.handle({ type: 'store', key: enc.encode('k'), state: written('v') }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
    expect(await engine.get(enc.encode('k'))).to.equal(undefined)
  })
})
