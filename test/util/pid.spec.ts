import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { isAlive } from '../../src/util/index.ts'
import { expect } from '../utils/expect.ts'

describe('util: isAlive', () => {
  it('is true for this process and false for a child that has exited', async () => {
    expect(isAlive(process.pid)).to.equal(true)
    const child = spawn(process.execPath, ['-e', ''])
    const pid = child.pid ?? -1
    await once(child, 'exit')
    expect(isAlive(pid)).to.equal(false)
  })

  it('is false for pids that cannot be a process', () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(isAlive(pid), String(pid)).to.equal(false)
  })
})
