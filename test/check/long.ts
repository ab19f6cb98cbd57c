/**
 * `npm run check:long`: every `p2pstore check` scenario at full length on a 10-peer process test
 * net, one after another, then a Markdown table of the verdicts (README "Reliability"). Exits 10
 * when any scenario lost or invented data.
 *
 *   npm run check:long [-- --only kill,partition] [--seed K] [--json FILE]
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { runCheck, SCENARIOS } from '../../src/check/index.ts'
import type { CheckReport, ScenarioName } from '../../src/check/index.ts'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'string' }
  }
})
const only = values.only == null ? [...SCENARIOS] : values.only.split(',') as ScenarioName[]
const seed = values.seed == null ? undefined : Number(values.seed)
const controller = new AbortController()
process.once('SIGINT', () => { controller.abort(new Error('SIGINT')) })

const print = (line: string): void => { process.stdout.write(`${line}\n`) }
const reports: CheckReport[] = []
const began = Date.now()
for (const scenario of only) {
  process.stderr.write(`\n=== ${scenario} ===\n`)
  const report = await runCheck({ scenario, seed, signal: controller.signal, onProgress: line => { process.stderr.write(`${line}\n`) } })
  reports.push(report)
  process.stderr.write(`${scenario}: ${report.passed ? 'PASS' : 'FAIL'} — ${report.acked} acked, ${report.lost} lost, ${report.unexpected} unexpected\n`)
}

const cpus = os.cpus()
print(`\n${only.length} scenarios in ${((Date.now() - began) / 60_000).toFixed(1)} min on ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}\n`)
print('| scenario | peers | s | faults | attempted | acked | unknown | failed | lost | unexpected | recovered | max siblings (hot key) | converged | seed |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of reports) {
  print(`| ${r.scenario} | ${r.peers} | ${r.durationS} | ${r.faults.length} | ${r.attempted} | ${r.acked} | ${r.unknown} | ${r.failed} | **${r.lost}** | **${r.unexpected}** | ${r.recovered} | ${r.maxSiblings} (${r.maxHotSiblings}) | ${(r.convergenceMs / 1000).toFixed(1)} s | ${r.seed} |`)
}
if (values.json != null) await fs.writeFile(values.json, `${JSON.stringify(reports, null, 2)}\n`)
process.exitCode = reports.every(r => r.passed) ? 0 : 10
