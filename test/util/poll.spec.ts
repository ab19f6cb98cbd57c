import { pollUntil } from '../../src/util/index.ts'
import { expect } from '../utils/expect.ts'

describe('util: pollUntil', () => {
  it('checks until the condition holds, pausing between checks', async () => {
    let checks = 0
    await pollUntil(() => ++checks === 3, { interval: 1, error: () => new Error('never') })
    expect(checks).to.equal(3)
  })

  it('takes async conditions and returns at once when the first check holds', async () => {
    let checks = 0
    await pollUntil(async () => { checks++; return true }, { timeout: 0, error: () => new Error('never') })
    expect(checks).to.equal(1)
  })

  it('throws the error made after the last check once the timeout has passed', async () => {
    let checks = 0
    const err = await pollUntil(() => { checks++; return false }, { timeout: 30, interval: 5, error: () => new Error(`gave up after ${checks}`) })
      .then(() => undefined, (e: unknown) => e as Error)
    expect(err?.message).to.match(/^gave up after \d+$/)
    expect(err?.message).to.equal(`gave up after ${checks}`)
  })

  it('ends the pause when the signal fires, checks once more, then throws', async () => {
    const controller = new AbortController()
    let checks = 0
    const began = Date.now()
    setTimeout(() => { controller.abort() }, 20)
    const polling = pollUntil(() => { checks++; return false }, { interval: 60_000, signal: controller.signal, error: () => new Error('aborted') })
    await expect(polling).to.eventually.be.rejectedWith('aborted')
    expect(checks).to.equal(2)
    expect(Date.now() - began).to.be.lessThan(10_000)
  })

  it('a condition that throws ends the wait with its error', async () => {
    await expect(pollUntil(() => { throw new RangeError('bad') }, { error: () => new Error('never') }))
      .to.eventually.be.rejected.with.property('name', 'RangeError')
  })
})
