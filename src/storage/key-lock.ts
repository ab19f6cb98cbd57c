/**
 * A lock per key: tasks under the same name run one after another in arrival order (FIFO), tasks
 * under different names run concurrently. Each name maps to the tail of a promise chain; the entry
 * is removed as soon as its chain runs dry, so the map only holds names with work pending.
 *
 * @packageDocumentation
 */

import { AbortError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'

/** Throws libp2p's `AbortError` when the signal has aborted. */
export function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError('the operation was aborted')
}

/** Resolves when `promise` does, or rejects with `AbortError` as soon as `signal` aborts. */
async function raceAbort (promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (signal == null) {
    await promise
    return
  }
  throwIfAborted(signal)
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        onAbort = () => { reject(new AbortError('the operation was aborted')) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    if (onAbort != null) signal.removeEventListener('abort', onAbort)
  }
}

/** Serializes tasks per name. */
export class KeyLock {
  /** per name, a promise that settles when every task queued under it so far has finished */
  private readonly tails = new Map<string, Promise<void>>()

  /** How many names have tasks running or queued. */
  get size (): number {
    return this.tails.size
  }

  /**
   * Runs `fn` once every task queued earlier under `name` has finished. If `options.signal` aborts
   * before `fn` starts, rejects with `AbortError` and `fn` never runs (the queue goes on without
   * it); once `fn` has started, the signal is `fn`'s business.
   */
  async run<T> (name: string, fn: () => Promise<T>, options: AbortOptions = {}): Promise<T> {
    throwIfAborted(options.signal)
    const previous = this.tails.get(name)
    let release!: () => void
    const released = new Promise<void>(resolve => { release = resolve })
    // the next task waits for the previous ones and for this one, even if this one gives up early
    const tail = previous == null ? released : previous.then(async () => released)
    this.tails.set(name, tail)
    void tail.then(() => {
      // only the last task of a chain removes it: a later one may have appended meanwhile
      if (this.tails.get(name) === tail) this.tails.delete(name)
    })

    try {
      if (previous != null) await raceAbort(previous, options.signal)
      // check again after waiting: the signal may have aborted just as our turn came
      throwIfAborted(options.signal)
      return await fn()
    } finally {
      release()
    }
  }
}
