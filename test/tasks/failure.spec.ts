import { expected, isProgrammerError } from '../../src/tasks/index.ts'
import { expect } from '../utils/expect.ts'

describe('tasks: expected failures', () => {
  it('logs an expected failure and lets programmer errors out', async () => {
    const lines: unknown[][] = []
    const log = (...args: unknown[]): void => { lines.push(args) }
    const network = Object.assign(new Error('connection reset'), { name: 'StreamResetError' })
    await Promise.reject(network).catch(expected(log, 'closing the stream'))
    expect(lines).to.deep.equal([['closing the stream failed - %e', network]])

    for (const bug of [new TypeError('x is not a function'), new RangeError('bad length'), new ReferenceError('y is not defined')]) {
      expect(isProgrammerError(bug)).to.equal(true)
      await expect(Promise.reject(bug).catch(expected(log, 'closing the stream'))).to.eventually.be.rejectedWith(bug)
    }
    expect(lines).to.have.length(1)
  })
})
