import { chooseToTrim } from '../../src/connections/index.ts'
import { expect } from '../utils/expect.ts'
import type { TrimCandidate } from '../../src/connections/index.ts'

/** A connection named `name` to `peer`, opened at `opened`, idle unless told otherwise. */
function conn (name: string, opened: number, extra: Partial<TrimCandidate<string>> = {}): TrimCandidate<string> {
  return { connection: name, peer: extra.peer ?? name, opened, lastUsed: 0, inFlight: 0, protected: false, ...extra }
}

describe('connections: chooseToTrim (which idle connections the budget closes)', () => {
  const now = 100_000
  const grace = 2_000
  const idleAfter = 250

  it('closes nothing at or below the target', () => {
    expect(chooseToTrim([conn('a', 0), conn('b', 0)], 2, now, grace, idleAfter).close).to.deep.equal([])
    expect(chooseToTrim([], 0, now, grace, idleAfter).close).to.deep.equal([])
  })

  it('closes the least recently used first, down to the target', () => {
    const candidates = [
      conn('used-late', 0, { lastUsed: 90_000 }),
      conn('never-used-old', 10_000),
      conn('used-early', 0, { lastUsed: 50_000 }),
      conn('never-used-older', 5_000)
    ]
    expect(chooseToTrim(candidates, 2, now, grace, idleAfter).close).to.deep.equal(['never-used-older', 'never-used-old'])
    expect(chooseToTrim(candidates, 1, now, grace, idleAfter).close).to.deep.equal(['never-used-older', 'never-used-old', 'used-early'])
    expect(chooseToTrim(candidates, 0, now, grace, idleAfter).close).to.have.length(4)
  })

  it('never closes a connection whose peer has work in flight, or that is protected, even below the target', () => {
    const candidates = [conn('busy', 0, { inFlight: 1 }), conn('neighbour', 0, { protected: true }), conn('idle', 0)]
    expect(chooseToTrim(candidates, 0, now, grace, idleAfter).close).to.deep.equal(['idle'])
  })

  it('spares a new connection no request used yet for the grace period, and a just-used one for idleAfter, and says when to look again', () => {
    const candidates = [
      conn('new', now - 500),
      conn('just-used', 0, { lastUsed: now - 100 }),
      conn('idle', 0, { lastUsed: now - 1000 })
    ]
    const choice = chooseToTrim(candidates, 0, now, grace, idleAfter)
    expect(choice.close).to.deep.equal(['idle'])
    // the just-used one leaves its idle wait first
    expect(choice.retryAt).to.equal(now - 100 + idleAfter)
    // once both waits are over, both go
    expect(chooseToTrim(candidates, 0, now + grace, grace, idleAfter).close).to.deep.equal(['idle', 'new', 'just-used'])
  })

  it('says nothing about a next pass when the target was reached', () => {
    const choice = chooseToTrim([conn('new', now - 10), conn('idle', 0)], 1, now, grace, idleAfter)
    expect(choice).to.deep.equal({ close: ['idle'] })
  })

  it('closes a spare duplicate (no streams, its peer has another connection) even of a busy or protected peer, once idleAfter old', () => {
    const candidates = [
      conn('busy-kept', 0, { peer: 'busy', inFlight: 2 }),
      conn('busy-spare', 1, { peer: 'busy', inFlight: 2, spare: true }),
      conn('n-spare-new', now - 10, { peer: 'n', protected: true, spare: true }),
      conn('n-kept', 0, { peer: 'n', protected: true })
    ]
    const choice = chooseToTrim(candidates, 0, now, grace, idleAfter)
    expect(choice.close).to.deep.equal(['busy-spare'])
    expect(choice.retryAt).to.equal(now - 10 + idleAfter)
  })

  it('counts every connection of a peer: duplicates of an idle peer are closed like any other', () => {
    const candidates = [conn('x1', 0, { peer: 'x' }), conn('x2', 1, { peer: 'x' }), conn('y', 2, { peer: 'y', protected: true })]
    expect(chooseToTrim(candidates, 1, now, grace, idleAfter).close).to.deep.equal(['x1', 'x2'])
  })
})
