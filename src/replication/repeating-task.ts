import { setTimeout as sleep } from 'node:timers/promises'
import { setMaxListeners } from 'main-event'
import type { Logger, Startable } from '@libp2p/interface'

/**
 * Runs `run(signal)` every `interval` ms, one run at a time, from `start()` until `stop()`;
 * `wake()` starts the next run now instead of at the end of the wait. A failing run is logged and
 * the loop goes on; `stop()` aborts the signal of the run in progress and waits for it.
 */
export class RepeatingTask implements Startable {
  private readonly run: (signal: AbortSignal) => Promise<void>
  private readonly interval: number
  private readonly log: Logger
  private shutdown = new AbortController()
  private loop?: Promise<void>
  private wakeUp?: () => void

  constructor (run: (signal: AbortSignal) => Promise<void>, interval: number, log: Logger) {
    this.run = run
    this.interval = interval
    this.log = log
  }

  start (): void {
    if (this.loop != null) return
    this.shutdown = new AbortController()
    setMaxListeners(Infinity, this.shutdown.signal)
    this.loop = this.repeat(this.shutdown.signal)
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    this.wakeUp?.()
    await this.loop
    this.loop = undefined
  }

  /** Starts the next run now. */
  wake (): void {
    this.wakeUp?.()
  }

  private async repeat (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise<void>(resolve => {
        this.wakeUp = resolve
        void sleep(this.interval, undefined, { signal }).then(resolve, resolve)
      })
      this.wakeUp = undefined
      if (signal.aborted) return
      try {
        await this.run(signal)
      } catch (err) {
        if (!signal.aborted) this.log.error('repeating task failed - %e', err)
      }
    }
  }
}
