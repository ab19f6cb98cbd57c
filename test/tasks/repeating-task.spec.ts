import { defaultLogger } from '@libp2p/logger'
import * as FakeTimers from '@sinonjs/fake-timers'
import { RepeatingTask } from '../../src/tasks/index.ts'
import { expect } from '../utils/expect.ts'
import type { Clock } from '@sinonjs/fake-timers'

describe('tasks: RepeatingTask (fake time)', () => {
  let clock: Clock
  const log = defaultLogger().forComponent('test:repeating-task')

  beforeEach(() => { clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] }) })
  afterEach(() => { clock.uninstall() })

  it('runs one interval after start, then every interval after each run ends', async () => {
    const runs: number[] = []
    const task = new RepeatingTask(async () => { runs.push(Date.now()) }, { interval: 1000, log })
    task.start()
    await clock.tickAsync(999)
    expect(runs).to.have.length(0)
    await clock.tickAsync(1)
    await clock.tickAsync(2000)
    expect(runs).to.deep.equal([1000, 2000, 3000])
    await task.stop()
    await clock.tickAsync(5000)
    expect(runs).to.have.length(3)
  })

  it('a run may set the wait before the next one (a backoff), and a failed run goes back to the interval', async () => {
    const runs: number[] = []
    const waits = [100, 400]
    const task = new RepeatingTask(async () => {
      runs.push(Date.now())
      const next = waits.shift()
      if (next == null) throw new Error('a failure the log expects')
      return next
    }, { interval: 1000, runImmediately: true, log })
    task.start()
    await clock.tickAsync(3000)
    // 0, then 100 later, then 400 later, then it fails and waits the interval again (the new wait
    // is applied once the library scheduled the next run: a ms or so after the run ended)
    const expectedRuns = [0, 100, 500, 1500]
    expect(runs).to.have.length.of.at.least(4)
    runs.slice(0, 4).forEach((at, i) => { expect(at).to.be.closeTo(expectedRuns[i] ?? 0, 3) })
    await task.stop()
  })

  it('wake() runs the next one now; stop() aborts the run in progress and waits for it', async () => {
    let signal: AbortSignal | undefined
    let ended = false
    const task = new RepeatingTask(async options => {
      signal = options.signal
      await new Promise<void>(resolve => { options.signal?.addEventListener('abort', () => { resolve() }, { once: true }) })
      ended = true
    }, { interval: 60_000, log })
    task.start()
    task.wake()
    await clock.tickAsync(1)
    expect(signal?.aborted).to.equal(false)
    const stopping = task.stop()
    expect(signal?.aborted).to.equal(true)
    await stopping
    expect(ended).to.equal(true)
  })
})
