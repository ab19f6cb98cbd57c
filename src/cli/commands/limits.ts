import type { LimitJson, LimitsJson } from '../../limits/index.ts'
import type { CommandContext } from '../context.ts'

/**
 * `p2pstore limits`: every limit the daemon runs with — connections, streams, frames, quotas, the
 * API's timeouts and caps — with the setting or constant behind each, and the most memory each
 * lets peers and clients make it hold, summed at the end. `--json` keeps the API's answer.
 */
export async function limitsCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const report = await client.limits({ signal: ctx.signal })
  if (ctx.out.json) {
    ctx.out.data(report)
    return 0
  }
  ctx.out.columns(['SCOPE', 'LIMIT', 'VALUE', 'SET BY', 'WORST-CASE MEMORY'], report.limits.map(l => [
    l.scope,
    l.name,
    formatValue(l),
    l.source,
    l.worstCaseBytes == null ? '-' : `${formatBytes(l.worstCaseBytes)}${l.worstCase == null ? '' : ` (${l.worstCase})`}`
  ]))
  ctx.out.info(summary(report))
  return 0
}

/** `worst case, all limits reached at once: 64.3 GiB (set \`maxConnections\` lower to shrink it)` */
function summary (report: LimitsJson): string {
  return `worst case with every limit reached at once: ${formatBytes(report.worstCaseBytes)} of memory held for peers and clients; settings are \`config.json\` keys and \`p2pstore daemon\` flags (README, "Configuration")`
}

/** A limit's value in its unit: `64`, `16 KiB`, `30 s`, `200/s`. */
export function formatValue (limit: Pick<LimitJson, 'value' | 'unit'>): string {
  switch (limit.unit) {
    case 'bytes': return formatBytes(limit.value)
    case 'ms': return limit.value % 1000 === 0 ? `${limit.value / 1000} s` : `${limit.value} ms`
    case 'per second': return `${limit.value}/s`
    default: return String(limit.value)
  }
}

/** Bytes in the largest binary unit that keeps a whole or one-decimal number: `1 MiB`, `64.3 GiB`. */
export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`
}
