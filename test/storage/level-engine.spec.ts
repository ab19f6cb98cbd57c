import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultLogger } from '@libp2p/logger'
import { ClassicLevel } from 'classic-level'
import { INCARNATION_BLOCK } from '../../src/storage/abstract-engine.ts'
import { LevelEngine } from '../../src/storage/index.ts'
import { META_KEYS, objectKey } from '../../src/storage/layout.ts'
import { encodeSchemaVersion } from '../../src/storage/schema-version.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { killWriterWhen } from '../utils/kill-writer.ts'
import { engineCompliance } from './compliance.ts'
import type { StoredRecord } from '../../src/storage/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const fixturePath = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))

function engineAt (dbPath: string): LevelEngine {
  return new LevelEngine({ logger: defaultLogger() }, { path: dbPath })
}

function recordOf (text: string): StoredRecord {
  return {
    set: {
      siblings: [{ dot: { actor: 'aa01', counter: 1 }, value: encoder.encode(text), timestamp: 1, deleted: false }],
      context: { vv: new Map([['aa01', 1]]), cloud: [] }
    }
  }
}

function valueOf (record: StoredRecord | undefined): string | undefined {
  const sibling = record?.set.siblings[0]
  return sibling == null ? undefined : decoder.decode(sibling.value)
}

/** Writes raw bytes under a LevelDB key, bypassing the engine (which must be closed). */
async function writeRaw (dbPath: string, key: Uint8Array, value: Uint8Array): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dbPath, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    await db.put(key, value, { sync: true })
  } finally {
    await db.close()
  }
}

engineCompliance('LevelEngine', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-storage-'))
  const dbPath = path.join(dir, 'storage')
  return {
    engine: engineAt(dbPath),
    reopen: async () => engineAt(dbPath),
    teardown: async () => { await fs.rm(dir, { recursive: true, force: true }) }
  }
}, { persistent: true })

engineCompliance('LevelEngine with asynchronous reads', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-storage-'))
  const dbPath = path.join(dir, 'storage')
  const at = (): LevelEngine => new LevelEngine({ logger: defaultLogger() }, { path: dbPath, syncReads: false })
  return {
    engine: at(),
    reopen: async () => at(),
    teardown: async () => { await fs.rm(dir, { recursive: true, force: true }) }
  }
}, { persistent: true })

