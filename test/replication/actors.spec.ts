import { Actors } from '../../src/replication/actors.ts'
import { expect } from '../utils/expect.ts'
import { aborted, openEngine } from '../utils/replication.ts'

describe('replication: actor bookkeeping', () => {
  it('hands out a fresh actor per call, of this store\'s epoch, and keeps one only while it may issue dots', async () => {
    const engine = await openEngine()
    const actors = new Actors(engine)
    const first = await actors.next()
    const second = await actors.next()
    expect(first).to.have.length(24)
    expect(first.startsWith(engine.epoch)).to.equal(true)
    expect(second).to.not.equal(first)
    expect(actors.mayIssue(first)).to.equal(true)
    expect(await actors.for(first)).to.equal(first)
    // another store's actor, or a malformed one, is never reused
    const foreignEpoch = `${engine.epoch.startsWith('f') ? 'e' : 'f'}${engine.epoch.slice(1)}`
    expect(actors.mayIssue(`${foreignEpoch}${first.slice(16)}`)).to.equal(false)
    expect(actors.mayIssue('abc')).to.equal(false)
    expect(await actors.for(undefined)).to.not.equal(second)
  })

  it('next() rejects with AbortError when aborted', async () => {
    const actors = new Actors(await openEngine())
    await expect(actors.next({ signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
