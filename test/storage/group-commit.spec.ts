import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultLogger } from '@libp2p/logger'
import { ClassicLevel } from 'classic-level'
import { GroupCommit } from '../../src/storage/group-commit.ts'
import { LevelEngine } from '../../src/storage/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { killWriterWhen } from '../utils/kill-writer.ts'
import type { GroupedOperation } from '../../src/storage/group-commit.ts'
import type { StoredRecord } from '../../src/storage/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const fixturePath = fileURLToPath(new URL('./fixtures/group-writer.ts', import.meta.url))

function put (i: number): GroupedOperation {
  return { type: 'put', key: encoder.encode(`k${i}`), value: encoder.encode(`v${i}`) }
}

function recordOf (text: string): StoredRecord {
  return {
    set: {
      siblings: [{ dot: { actor: 'aa01', counter: 1 }, value: encoder.encode(text), timestamp: 1, deleted: false }],
      context: { vv: new Map([['aa01', 1]]), cloud: [] }
    }
  }
}

/** A stub store: every commit waits until the test releases it, and is counted as one sync. */
function stubStore (): { commits: GroupedOperation[][], release(err?: Error): void, commit(operations: GroupedOperation[]): Promise<void> } {
  const waiting: Array<PromiseWithResolvers<void>> = []
  const commits: GroupedOperation[][] = []
  return {
    commits,
    release (err) {
      const next = waiting.shift()
      if (next == null) throw new Error('no commit is waiting')
      if (err == null) next.resolve()
      else next.reject(err)
    },
    async commit (operations) {
      commits.push(operations)
      const done = Promise.withResolvers<void>()
      waiting.push(done)
      return done.promise
    }
  }
}

/** Resolves once `condition` holds (after other promise callbacks ran). */
async function until (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise(resolve => setImmediate(resolve))
  if (!condition()) throw new Error('condition never held')
}

describe('GroupCommit', () => {
  it('commits the writes that arrive during a sync together, one sync per group, each acknowledged only after its sync', async () => {
    const store = stubStore()
    const group = new GroupCommit(store.commit)
    const acked = new Set<number>()
    const writes = Array.from({ length: 50 }, (_, i) => group.write(put(i)).then(() => { acked.add(i) }))

    // the first write found no commit running and went alone; the other 49 wait for it
    await until(() => store.commits.length === 1)
    expect(store.commits[0]).to.have.length(1)
    expect(acked.size).to.equal(0)

    store.release()
    await until(() => store.commits.length === 2)
    expect([...acked]).to.deep.equal([0])
    expect(store.commits[1]?.map(op => decoder.decode(op.key))).to.deep.equal(Array.from({ length: 49 }, (_, i) => `k${i + 1}`))
    // nothing of the second group is acknowledged before its sync returned
    expect(acked.size).to.equal(1)

    store.release()
    await Promise.all(writes)
    expect(acked.size).to.equal(50)
    expect(store.commits).to.have.length(2)
  })

  it('acknowledges nothing of a group whose sync fails, and goes on with the next group', async () => {
    const store = stubStore()
    const group = new GroupCommit(store.commit)
    const first = group.write(put(0))
    await until(() => store.commits.length === 1)
    const failing = [group.write(put(1)), group.write(put(2)), group.write({ type: 'del', key: encoder.encode('k0') })]
    const outcomes = Promise.allSettled(failing)
    store.release()
    await first
    await until(() => store.commits.length === 2)
    const later = group.write(put(3))
    store.release(new Error('disk full'))
    const settled = await outcomes
    expect(settled.map(s => s.status)).to.deep.equal(['rejected', 'rejected', 'rejected'])
    expect(settled.map(s => s.status === 'rejected' ? (s.reason as Error).message : '')).to.deep.equal(['disk full', 'disk full', 'disk full'])

    // the write that queued during the failed sync goes out in a group of its own
    await until(() => store.commits.length === 3)
    expect(store.commits[2]?.map(op => decoder.decode(op.key))).to.deep.equal(['k3'])
    store.release()
    await later
  })

  it('splits a backlog larger than the group limit into several commits', async () => {
    const store = stubStore()
    const group = new GroupCommit(store.commit, 10)
    const writes = Array.from({ length: 26 }, (_, i) => group.write(put(i)))
    await until(() => store.commits.length === 1)
    store.release()
    await until(() => store.commits.length === 2)
    store.release()
    await until(() => store.commits.length === 3)
    store.release()
    await until(() => store.commits.length === 4)
    store.release()
    await Promise.all(writes)
    expect(store.commits.map(c => c.length)).to.deep.equal([1, 10, 10, 5])
  })
})

describe('LevelEngine group commit', () => {
  const cleanup = useCleanup()

  it('stores many concurrent updates and deletes durably with fewer synced batches than writes', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    // count LevelDB's batches as the engine writes them (each synced one is one fsync)
    const original = ClassicLevel.prototype.batch
    const synced: unknown[][] = []
    let counting = false
    ClassicLevel.prototype.batch = function (this: ClassicLevel, ...args: unknown[]) {
      if (counting && Array.isArray(args[0]) && (args[1] as { sync?: boolean } | undefined)?.sync === true) synced.push(args[0])
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof original
    cleanup.add(() => { ClassicLevel.prototype.batch = original })
    const engine = new LevelEngine({ logger: defaultLogger() }, { path: dbPath })
    cleanup.add(async () => engine.close())
    await engine.open()
    counting = true

    await Promise.all(Array.from({ length: 200 }, async (_, i) => engine.update(encoder.encode(`key-${i}`), () => recordOf(`value-${i}`))))
    await Promise.all(Array.from({ length: 50 }, async (_, i) => engine.delete(encoder.encode(`key-${i * 4}`))))
    counting = false
    const operations = synced.reduce((sum, ops) => sum + ops.length, 0)
    expect(operations).to.equal(250)
    expect(synced.length).to.be.below(250)
    await engine.close()

    const again = new LevelEngine({ logger: defaultLogger() }, { path: dbPath })
    cleanup.add(async () => again.close())
    await again.open()
    expect(await again.count()).to.equal(150)
    for (let i = 0; i < 200; i++) {
      const record = await again.get(encoder.encode(`key-${i}`))
      if (i % 4 === 0) expect(record, `key-${i}`).to.equal(undefined)
      else expect(decoder.decode(record?.set.siblings[0]?.value), `key-${i}`).to.equal(`value-${i}`)
    }
  })

  it('loses no acknowledged write of concurrent groups when its process is killed with SIGKILL', async function () {
    this.timeout(60_000)
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const acked = new Set<number>()
    await killWriterWhen(cleanup, fixturePath, [dbPath], line => {
      const match = /^acked (\d+)$/.exec(line)
      if (match?.[1] != null) acked.add(Number(match[1]))
      // killed while groups are in flight: 32 updates are always pending
      return acked.size >= 300
    })

    const engine = new LevelEngine({ logger: defaultLogger() }, { path: dbPath })
    cleanup.add(async () => engine.close())
    await engine.open()
    for (const i of acked) {
      expect(decoder.decode((await engine.get(encoder.encode(`key-${i}`)))?.set.siblings[0]?.value), `key-${i}`).to.equal(`value-${i}`)
    }
    // besides the acknowledged writes, at most those in flight at the kill (32) may have landed
    expect(await engine.count()).to.be.within(acked.size, acked.size + 32)
  })
})
