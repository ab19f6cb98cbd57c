/**
 * The campaign's self-test (`npm run fuzz:self-test`, and in `npm test`): planted faults (planted.ts)
 * must come out as findings — an untyped throw as a crash, a decode that never returns as a hang
 * caught by the watchdog — each saved as a regression that the oracle rejects; a clean decoder
 * gives none.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { expect } from '../utils/expect.ts'
import { runCampaign } from './campaign.ts'
import { checkInput } from './oracle.ts'
import { TARGETS } from './planted.ts'
import { targetNamed } from './targets.ts'
import type { TargetReport } from './campaign.ts'

describe('fuzz campaign: the harness catches planted faults', function () {
  this.timeout(120_000)
  let out: string
  let reports: TargetReport[]

  before(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'p2pstore-fuzz-'))
    reports = await runCampaign({
      targets: TARGETS.map(t => t.name),
      targetsModule: pathToFileURL(path.join(import.meta.dirname, 'planted.ts')).href,
      inputs: 20_000,
      workers: 2,
      seeds: 50,
      maxHangs: 1,
      out
    })
  })

  after(() => {
    rmSync(out, { recursive: true, force: true })
  })

  const report = (name: string): TargetReport => {
    const r = reports.find(r => r.target === name)
    if (r == null) throw new Error(`no report for ${name}`)
    return r
  }

  it('reports a TypeError as a crash and saves an input that reproduces it', async () => {
    const r = report('planted-crash')
    expect(r.crashes).to.be.greaterThan(0)
    expect(r.hangs).to.equal(0)
    expect(r.saved).to.have.length.greaterThan(0)
    const saved = r.saved[0]
    expect(saved?.finding.name).to.equal('TypeError')
    const finding = await checkInput(targetNamed('planted-crash', TARGETS), readFileSync(saved?.file ?? ''))
    expect(finding?.name).to.equal('TypeError')
  })

  it('catches a decode that never returns with the watchdog and saves its input', () => {
    const r = report('planted-hang')
    expect(r.hangs).to.equal(1)
    const saved = r.saved[0]
    expect(saved?.finding.kind).to.equal('hang')
    expect(readFileSync(saved?.file ?? '').byteLength).to.equal(0)
  })

  it('finds nothing in a decoder that throws only its typed error', () => {
    const r = report('planted-clean')
    expect(r.inputs).to.equal(20_000)
    expect(r.crashes + r.hangs + r.roundTrips).to.equal(0)
    expect(r.saved).to.deep.equal([])
  })
})