describe('LevelEngine', () => {
  const cleanup = useCleanup()

  async function openEngine (dbPath: string): Promise<LevelEngine> {
    const engine = engineAt(dbPath)
    cleanup.add(async () => engine.close())
    await engine.open()
    return engine
  }

  it('creates its directory, parents included, and the meta namespace', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'a', 'b', 'storage')
    const engine = await openEngine(dbPath)
    expect(engine.epoch).to.match(/^[0-9a-f]{16}$/)
    await engine.close()

    const db = new ClassicLevel<Uint8Array, Uint8Array>(dbPath, { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    cleanup.add(async () => db.close())
    expect(decoder.decode(await db.get(META_KEYS.version))).to.equal('1')
    expect(Buffer.from(await db.get(META_KEYS.epoch) ?? []).toString('hex')).to.equal(engine.epoch)
  })

  it('refuses a database of a newer schema version with DataDirError, telling the user to upgrade', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    await (await openEngine(dbPath)).close()
    await writeRaw(dbPath, META_KEYS.version, encodeSchemaVersion(3))
    const engine = engineAt(dbPath)
    await expect(engine.open()).to.be.rejectedWith(/schema version 3, newer .*upgrade p2pstore/).and.eventually.have.property('name', 'DataDirError')
    // the failed open released the LevelDB lock: the directory can be opened again
    await writeRaw(dbPath, META_KEYS.version, encodeSchemaVersion(1))
    await engine.open()
    await engine.close()
  })

  it('refuses a non-empty database without a schema version, and an unreadable one', async () => {
    const base = await cleanup.tempDir()
    const foreign = path.join(base, 'foreign')
    await writeRaw(foreign, encoder.encode('someone else'), encoder.encode('data'))
    await expect(engineAt(foreign).open()).to.be.rejectedWith(/holds data but no schema version/).and.eventually.have.property('name', 'DataDirError')

    const garbled = path.join(base, 'garbled')
    await (await openEngine(garbled)).close()
    await writeRaw(garbled, META_KEYS.version, encoder.encode('v1!'))
    await expect(engineAt(garbled).open()).to.be.rejectedWith(/unreadable schema version/).and.eventually.have.property('name', 'DataDirError')
  })

  it('reports a corrupt record as DataDirError naming the key, and keeps serving other keys', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const first = await openEngine(dbPath)
    await first.update(encoder.encode('good'), () => recordOf('fine'))
    await first.close()
    const badKey = encoder.encode('bad-key')
    await writeRaw(dbPath, objectKey(badKey), Uint8Array.of(0xff, 0xff, 0xff, 0x07, 0x01))

    const engine = await openEngine(dbPath)
    await expect(engine.get(badKey)).to.be.rejectedWith(/corrupt record for key 6261642d6b6579/).and.eventually.have.property('name', 'DataDirError')
    // an update never overwrites what it could not read
    await expect(engine.update(badKey, () => recordOf('new'))).to.eventually.be.rejected.with.property('name', 'DataDirError')
    // a scan does not skip it silently either
    const listing = (async () => { for await (const entry of engine.entries()) expect(entry).to.not.equal(undefined) })()
    await expect(listing).to.eventually.be.rejected.with.property('name', 'DataDirError')

    expect(valueOf(await engine.get(encoder.encode('good')))).to.equal('fine')
    expect(valueOf(await engine.update(encoder.encode('other'), () => recordOf('ok')))).to.equal('ok')
    expect(await engine.count()).to.equal(3)
    // deleting the corrupt key is the way out
    await engine.delete(badKey)
    expect(await engine.get(badKey)).to.equal(undefined)
  })

  it('raises DataDirLockedError for a second engine on a path that is in use', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const first = await openEngine(dbPath)
    const second = engineAt(dbPath)
    await expect(second.open()).to.be.rejectedWith(/locked by another process/).and.eventually.have.property('name', 'DataDirLockedError')
    await first.close()
    // once the holder is gone, the same engine can open (a failed open may be retried)
    await second.open()
    await second.close()
  })

  it('gives a database created anew a different epoch', async () => {
    const base = await cleanup.tempDir()
    const a = await openEngine(path.join(base, 'a'))
    const b = await openEngine(path.join(base, 'b'))
    expect(a.epoch).to.not.equal(b.epoch)
  })

  it('raises DataDirError when the path cannot hold a database', async () => {
    const base = await cleanup.tempDir()
    await fs.writeFile(path.join(base, 'file'), 'x')
    await expect(engineAt(path.join(base, 'file')).open()).to.eventually.be.rejected.with.property('name', 'DataDirError')
  })

  it('loses no acknowledged write when its process is killed with SIGKILL', async function () {
    this.timeout(30_000)
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    let lastAcked = -1
    let incarnation = 0
    let lockChecked = false
    let lockCheck: PromiseLike<unknown> = Promise.resolve()
    const signal = await killWriterWhen(cleanup, fixturePath, [dbPath], line => {
      const taken = /^incarnation (\d+)$/.exec(line)
      if (taken?.[1] != null) incarnation = Number(taken[1])
      const match = /^acked (\d+)$/.exec(line)
      if (match?.[1] == null) return false
      const acked = Number(match[1])
      // acks come in order, one by one
      if (acked !== lastAcked + 1) throw new Error(`ack ${acked} after ${lastAcked}`)
      lastAcked = acked
      if (!lockChecked) {
        lockChecked = true
        // while the child runs, it holds the database: another process gets DataDirLockedError
        lockCheck = expect(engineAt(dbPath).open()).to.eventually.be.rejected.with.property('name', 'DataDirLockedError')
      }
      return lastAcked >= 199
    })
    await lockCheck
    expect(signal).to.equal('SIGKILL')

    const engine = await openEngine(dbPath)
    for (let i = 0; i <= lastAcked; i++) {
      expect(valueOf(await engine.get(encoder.encode(`key-${i}`))), `key-${i}`).to.equal(`value-${i}`)
    }
    // at most the write in flight at the kill may have landed besides the acknowledged ones
    expect(await engine.count()).to.be.within(lastAcked + 1, lastAcked + 2)

    // the process died without close(): the number it took may have issued dots it never stored
    expect(incarnation).to.equal(1)
    expect(engine.retiredUpTo).to.be.at.least(incarnation)
    const retired = engine.retiredUpTo
    const after = await engine.nextIncarnation()
    expect(after).to.be.above(retired)
    await engine.close()
    // a clean close retires nothing more
    const again = await openEngine(dbPath)
    expect(again.retiredUpTo).to.equal(retired)
    expect(await again.nextIncarnation()).to.be.above(after)
  })

  it('retires every reserved incarnation when it opens a database without a clean-close record (older versions wrote none)', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const engine = await openEngine(dbPath)
    expect(await engine.nextIncarnation()).to.equal(1)
    await engine.close()
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dbPath, { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    expect(await db.get(META_KEYS.closedCleanly), 'close() records a clean close').to.not.equal(undefined)
    await db.batch([{ type: 'del', key: META_KEYS.closedCleanly }, { type: 'del', key: META_KEYS.retired }], { sync: true })
    await db.close()

    const again = await openEngine(dbPath)
    expect(again.retiredUpTo).to.equal(INCARNATION_BLOCK)
    expect(await again.nextIncarnation()).to.equal(INCARNATION_BLOCK + 1)
  })
})
