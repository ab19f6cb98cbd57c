import { checkHistory, encodeValue, passed } from '../../src/check/index.ts'
import { classify } from '../../src/check/workload.ts'
import { expect } from '../utils/expect.ts'
import type { FinalRead, HistoryEntry } from '../../src/check/index.ts'

/** A write of `element` to `key` by client 0 that ended with `outcome`. */
function write (key: string, element: string, outcome: 'ok' | 'fail' | 'unknown' | 'none', f: 'write' | 'rmw' = 'write'): HistoryEntry[] {
  const invoke: HistoryEntry = { type: 'invoke', time: 0, client: 0, f, key, element, peer: 0 }
  if (outcome === 'none') return [invoke]
  return [invoke, { type: outcome, time: 1, client: 0, f, key, element, peer: 0, latencyMs: 1 }]
}

function read (...values: Array<{ w: string, s: string[] }>): FinalRead {
  return { ok: true, siblings: values.map(v => encodeValue(v)), latencyMs: 1 }
}

describe('check: the checker', () => {
  it('passes when every acknowledged element is in the final siblings', () => {
    const history = [...write('k', 'c0:1', 'ok'), ...write('k', 'c1:1', 'ok')]
    const counts = checkHistory(history, new Map([['k', read({ w: 'c0:1', s: ['c0:1'] }, { w: 'c1:1', s: ['c1:1'] })]]))
    expect(counts).to.include({ attempted: 2, acked: 2, lost: 0, unexpected: 0, maxSiblings: 2 })
    expect(passed(counts)).to.equal(true)
  })

  it('counts an acknowledged element missing from the final read as lost', () => {
    const history = [...write('k', 'c0:1', 'ok'), ...write('k', 'c1:1', 'ok')]
    const counts = checkHistory(history, new Map([['k', read({ w: 'c1:1', s: ['c1:1'] })]]))
    expect(counts.lost).to.equal(1)
    expect(counts.lostSample).to.deep.equal([{ key: 'k', element: 'c0:1' }])
    expect(passed(counts)).to.equal(false)
  })

  it('does not count an element carried forward by a read-modify-write as lost', () => {
    const history = [...write('hot', 'c0:1', 'ok', 'rmw'), ...write('hot', 'c1:1', 'ok', 'rmw')]
    const counts = checkHistory(history, new Map([['hot', read({ w: 'c1:1', s: ['c0:1', 'c1:1'] })]]), new Set(['hot']))
    expect(counts.lost).to.equal(0)
    expect(counts.maxHotSiblings).to.equal(1)
  })

  it('counts a deleted key (not found) as losing its acknowledged elements', () => {
    const counts = checkHistory(write('k', 'c0:1', 'ok'), new Map([['k', { ok: true, siblings: [], latencyMs: 1 }]]))
    expect(counts.lost).to.equal(1)
  })

  it('counts elements never written to that key as unexpected', () => {
    const history = write('k', 'c0:1', 'ok')
    const counts = checkHistory(history, new Map([['k', read({ w: 'c0:1', s: ['c0:1', 'c9:9'] })]]))
    expect(counts.unexpected).to.equal(1)
    expect(counts.unexpectedSample).to.deep.equal([{ key: 'k', element: 'c9:9' }])
    expect(passed(counts)).to.equal(false)
  })

  it('counts failed, unknown and unfinished writes that are present as recovered, not as anomalies', () => {
    const history = [...write('k', 'c0:1', 'unknown'), ...write('k', 'c0:2', 'fail'), ...write('k', 'c0:3', 'none'), ...write('k', 'c0:4', 'unknown')]
    const counts = checkHistory(history, new Map([['k', read({ w: 'c0:1', s: ['c0:1'] }, { w: 'c0:2', s: ['c0:2'] }, { w: 'c0:3', s: ['c0:3'] })]]))
    expect(counts).to.include({ recovered: 3, lost: 0, unexpected: 0, unknown: 2, failed: 1, acked: 0, attempted: 4 })
    expect(passed(counts)).to.equal(true)
  })

  it('flags siblings that are not concurrent: one carries the other\'s own element', () => {
    const history = [...write('hot', 'c0:1', 'ok', 'rmw'), ...write('hot', 'c1:1', 'ok', 'rmw')]
    const counts = checkHistory(history, new Map([['hot', read({ w: 'c0:1', s: ['c0:1'] }, { w: 'c1:1', s: ['c0:1', 'c1:1'] })]]))
    expect(counts.dominatedSiblings).to.equal(1)
    expect(counts.dominatedSample).to.deep.equal([{ key: 'hot', older: 'c0:1', newer: 'c1:1' }])
    expect(passed(counts)).to.equal(false)
  })

  it('fails on values that are not workload values and on keys that could not be read', () => {
    const history = [...write('a', 'c0:1', 'ok'), ...write('b', 'c0:2', 'ok')]
    const counts = checkHistory(history, new Map<string, FinalRead>([
      ['a', { ok: true, siblings: ['{"w":"c0:1","s":["c0:1"]}', 'garbage'], latencyMs: 1 }],
      ['b', { ok: false, siblings: [], latencyMs: 1 }]
    ]))
    expect(counts).to.include({ corruptValues: 1, unreadableKeys: 1, lost: 0 })
    expect(passed(counts)).to.equal(false)
  })

  it('ignores faults and reads in the history', () => {
    const history: HistoryEntry[] = [{ type: 'fault', time: 0, fault: 'kill peer-1' }, ...write('k', 'c0:1', 'ok')]
    const counts = checkHistory(history, new Map([['k', read({ w: 'c0:1', s: ['c0:1'] })]]))
    expect(counts).to.include({ attempted: 1, acked: 1, keys: 1 })
  })
})

describe('check: outcome of a failed request', () => {
  const error = (name: string, message = ''): Error => Object.assign(new Error(message), { name })

  it('a refused connection or a rejected request certainly wrote nothing', () => {
    expect(classify(error('DaemonUnreachableError', 'cannot reach the daemon at http://127.0.0.1:1 (ECONNREFUSED)'))).to.equal('fail')
    expect(classify(error('TooManySiblingsError'))).to.equal('fail')
    expect(classify(error('InvalidParametersError'))).to.equal('fail')
  })

  it('timeouts, resets and quorum failures may have written: unknown', () => {
    expect(classify(error('TimeoutError'))).to.equal('unknown')
    expect(classify(error('QuorumNotReachedError'))).to.equal('unknown')
    expect(classify(error('DaemonUnreachableError', 'cannot reach the daemon (ECONNRESET)'))).to.equal('unknown')
    expect(classify(error('Error', 'HTTP 500'))).to.equal('unknown')
  })
})
