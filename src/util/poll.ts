import { setTimeout as sleep } from 'node:timers/promises'

/** Options of `pollUntil()`. */
export interface PollInit {
  /**
   * Give up after this many ms.
   *
   * @default Infinity (only `signal` ends the wait)
   */
  timeout?: number

  /**
   * Pause between two checks, in ms.
   *
   * @default 50
   */
  interval?: number

  /** Give up when it fires; a pause in progress ends at once and the condition is checked once more. */
  signal?: AbortSignal

  /** The error thrown on giving up (timeout or signal), made when it is thrown so it can describe the last check. */
  error(): Error
}

/**
 * Checks `done` until it answers true, pausing `interval` ms between checks; throws `init.error()`
 * once `timeout` has passed or `signal` has fired and the last check still said no. The one
 * polling loop of the code base: daemons' exits, test nets' meshes, tests' conditions.
 */
export async function pollUntil (done: () => boolean | Promise<boolean>, init: PollInit): Promise<void> {
  const deadline = Date.now() + (init.timeout ?? Infinity)
  const interval = init.interval ?? 50
  while (!await done()) {
    if (Date.now() > deadline || init.signal?.aborted === true) throw init.error()
    await sleep(interval, undefined, { signal: init.signal }).catch(() => {})
  }
}
