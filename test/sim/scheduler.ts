/**
 * The simulator's discrete-event scheduler: timers in simulated time kept in a binary heap, fired
 * in time order (ties in the order they were set). After each instant it lets every microtask run
 * (one `setImmediate` turn) before the clock moves on, so async/await code driven by it — the
 * membership core's probe loop, a request waiting for its reply — behaves as it would under real
 * timers, only without waiting for them.
 */

/** A timer set on the scheduler. */
export interface SimTimer {
  /** simulated ms at which it fires */
  readonly at: number
  /** cancels it (a no-op once it fired) */
  cancel(): void
  /** compatibility with Node's timers: a simulated timer never keeps a process alive anyway */
  unref(): SimTimer
  ref(): SimTimer
  hasRef(): boolean
}

class Entry implements SimTimer {
  readonly at: number
  readonly seq: number
  fn: (() => void) | undefined

  constructor (at: number, seq: number, fn: () => void) {
    this.at = at
    this.seq = seq
    this.fn = fn
  }

  cancel (): void {
    this.fn = undefined
  }

  unref (): SimTimer { return this }
  ref (): SimTimer { return this }
  hasRef (): boolean { return false }
}

function before (a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** Options of `Scheduler.run`. */
export interface RunOptions {
  /** called about every `progressEvery` ms of wall-clock time with the simulated time */
  onProgress?(now: number): void
  /** @default 10_000 */
  progressEvery?: number
  /** stop early once this returns true (checked after each instant) */
  until?(): boolean
}

/** A clock and timers in simulated time, starting at `start` ms. */
export class Scheduler {
  private readonly heap: Entry[] = []
  private seq = 0
  private time: number
  /** timers fired so far */
  events = 0
  /** instants (distinct times) after which microtasks were drained */
  instants = 0

  constructor (start = 0) {
    this.time = start
  }

  /** the simulated time, in ms */
  now (): number {
    return this.time
  }

  /** Calls `fn` after `ms` simulated milliseconds (at once if ms ≤ 0, after what is due now). */
  setTimeout (fn: () => void, ms: number): SimTimer {
    const entry = new Entry(this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), this.seq++, fn)
    this.push(entry)
    return entry
  }

  /** Cancels a timer set by `setTimeout` (anything else is ignored). */
  clearTimeout (timer: unknown): void {
    if (timer instanceof Entry) timer.cancel()
  }

  /** how many timers are pending (cancelled ones included until their time comes) */
  get pending (): number {
    return this.heap.length
  }

  /**
   * Runs every timer due up to simulated time `end` (ms), draining microtasks after each instant,
   * then leaves the clock at `end`.
   */
  async run (end: number, options: RunOptions = {}): Promise<void> {
    const every = options.progressEvery ?? 10_000
    let lastProgress = performance.now()
    await drain()
    for (;;) {
      const top = this.heap[0]
      if (top == null || top.at > end) break
      this.time = top.at
      // every timer of this instant first, then what they started
      while (this.heap.length > 0 && (this.heap[0] as Entry).at === this.time) {
        const entry = this.pop()
        const fn = entry.fn
        if (fn == null) continue
        entry.fn = undefined
        this.events++
        fn()
      }
      this.instants++
      await drain()
      if (options.until?.() === true) return
      if (options.onProgress != null && this.instants % 1024 === 0) {
        const wall = performance.now()
        if (wall - lastProgress >= every) {
          lastProgress = wall
          options.onProgress(this.time)
        }
      }
    }
    this.time = Math.max(this.time, end)
  }

  private push (entry: Entry): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = Math.floor((i - 1) / 2)
      const p = heap[parent] as Entry
      if (!before(entry, p)) break
      heap[i] = p
      i = parent
    }
    heap[i] = entry
  }

  private pop (): Entry {
    const heap = this.heap
    const top = heap[0] as Entry
    const last = heap.pop() as Entry
    if (heap.length > 0) {
      let i = 0
      const n = heap.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const child = r < n && before(heap[r] as Entry, heap[l] as Entry) ? r : l
        const c = heap[child] as Entry
        if (!before(c, last)) break
        heap[i] = c
        i = child
      }
      heap[i] = last
    }
    return top
  }
}

/** Lets every queued microtask (and those they queue) run. */
async function drain (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
