import { ConsistencyViolationError } from '../../errors.ts'
import type { CheckReport, ScenarioName } from '../../check/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore check`. */
export interface CheckOptions {
  scenario: ScenarioName
  peers?: number
  duration?: number
  seed?: number
  clients?: number
  history?: string
  lww?: boolean
  netns?: boolean
  /** every daemon's connection budget */
  maxConnections?: number
}

/**
 * `p2pstore check --scenario NAME`: a fresh process test net, a workload of unique writes, the
 * scenario's faults, then the verdict. Exit 0 when nothing was lost or unexpected, 10 otherwise.
 */
export async function checkCommand (ctx: CommandContext, opts: CheckOptions): Promise<number> {
  const { runCheck } = await import('../../check/index.ts')
  const report = await runCheck({
    scenario: opts.scenario,
    peers: opts.peers,
    duration: opts.duration,
    seed: opts.seed,
    clients: opts.clients,
    history: opts.history,
    lww: opts.lww,
    netns: opts.netns,
    maxConnections: opts.maxConnections,
    signal: ctx.signal,
    onProgress: line => { ctx.out.progress(line) }
  })
  ctx.out.result(report, () => { printReport(ctx, report) })
  if (!report.passed) {
    throw new ConsistencyViolationError(`check ${report.scenario} failed: ${report.lost} lost, ${report.unexpected} unexpected, ${report.dominatedSiblings} dominated siblings, ${report.corruptValues} corrupt values, ${report.unreadableKeys} unreadable keys (seed ${report.seed}, history ${report.history})${report.lww ? ' — expected with --lww: last-write-wins drops concurrent writes' : ''}`)
  }
  return 0
}

function printReport (ctx: CommandContext, r: CheckReport): void {
  ctx.out.line()
  ctx.out.table([
    ['scenario', `${r.scenario} (seed ${r.seed}; replay with --seed ${r.seed})`],
    ['test net', `${r.peers} peers, ${r.clients} clients, ${r.durationS} s${r.lww ? ', clients resolve siblings by last-write-wins' : ''}${r.netns ? ', network namespaces (iptables partitions)' : ''}`],
    ['faults', r.faults.length === 0 ? 'none' : r.faults.map(f => `${(f.atMs / 1000).toFixed(1)} s ${f.fault}`).join('; ')],
    ['writes', `${r.attempted} attempted, ${r.acked} acknowledged (${r.ackedPerSec}/s, p50 ${r.writeLatency.p50Ms} ms, p99 ${r.writeLatency.p99Ms} ms), ${r.unknown} unknown, ${r.failed} failed`],
    ['lost', `${r.lost}${r.lostSample.length === 0 ? '' : `  e.g. ${r.lostSample.slice(0, 5).map(e => `${e.key}:${e.element}`).join(', ')}`}`],
    ['unexpected', `${r.unexpected}${r.unexpectedSample.length === 0 ? '' : `  e.g. ${r.unexpectedSample.slice(0, 5).map(e => `${e.key}:${e.element}`).join(', ')}`}`],
    ['recovered', `${r.recovered} (failed or unknown writes that are present)`],
    ['siblings', `max ${r.maxSiblings} on a key (${r.maxHotSiblings} on a read-modify-write key), ${r.dominatedSiblings} not concurrent`],
    ['converged', `${(r.convergenceMs / 1000).toFixed(1)} s after the faults ended (${r.readPasses} R=N read passes; read p50 ${r.stableRead.p50Ms} ms, p99 ${r.stableRead.p99Ms} ms)`],
    ['history', r.history],
    ['verdict', r.passed ? 'PASS: no acknowledged write lost, nothing unexpected' : 'FAIL']
  ])
}
