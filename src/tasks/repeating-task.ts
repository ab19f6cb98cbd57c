import { repeatingTask } from '@libp2p/utils'
import { expected, isProgrammerError } from './failure.ts'
import type { AbortOptions, Logger, Startable } from '@libp2p/interface'
import type { RepeatingTask as Libp2pRepeatingTask } from '@libp2p/utils'

/** Options of a repeating task. */
export interface RepeatingTaskInit {
  /** ms from the end of one run to the start of the next */
  interval: number
  /** how long one run may take before its signal aborts. @default no deadline */
  timeout?: number
  /** the first run starts at `start()` instead of one interval later. @default false */
  runImmediately?: boolean
  /** failing runs are logged here (programmer errors are not swallowed) */
  log: Logger
  /** what the task does, for the log. @default 'repeating task' */
  name?: string
}

/**
 * `repeatingTask` of @libp2p/utils (one run at a time, a signal per run aborted by `stop()`), with
 * three things it cannot do itself:
 *
 * - `stop()` waits for the run in progress, so nothing uses the store after the peer closed it;
 * - a run may return the wait before the next run (a backoff, or a period counted from the start
 *   of the run): the library's `setInterval()` called during a run schedules a second chain of
 *   runs, so it is applied here only once the run has ended and the next one is scheduled;
 * - `wake()` runs the next one now (the library's `run()`, without its 100 ms debounce);
 * - a failing run is logged, and a programmer error (TypeError…) is thrown out of the event loop
 *   rather than swallowed as the library's task runner does.
 */
export class RepeatingTask implements Startable {
  private readonly task: Libp2pRepeatingTask
  private current?: Promise<void>
  private started = false

  constructor (run: (options: AbortOptions) => Promise<number | void>, init: RepeatingTaskInit) {
    const failed = expected(init.log.error, init.name ?? 'repeating task')
    this.task = repeatingTask(async (options: AbortOptions = {}) => {
      const signal = options.signal
      const current = run({ signal }).then(next => {
        if (typeof next === 'number') this.nextInterval(next)
      }, (err: unknown) => {
        // a failed run waits the configured interval, not a short one an earlier run asked for
        this.nextInterval(init.interval)
        if (signal?.aborted === true && !isProgrammerError(err)) return
        try {
          failed(err)
        } catch {
          // the library swallows what its task throws: a programmer error leaves from here instead
          process.nextTick(() => { throw err })
        }
      })
      this.current = current
      await current
    }, init.interval, { timeout: init.timeout, runImmediately: init.runImmediately, debounce: 0 })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.task.start()
  }

  /** Stops the runs: aborts the signal of the one in progress and waits for it to end. */
  async stop (): Promise<void> {
    this.started = false
    this.task.stop()
    await this.current
    this.current = undefined
  }

  /** Sets the wait before the next run, once the library has scheduled it (setInterval() then moves that one). */
  private nextInterval (ms: number): void {
    setImmediate(() => { if (this.started) this.task.setInterval(Math.max(0, ms)) })
  }

  /** Starts the next run now (a no-op while one is running, as before). */
  wake (): void {
    if (this.started) this.task.run()
  }
}
