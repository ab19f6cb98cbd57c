import { KeyLock } from '../../src/storage/key-lock.ts'
import { expect } from '../utils/expect.ts'

function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>(_resolve => { resolve = _resolve })
  return { promise, resolve }
}

describe('KeyLock', () => {
  it('runs tasks of one name in arrival order, one at a time, and forgets names once idle', async () => {
    const lock = new KeyLock()
    const log: string[] = []
    const gate = deferred()
    const tasks = [
      lock.run('a', async () => { log.push('a1 start'); await gate.promise; log.push('a1 end') }),
      lock.run('a', async () => { log.push('a2') }),
      lock.run('b', async () => { log.push('b1') }),
      lock.run('a', async () => { log.push('a3') })
    ]
    await new Promise(resolve => setImmediate(resolve))
    expect(log).to.deep.equal(['a1 start', 'b1'])
    expect(lock.size).to.equal(1)
    gate.resolve()
    await Promise.all(tasks)
    expect(log).to.deep.equal(['a1 start', 'b1', 'a1 end', 'a2', 'a3'])
    await new Promise(resolve => setImmediate(resolve))
    expect(lock.size).to.equal(0)
  })

  it('goes on after a task throws, and after a waiting task is aborted', async () => {
    const lock = new KeyLock()
    const gate = deferred()
    const first = lock.run('k', async () => { await gate.promise; throw new Error('first failed') })
    const controller = new AbortController()
    const aborted = lock.run('k', async () => 'never', { signal: controller.signal })
    const last = lock.run('k', async () => 'last')
    controller.abort()
    await expect(aborted).to.eventually.be.rejected.with.property('name', 'AbortError')
    // the aborted task gave up its place, but the one behind it still waits for the first
    let lastDone = false
    void last.then(() => { lastDone = true })
    await new Promise(resolve => setImmediate(resolve))
    expect(lastDone).to.equal(false)
    gate.resolve()
    await expect(first).to.be.rejectedWith('first failed')
    expect(await last).to.equal('last')
    await new Promise(resolve => setImmediate(resolve))
    expect(lock.size).to.equal(0)
  })

  it('does not grow with the number of keys it has seen', async () => {
    const lock = new KeyLock()
    await Promise.all(Array.from({ length: 1000 }, async (_, i) => lock.run(`key-${i}`, async () => i)))
    await new Promise(resolve => setImmediate(resolve))
    expect(lock.size).to.equal(0)
  })
})
