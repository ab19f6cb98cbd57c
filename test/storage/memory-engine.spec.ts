import { MemoryEngine } from '../../src/storage/index.ts'
import { expect } from '../utils/expect.ts'
import { GatedEngine } from '../utils/gated-engine.ts'
import { engineCompliance } from './compliance.ts'
import type { StoredRecord } from '../../src/storage/index.ts'

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

describe('MemoryEngine under a failing write', () => {
  const key = new TextEncoder().encode('k')
  const record = (actor: string, counter: number): StoredRecord => ({
    actor,
    set: {
      siblings: [{ dot: { actor, counter }, value: Uint8Array.of(counter), timestamp: counter, deleted: false }],
      context: { vv: new Map([[actor, counter]]), cloud: [] }
    }
  })

  it('retires every incarnation handed out when a prepared write fails, and none when an unprepared one does', async () => {
    const engine = new GatedEngine()
    await engine.open()
    try {
      expect(await engine.nextIncarnation()).to.equal(1)
      expect(await engine.nextIncarnation()).to.equal(2)

      // a write that fails without onPrepared: nothing left the process, nothing is retired
      const plain = engine.holdNextWrite()
      const failing = engine.update(key, () => record('aa01', 1))
      await plain.arrived
      plain.fail(new Error('disk full'))
      await expect(failing).to.eventually.be.rejectedWith('disk full')
      expect(engine.retiredUpTo).to.equal(0)

      // the same with onPrepared: what it handed out may be on its way, so 1 and 2 are retired
      const prepared = engine.holdNextWrite()
      let handedOut = false
      const failingPrepared = engine.update(key, () => record('aa01', 1), { onPrepared: () => { handedOut = true } })
      await prepared.arrived
      expect(handedOut, 'onPrepared runs before the write').to.equal(true)
      prepared.fail(new Error('disk full'))
      await expect(failingPrepared).to.eventually.be.rejectedWith('disk full')
      expect(engine.retiredUpTo).to.equal(2)
      expect(await engine.get(key)).to.equal(undefined)
      // numbers handed out later are not retired
      expect(await engine.nextIncarnation()).to.equal(3)
      expect(engine.retiredUpTo).to.equal(2)
    } finally {
      await engine.close()
    }
  })
})
