import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { defaultLogger } from '@libp2p/logger'
import { HintQuota, hintBytes } from '../../src/replication/index.ts'
import { deleteIfUnchanged } from '../../src/replication/local-store.ts'
import { StoreHandler } from '../../src/replication/rpc/handlers/store.ts'
import { LevelEngine } from '../../src/storage/index.ts'
import { decodeRecord, encodeRecord } from '../../src/storage/record-codec.ts'
import { Record as PbRecord } from '../../src/storage/record.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { enc, openEngine, peerIds, written } from '../utils/replication.ts'
import type { Engine } from '../../src/storage/index.ts'

/** A hinted store request of a value of `bytes` bytes under `key`. */
function hinted (key: string, bytes: number, owner = 'owner'): { type: 'store', key: Uint8Array, state: ReturnType<typeof written>, hintFor: string[] } {
  return { type: 'store', key: enc.encode(key), state: written('x'.repeat(bytes)), hintFor: [owner] }
}

describe('replication: the hinted-storage quota', () => {
  const cleanup = useCleanup()

  async function setup (engine?: Engine, init = { perPeer: 1000, total: 1500 }): Promise<{ engine: Engine, quota: HintQuota, store: StoreHandler, refused: () => number }> {
    const e = engine ?? await openEngine()
    let refused = 0
    const quota = new HintQuota({ logger: defaultLogger(), engine: e, metrics: { hintsRefused: { inc: () => { refused++ } } as never } }, init)
    await quota.start()
    cleanup.add(() => { quota.stop() })
    return { engine: e, quota, store: new StoreHandler({ engine: e, hintQuota: quota }), refused: () => refused }
  }

  it('refuses a peer\'s hinted copy past its share, stores nothing of it, and takes another peer\'s', async () => {
    const [a, b] = await peerIds(2)
    if (a == null || b == null) throw new Error('no peers')
    const { engine, quota, store, refused } = await setup()
    // 2-byte key + 400-byte value
    await store.handle(hinted('k1', 400), a, {})
    await store.handle(hinted('k2', 400), a, {})
    expect(quota.usedBy(a)).to.equal(804)
    expect((await engine.get(enc.encode('k1')))?.hintFrom).to.equal(a.toString())
    await expect(store.handle(hinted('k3', 400), a, {})).to.eventually.be.rejected.with.property('name', 'QuotaExceededError')
    expect(await engine.get(enc.encode('k3')), 'stored nothing').to.equal(undefined)
    expect(refused()).to.equal(1)
    // b has its own share, up to the total of 1500
    await store.handle(hinted('k4', 400), b, {})
    await expect(store.handle(hinted('k5', 400), b, {})).to.eventually.be.rejected.with.property('message').that.matches(/over the total of 1500/)
    expect(quota.used).to.equal(1206)
    // a plain store (a home replica's copy) is never counted nor refused
    await store.handle({ type: 'store', key: enc.encode('k6'), state: written('y'.repeat(900)) }, a, {})
    expect(quota.usedBy(a)).to.equal(804)
  })

  it('counts a hinted copy against its first sender, and only what a merge adds', async () => {
    const [a, b] = await peerIds(2)
    if (a == null || b == null) throw new Error('no peers')
    const { quota, store } = await setup()
    const first = hinted('k', 300)
    await store.handle(first, a, {})
    // the same state again adds nothing: accepted even near the limit
    await store.handle(first, b, {})
    expect([quota.usedBy(a), quota.usedBy(b)]).to.deep.equal([301, 0])
    await store.handle({ ...hinted('k', 0), state: written('z'.repeat(200), 'b'.repeat(24)) }, b, {})
    expect(quota.usedBy(a)).to.equal(501)
  })

  it('releases the bytes when the hint is delivered and deleted, or becomes a replica', async () => {
    const [a] = await peerIds(1)
    if (a == null) throw new Error('no peers')
    const { engine, quota, store } = await setup()
    const one = hinted('k1', 400)
    await store.handle(one, a, {})
    await store.handle(hinted('k2', 400), a, {})
    expect(await deleteIfUnchanged(engine, one.key, one.state)).to.equal(true)
    expect(quota.usedBy(a)).to.equal(402)
    // handoff turns a hint on a peer that became a home replica into a plain copy
    await engine.update(enc.encode('k2'), cur => cur == null ? undefined : { set: cur.set, actor: cur.actor })
    expect([quota.usedBy(a), quota.used]).to.deep.equal([0, 0])
    await store.handle(hinted('k3', 900), a, {})
  })

  it('is rebuilt from the stored hints on restart', async () => {
    const [a, b] = await peerIds(2)
    if (a == null || b == null) throw new Error('no peers')
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-hint-quota-'))
    cleanup.add(async () => { await fs.rm(dir, { recursive: true, force: true }) })
    const open = async (): Promise<LevelEngine> => {
      const engine = new LevelEngine({ logger: defaultLogger() }, { path: path.join(dir, 'db') })
      await engine.open()
      return engine
    }
    const first = await open()
    const before = await setup(first)
    await before.store.handle(hinted('k1', 500), a, {})
    await before.store.handle(hinted('k2', 100), b, {})
    before.quota.stop()
    await first.close()

    const second = await open()
    cleanup.add(async () => { await second.close() })
    const after = await setup(second)
    expect([after.quota.usedBy(a), after.quota.usedBy(b), after.quota.used]).to.deep.equal([502, 102, 604])
    await expect(after.store.handle(hinted('k3', 500), a, {})).to.eventually.be.rejected.with.property('name', 'QuotaExceededError')
  })

  it('hintBytes is the key and the values', () => {
    expect(hintBytes(enc.encode('abc'), written('12345'))).to.equal(8)
  })
})

describe('storage: the record keeps who sent a hinted copy', () => {
  it('round-trips hintFrom on a hinted copy, drops it on a replica, and reads records written before it', () => {
    const set = written('v')
    expect(decodeRecord(encodeRecord({ set, hintFor: ['o'], hintFrom: 'p' }), {} as never)).to.deep.include({ hintFor: ['o'], hintFrom: 'p' })
    expect(decodeRecord(encodeRecord({ set, hintFrom: 'p' }), {} as never)).to.not.have.property('hintFrom')
    // a record as the previous schema wrote it (fields 1–3 only)
    const old = PbRecord.encode({ set: PbRecord.decode(encodeRecord({ set })).set, hintFor: ['o'] })
    const decoded = decodeRecord(old, {} as never)
    expect(decoded.hintFor).to.deep.equal(['o'])
    expect(decoded).to.not.have.property('hintFrom')
    expect(() => encodeRecord({ set, hintFor: ['o'], hintFrom: '' })).to.throw().with.property('name', 'InvalidMessageError')
  })
})
