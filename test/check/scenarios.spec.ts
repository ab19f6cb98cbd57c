/**
 * The short versions of `p2pstore check`'s scenarios, end to end: a process test net, the workload,
 * the scenario's faults, the final R = N reads and the verdict. Each must lose nothing that was
 * acknowledged, and must really have exercised the store (acknowledged writes, faults injected).
 * The long versions are `npm run check:long`.
 */
import fs from 'node:fs/promises'
import { runCheck } from '../../src/check/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { CheckReport, HistoryEntry } from '../../src/check/index.ts'

function expectClean (report: CheckReport): void {
  const detail = `lost ${JSON.stringify(report.lostSample)}, unexpected ${JSON.stringify(report.unexpectedSample)}, dominated ${JSON.stringify(report.dominatedSample)} (seed ${report.seed}, history ${report.history})`
  expect(report.lost, detail).to.equal(0)
  expect(report.unexpected, detail).to.equal(0)
  expect(report.dominatedSiblings, detail).to.equal(0)
  expect(report.corruptValues).to.equal(0)
  expect(report.unreadableKeys).to.equal(0)
  expect(report.passed).to.equal(true)
}

describe('check: short scenarios on a process test net', function () {
  this.timeout(240_000)
  const cleanup = useCleanup()

  it('kill: peers SIGKILLed during writes and restarted lose no acknowledged write', async () => {
    const dir = await cleanup.tempDir()
    const report = await runCheck({ scenario: 'kill', peers: 5, duration: 15, seed: 1, history: `${dir}/history.jsonl` })
    expectClean(report)
    expect(report.faults.filter(f => f.fault.startsWith('kill'))).to.have.length(2)
    expect(report.faults.filter(f => f.fault.startsWith('restart'))).to.have.length(2)
    expect(report.acked).to.be.greaterThan(100)
    // the history file holds every operation, one JSON object per line
    const lines = (await fs.readFile(report.history, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as HistoryEntry)
    expect(lines.filter(l => l.type === 'invoke')).to.have.length(report.attempted)
    expect(lines.filter(l => l.type === 'fault')).to.have.length(4)
  })

  it('partition: writers on both sides of a 2|3 split lose nothing once healed', async () => {
    const dir = await cleanup.tempDir()
    const report = await runCheck({ scenario: 'partition', peers: 5, duration: 15, seed: 2, history: `${dir}/history.jsonl` })
    expectClean(report)
    expect(report.faults.map(f => f.fault.split(' ')[0])).to.deep.equal(['partition', 'heal'])
    expect(report.acked).to.be.greaterThan(100)
  })

  it('concurrent: ten clients on one key leave concurrent siblings, never a lost write', async () => {
    const dir = await cleanup.tempDir()
    const report = await runCheck({ scenario: 'concurrent', peers: 4, duration: 10, seed: 3, history: `${dir}/history.jsonl` })
    expectClean(report)
    expect(report.keys).to.equal(1)
    expect(report.acked).to.be.greaterThan(100)
    // blind writes race read-modify-writes: some read-modify-writes must have read siblings
    const lines = (await fs.readFile(report.history, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as HistoryEntry)
    expect(lines.filter(l => l.type === 'ok' && l.f === 'rmw' && (l.siblings ?? 0) > 1)).to.not.have.length(0)
  })

  it('catches the writes last-write-wins loses: clients that resolve siblings by LWW lose acknowledged writes', async () => {
    const dir = await cleanup.tempDir()
    const report = await runCheck({ scenario: 'concurrent', peers: 4, duration: 10, seed: 4, lww: true, history: `${dir}/history.jsonl` })
    expect(report.lost).to.be.greaterThan(0)
    expect(report.unexpected).to.equal(0)
    expect(report.passed).to.equal(false)
  })
})
