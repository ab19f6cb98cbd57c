import { emptyContext, unmetBy } from '../../src/clock/index.ts'
import { expect } from '../utils/expect.ts'
import type { CausalContext, SiblingSet } from '../../src/clock/index.ts'

const value = { dot: { actor: 'aa', counter: 1 }, value: new Uint8Array([1]), timestamp: 1, deleted: false }
const tombstone = { dot: { actor: 'bb', counter: 1 }, value: new Uint8Array(0), timestamp: 2, deleted: true }
const set: SiblingSet = { siblings: [value, tombstone], context: { vv: new Map([['aa', 1], ['bb', 1]]), cloud: [] } }
const sawValue: CausalContext = { vv: new Map([['aa', 1]]), cloud: [] }

describe('clock: write conditions', () => {
  it('if-none-match fails only on live values the context has not seen; if-match on any version', () => {
    expect(unmetBy(set, emptyContext(), 'if-none-match')).to.deep.equal([value])
    expect(unmetBy(set, sawValue, 'if-none-match')).to.deep.equal([])
    expect(unmetBy(set, sawValue, 'if-match')).to.deep.equal([tombstone])
    expect(unmetBy(set, set.context, 'if-match')).to.deep.equal([])
    expect(unmetBy({ siblings: [], context: emptyContext() }, emptyContext(), 'if-match')).to.deep.equal([])
    // a cloud dot counts as seen
    expect(unmetBy(set, { vv: new Map(), cloud: [{ actor: 'aa', counter: 1 }, { actor: 'bb', counter: 1 }] }, 'if-match')).to.deep.equal([])
  })
})
