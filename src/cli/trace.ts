import { formatTrace } from '../metrics/index.ts'
import { shortPeerId } from '../util/index.ts'
import type { CommandContext } from './context.ts'
import type { TraceJson } from '../metrics/index.ts'

/**
 * Prints a request trace (`--trace`) on stderr as a timeline, so that stdout stays the value. With
 * `--json` the trace is part of the JSON result instead (`trace`), and nothing more is printed.
 */
export function printTrace (ctx: CommandContext, trace: TraceJson | undefined): void {
  if (trace == null) return
  ctx.out.info('')
  for (const line of formatTrace(trace, shortPeerId)) ctx.out.info(line)
  ctx.out.info('')
}

/**
 * Runs a traced command's request: on failure the error's trace (from the answer's header) is
 * printed before the error itself.
 */
export async function withTrace<T extends { trace?: TraceJson }> (ctx: CommandContext, enabled: boolean | undefined, run: () => Promise<T>): Promise<T> {
  try {
    const result = await run()
    if (enabled === true) printTrace(ctx, result.trace)
    return result
  } catch (err) {
    if (enabled === true) printTrace(ctx, (err as { trace?: TraceJson }).trace)
    throw err
  }
}
