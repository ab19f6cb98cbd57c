import { MemoryEngine } from '../../src/storage/index.ts'
import { engineCompliance } from './compliance.ts'

engineCompliance('MemoryEngine', async () => ({
  engine: new MemoryEngine(),
  teardown: async () => {}
}), { persistent: false })

describe('MemoryEngine', () => {
  it('gives every instance its own epoch', async () => {
    const a = new MemoryEngine()
    const b = new MemoryEngine()
    await Promise.all([a.open(), b.open()])
    if (a.epoch === b.epoch) throw new Error(`two instances share epoch ${a.epoch}`)
    await Promise.all([a.close(), b.close()])
  })
})
