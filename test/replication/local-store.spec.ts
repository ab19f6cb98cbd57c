import { mergeSiblingSets } from '../../src/clock/index.ts'
import { deleteIfUnchanged, mergeHints, mergeIfConditionHolds, mergeIntoLocal } from '../../src/replication/local-store.ts'
import { expect } from '../utils/expect.ts'
import { aborted, enc, openEngine, written } from '../utils/replication.ts'

describe('replication: local store helpers', () => {
  const key = enc.encode('k')

  it('mergeIntoLocal merges, keeps the actor, writes nothing when nothing is new', async () => {
    const engine = await openEngine()
    const a = written('a', 'a'.repeat(24))
    const b = written('b', 'b'.repeat(24))
    await engine.update(key, () => ({ set: a, actor: 'a'.repeat(24) }))
    let changes = 0
    engine.onChange(() => { changes++ })
    await mergeIntoLocal(engine, key, b)
    expect(await engine.get(key)).to.deep.include({ set: mergeSiblingSets(a, b), actor: 'a'.repeat(24) })
    await mergeIntoLocal(engine, key, b)
    expect(changes).to.equal(1)
  })

  it('mergeIfConditionHolds refuses a write that did not see a version held here (storing nothing), takes one that did, and a retry of it', async () => {
    const engine = await openEngine()
    const a = written('a', 'a'.repeat(24))
    await engine.update(key, () => ({ set: a, actor: 'a'.repeat(24) }))
    const blind = written('b', 'b'.repeat(24))
    await expect(mergeIfConditionHolds(engine, key, blind, 'if-none-match')).to.be.rejected.and.eventually.have.property('name', 'PreconditionFailedError')
    expect((await engine.get(key))?.set).to.deep.equal(a)
    const sawA = written('b', 'b'.repeat(24), { context: a.context })
    await mergeIfConditionHolds(engine, key, sawA, 'if-match')
    await mergeIfConditionHolds(engine, key, sawA, 'if-match')
    expect((await engine.get(key))?.set).to.deep.equal(mergeSiblingSets(a, sawA))
    expect((await engine.get(key))?.actor).to.equal('a'.repeat(24))
    // a missing key meets any condition
    await mergeIfConditionHolds(engine, enc.encode('new'), blind, 'if-none-match')
    expect((await engine.get(enc.encode('new')))?.set).to.deep.equal(blind)
  })

  it('deleteIfUnchanged deletes only the exact state', async () => {
    const engine = await openEngine()
    const a = written('a')
    await engine.update(key, () => ({ set: a }))
    expect(await deleteIfUnchanged(engine, key, written('other', 'c'.repeat(24)))).to.equal(false)
    expect(await deleteIfUnchanged(engine, key, a)).to.equal(true)
    expect(await engine.get(key)).to.equal(undefined)
  })

  it('mergeHints is a sorted union, undefined when empty', () => {
    expect(mergeHints(['b'], ['a', 'b'])).to.deep.equal(['a', 'b'])
    expect(mergeHints(undefined, [])).to.equal(undefined)
  })

  it('both reject with AbortError when aborted and change nothing', async () => {
    const engine = await openEngine()
    const a = written('a')
    await engine.update(key, () => ({ set: a }))
    await expect(mergeIntoLocal(engine, key, written('b', 'b'.repeat(24)), { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
    await expect(deleteIfUnchanged(engine, key, a, { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
    expect((await engine.get(key))?.set).to.deep.equal(a)
  })
})
