import { PurgeHandler } from '../../../../src/replication/rpc/handlers/purge.ts'
import { expect } from '../../../utils/expect.ts'
import { aborted, enc, openEngine, peerIds, written } from '../../../utils/replication.ts'

describe('replication rpc handler: purge', () => {
  it('deletes the record only while it holds exactly the confirmed state', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const key = enc.encode('k')
    const tombstone = written('', 'a'.repeat(24), { deleted: true })
    const handler = new PurgeHandler({ engine })

    // a write arrived since the GC leader read it: the purge leaves it
    const newer = written('new', 'b'.repeat(24), { base: tombstone })
    await engine.update(key, () => ({ set: newer }))
    expect(await handler.handle({ type: 'purge', key, state: tombstone }, from, {})).to.deep.equal({ status: 'not-found' })
    expect((await engine.get(key))?.set).to.deep.equal(newer)

    await engine.update(key, () => ({ set: tombstone }))
    expect(await handler.handle({ type: 'purge', key, state: tombstone }, from, {})).to.deep.equal({ status: 'ok' })
    expect(await engine.get(key)).to.equal(undefined)
    // a missing key purges nothing
    expect(await handler.handle({ type: 'purge', key, state: tombstone }, from, {})).to.deep.equal({ status: 'not-found' })
  })

  it('rejects with AbortError and keeps the record when aborted', async () => {
    const engine = await openEngine()
    const [from] = await peerIds(1)
    if (from == null) throw new Error('no peer')
    const key = enc.encode('k')
    const tombstone = written('', 'a'.repeat(24), { deleted: true })
    await engine.update(key, () => ({ set: tombstone }))
    await expect(new PurgeHandler({ engine }).handle({ type: 'purge', key, state: tombstone }, from, { signal: aborted() }))
      .to.eventually.be.rejected.with.property('name', 'AbortError')
    expect((await engine.get(key))?.set).to.deep.equal(tombstone)
  })
})
