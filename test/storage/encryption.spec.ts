import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { defaultLogger } from '@libp2p/logger'
import { ClassicLevel } from 'classic-level'
import { COUNT_BLOCK, keyFingerprint, RECORD_OVERHEAD } from '../../src/storage/encryption.ts'
import { LevelEngine } from '../../src/storage/index.ts'
import { META_KEYS, objectKey, OBJECTS_RANGE } from '../../src/storage/layout.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { engineCompliance } from './compliance.ts'
import type { EncryptionInit } from '../../src/storage/encryption.ts'
import type { StoredRecord } from '../../src/storage/index.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function engineAt (dbPath: string, encryption?: EncryptionInit): LevelEngine {
  return new LevelEngine({ logger: defaultLogger() }, { path: dbPath, encryption })
}

function recordOf (text: string, extra: Partial<StoredRecord> = {}): StoredRecord {
  return {
    set: {
      siblings: [{ dot: { actor: 'aa01', counter: 1 }, value: encoder.encode(text), timestamp: 1, deleted: false }],
      context: { vv: new Map([['aa01', 1]]), cloud: [] }
    },
    ...extra
  }
}

function valueOf (record: StoredRecord | undefined): string | undefined {
  const sibling = record?.set.siblings[0]
  return sibling == null ? undefined : decoder.decode(sibling.value)
}

/** Opens the raw LevelDB (the engine must be closed) and runs `fn` on it. */
async function withRaw<T> (dbPath: string, fn: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dbPath, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** What `grep -r` of the directory would find: which of `needles` occur in any file under `dir`. */
async function grepDir (dir: string, needles: string[]): Promise<string[]> {
  const files = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter(e => e.isFile())
  const contents = await Promise.all(files.map(async e => fs.readFile(path.join(e.parentPath, e.name))))
  return needles.filter(needle => contents.some(bytes => bytes.includes(Buffer.from(needle))))
}

/** Values with a random core that LevelDB's compression cannot hide in a plaintext store. */
function secrets (n: number): string[] {
  return Array.from({ length: n }, (_, i) => `secret-${i}-${randomBytes(12).toString('hex')}`)
}

const kek = (): EncryptionInit => ({ key: randomBytes(32), keySource: 'the test key' })

engineCompliance('LevelEngine with encryption at rest', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'p2pstore-storage-'))
  const dbPath = path.join(dir, 'storage')
  // a tiny rotation limit: the suite's records end up under several data keys
  const encryption: EncryptionInit = { ...kek(), rotateAfter: 3 }
  return {
    engine: engineAt(dbPath, encryption),
    reopen: async () => engineAt(dbPath, encryption),
    teardown: async () => { await fs.rm(dir, { recursive: true, force: true }) }
  }
}, { persistent: true })

describe('LevelEngine encryption at rest', () => {
  const cleanup = useCleanup()

  async function open (dbPath: string, encryption?: EncryptionInit): Promise<LevelEngine> {
    const engine = engineAt(dbPath, encryption)
    cleanup.add(async () => engine.close())
    await engine.open()
    return engine
  }

  async function fill (engine: LevelEngine, values: string[]): Promise<void> {
    await Promise.all(values.map(async (v, i) => engine.update(encoder.encode(`key-${i}`), () => recordOf(v, { actor: 'ab01', hintFor: [`peer-${i}`] }))))
  }

  it('leaves no stored value in the database files: a grep of the data dir finds none (a plaintext store, the control, shows them all)', async () => {
    const base = await cleanup.tempDir()
    const values = secrets(200)
    const encrypted = await open(path.join(base, 'encrypted', 'storage'), kek())
    const plain = await open(path.join(base, 'plain', 'storage'))
    await fill(encrypted, values)
    await fill(plain, values)
    await encrypted.close()
    await plain.close()

    expect(await grepDir(path.join(base, 'encrypted'), values)).to.deep.equal([])
    expect(await grepDir(path.join(base, 'plain'), values)).to.have.length(values.length)
  })

  it('stores each record as header, nonce, ciphertext and tag (33 bytes more than the plaintext record)', async () => {
    const base = await cleanup.tempDir()
    const encrypted = await open(path.join(base, 'e'), kek())
    const plain = await open(path.join(base, 'p'))
    await encrypted.update(encoder.encode('k'), () => recordOf('v'))
    await plain.update(encoder.encode('k'), () => recordOf('v'))
    await encrypted.close()
    await plain.close()
    const size = async (dbPath: string): Promise<number> => withRaw(dbPath, async db => (await db.get(objectKey(encoder.encode('k'))))?.byteLength ?? 0)
    expect(await size(path.join(base, 'e'))).to.equal(await size(path.join(base, 'p')) + RECORD_OVERHEAD)
  })

  it('raises IntegrityError, never garbage, for any flipped bit of a stored record, and keeps serving other keys', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const encryption = kek()
    const engine = await open(dbPath, encryption)
    await engine.update(encoder.encode('good'), () => recordOf('fine'))
    await engine.update(encoder.encode('bad'), () => recordOf('will be damaged'))
    await engine.close()
    const dbKey = objectKey(encoder.encode('bad'))
    const original = await withRaw(dbPath, async db => db.get(dbKey))
    if (original == null) throw new Error('record missing')

    // every byte: the DEK id in the header, the nonce, the ciphertext, the tag
    for (const offset of [1, 4, 5, 16, 17, Math.floor(original.byteLength / 2), original.byteLength - 1]) {
      const flipped = Uint8Array.from(original)
      flipped[offset] = (flipped[offset] ?? 0) ^ 0x01
      await withRaw(dbPath, async db => { await db.put(dbKey, flipped) })
      const reopened = engineAt(dbPath, encryption)
      await reopened.open()
      try {
        await expect(reopened.get(encoder.encode('bad')), `bit flipped at byte ${offset}`).to.eventually.be.rejected.with.property('name', 'IntegrityError')
        await expect(reopened.update(encoder.encode('bad'), () => recordOf('new'))).to.eventually.be.rejected.with.property('name', 'IntegrityError')
        expect(valueOf(await reopened.get(encoder.encode('good')))).to.equal('fine')
        const scan = async (): Promise<number> => {
          let seen = 0
          for await (const entry of reopened.entries()) seen += entry.key.byteLength
          return seen
        }
        await expect(scan()).to.eventually.be.rejected.with.property('name', 'IntegrityError')
      } finally {
        await reopened.close()
      }
    }
  })

  it('binds each ciphertext to its key: a record copied or swapped under another key fails authentication', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const encryption = kek()
    const engine = await open(dbPath, encryption)
    await engine.update(encoder.encode('alice'), () => recordOf('alice: 100'))
    await engine.update(encoder.encode('bob'), () => recordOf('bob: 5'))
    await engine.close()
    await withRaw(dbPath, async db => {
      const a = await db.get(objectKey(encoder.encode('alice')))
      const b = await db.get(objectKey(encoder.encode('bob')))
      if (a == null || b == null) throw new Error('records missing')
      await db.batch([{ type: 'put', key: objectKey(encoder.encode('alice')), value: b }, { type: 'put', key: objectKey(encoder.encode('bob')), value: a }])
    })
    const reopened = await open(dbPath, encryption)
    await expect(reopened.get(encoder.encode('alice'))).to.be.rejectedWith(/key 616c696365 .*failed authentication/).and.eventually.have.property('name', 'IntegrityError')
    await expect(reopened.get(encoder.encode('bob'))).to.eventually.be.rejected.with.property('name', 'IntegrityError')
  })

  it('refuses a plaintext record slipped into an encrypted store', async () => {
    const base = await cleanup.tempDir()
    const plain = await open(path.join(base, 'plain'))
    await plain.update(encoder.encode('k'), () => recordOf('forged'))
    await plain.close()
    const forged = await withRaw(path.join(base, 'plain'), async db => db.get(objectKey(encoder.encode('k'))))
    const encryption = kek()
    await (await open(path.join(base, 'enc'), encryption)).close()
    await withRaw(path.join(base, 'enc'), async db => { await db.put(objectKey(encoder.encode('k')), forged ?? new Uint8Array()) })
    const engine = await open(path.join(base, 'enc'), encryption)
    await expect(engine.get(encoder.encode('k'))).to.be.rejectedWith(/is not encrypted/).and.eventually.have.property('name', 'IntegrityError')
  })

  it('fails to open with a wrong key (EncryptionKeyError naming both fingerprints) or none (naming the flag and the variable), and writes nothing', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const encryption = kek()
    const engine = await open(dbPath, encryption)
    await fill(engine, ['one', 'two', 'three'])
    await engine.close()
    const dump = async (): Promise<string> => withRaw(dbPath, async db => JSON.stringify((await db.iterator().all()).map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])))
    const before = await dump()

    const wrong = kek()
    const fingerprints = new RegExp(`fingerprint ${keyFingerprint(wrong.key)}.*fingerprint ${keyFingerprint(encryption.key)}.*nothing was written`)
    await expect(engineAt(dbPath, wrong).open()).to.be.rejectedWith(fingerprints).and.eventually.have.property('name', 'EncryptionKeyError')
    await expect(engineAt(dbPath).open()).to.be.rejectedWith(/is encrypted .*--encryption-key-file FILE.*P2PSTORE_ENCRYPTION_KEY/).and.eventually.have.property('name', 'EncryptionKeyError')
    await expect(engineAt(dbPath, { key: new Uint8Array(16) }).open()).to.be.rejectedWith(/expected 32 bytes/).and.eventually.have.property('name', 'EncryptionKeyError')
    // not even the clean-close mark was consumed: every key and value is as it was
    expect(await dump()).to.equal(before)

    const reopened = await open(dbPath, encryption)
    expect(reopened.retiredUpTo).to.equal(0)
    expect(valueOf(await reopened.get(encoder.encode('key-2')))).to.equal('three')
  })

  it('raises IntegrityError when the keyring was altered without the key (for example marked as migrating, which would admit plaintext records)', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const encryption = kek()
    await (await open(dbPath, encryption)).close()
    await withRaw(dbPath, async db => {
      const stored = JSON.parse(decoder.decode(await db.get(META_KEYS.encryption))) as { body: string, mac: string }
      stored.body = stored.body.replace('"state":"on"', '"state":"migrating"')
      await db.put(META_KEYS.encryption, encoder.encode(JSON.stringify(stored)))
    })
    await expect(engineAt(dbPath, encryption).open()).to.be.rejectedWith(/keyring .*failed authentication/).and.eventually.have.property('name', 'IntegrityError')
  })

  it('turns encryption on for a store holding data: every record reads back identically, progress is reported, and after compaction a grep finds no plaintext', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const values = secrets(300)
    const plain = await open(dbPath)
    await fill(plain, values)
    await plain.update(encoder.encode('tombstone'), () => ({ set: { siblings: [{ dot: { actor: 'aa01', counter: 2 }, value: new Uint8Array(), timestamp: 2, deleted: true }], context: { vv: new Map([['aa01', 2]]), cloud: [] } } }))
    const before = []
    for await (const entry of plain.entries()) before.push(entry)
    await plain.close()
    expect(await grepDir(dbPath, values), 'the plaintext store holds the values').to.have.length(values.length)

    const progress: Array<[number, number]> = []
    const encryption: EncryptionInit = { ...kek(), onProgress: (done, total) => { progress.push([done, total]) } }
    const engine = await open(dbPath, encryption)
    expect(progress.at(-1)).to.deep.equal([301, 301])
    const after = []
    for await (const entry of engine.entries()) after.push(entry)
    expect(after).to.deep.equal(before)
    expect(await engine.encryptionStatus()).to.deep.include({ state: 'on', recordsByDataKey: { 1: 301 }, plaintextRecords: 0 })
    await engine.close()

    expect(await grepDir(dbPath, values), 'no plaintext left after the migration').to.deep.equal([])
    expect(await withRaw(dbPath, async db => decoder.decode(await db.get(META_KEYS.version)))).to.equal('2')
    await expect(engineAt(dbPath).open()).to.eventually.be.rejected.with.property('name', 'EncryptionKeyError')
  })

  it('resumes an interrupted migration on the next open, losing nothing', async function () {
    this.timeout(120_000)
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const values = Array.from({ length: 2500 }, (_, i) => `value-${i}`)
    const plain = await open(dbPath)
    await fill(plain, values)
    await plain.close()

    const key = randomBytes(32)
    const interrupted = engineAt(dbPath, { key, onProgress: done => { if (done < 2500) throw new Error('power cut') } })
    await expect(interrupted.open()).to.be.rejectedWith('power cut')
    const partial = await withRaw(dbPath, async db => (await db.values({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt }).all()).filter(v => v[0] === 0xe1).length)
    expect(partial).to.equal(1000)

    const engine = await open(dbPath, { key })
    expect(await engine.encryptionStatus()).to.deep.include({ state: 'on', plaintextRecords: 0 })
    for (let i = 0; i < values.length; i += 97) expect(valueOf(await engine.get(encoder.encode(`key-${i}`)))).to.equal(values[i])
    expect(await engine.count()).to.equal(values.length)
  })

  it('rotates the data key after rotateAfter encryptions and once it is rotateInterval old; records under old keys stay readable', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    let now = 1_000_000
    const encryption: EncryptionInit = { ...kek(), rotateAfter: 10, rotateInterval: 60_000, now: () => now }
    const engine = await open(dbPath, encryption)
    for (let i = 0; i < 25; i++) await engine.update(encoder.encode(`k${i}`), () => recordOf(`v${i}`))
    let status = await engine.encryptionStatus()
    expect(status?.dataKeys.map(k => [k.id, k.encryptions, k.current])).to.deep.equal([[1, 10, false], [2, 10, false], [3, 5, true]])
    expect(status?.recordsByDataKey).to.deep.equal({ 1: 10, 2: 10, 3: 5 })

    now += 59_999
    await engine.update(encoder.encode('k0'), () => recordOf('still key 3'))
    now += 1
    await engine.update(encoder.encode('k1'), () => recordOf('key 4: 60 s old'))
    status = await engine.encryptionStatus()
    expect(status?.dataKeys.map(k => k.id)).to.deep.equal([1, 2, 3, 4])
    expect(status?.dataKeys.at(-1)?.createdAt).to.equal(now)

    expect(await engine.rotateDataKey()).to.equal(5)
    await engine.close()
    const reopened = await open(dbPath, encryption)
    for (let i = 2; i < 25; i++) expect(valueOf(await reopened.get(encoder.encode(`k${i}`)))).to.equal(`v${i}`)
    expect(valueOf(await reopened.get(encoder.encode('k1')))).to.equal('key 4: 60 s old')
  })

  it('never lets a data key serve more than rotateAfter encryptions across restarts (counts are reserved durably in blocks)', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const encryption: EncryptionInit = { ...kek(), rotateAfter: 2 * COUNT_BLOCK }
    let engine = await open(dbPath, encryption)
    await engine.update(encoder.encode('a'), () => recordOf('1'))
    await engine.close()
    // the restart assumes the whole first block was used
    engine = await open(dbPath, encryption)
    expect((await engine.encryptionStatus())?.dataKeys[0]?.encryptions).to.equal(COUNT_BLOCK)
    await engine.update(encoder.encode('b'), () => recordOf('2'))
    await engine.close()
    engine = await open(dbPath, encryption)
    await engine.update(encoder.encode('c'), () => recordOf('3'))
    // two blocks reserved: the third write could not stay under key 1
    expect((await engine.encryptionStatus())?.dataKeys.map(k => [k.id, k.encryptions])).to.deep.equal([[1, 2 * COUNT_BLOCK], [2, 1]])
  })

  it('rewraps the data keys under a new key-encryption key without rewriting any record; only the new key opens the store then', async () => {
    const dbPath = path.join(await cleanup.tempDir(), 'storage')
    const old = kek()
    const engine = await open(dbPath, old)
    await fill(engine, ['a', 'b', 'c'])
    await engine.rotateDataKey()
    await engine.update(encoder.encode('d'), () => recordOf('d'))
    await engine.close()
    const records = async (): Promise<string> => withRaw(dbPath, async db => JSON.stringify((await db.iterator({ gte: OBJECTS_RANGE.gte, lt: OBJECTS_RANGE.lt }).all()).map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])))
    const before = await records()

    const next = kek()
    const rewrapping = await open(dbPath, old)
    await rewrapping.rewrapDataKeys(next.key)
    expect((await rewrapping.encryptionStatus())?.kekFingerprint).to.equal(keyFingerprint(next.key))
    await rewrapping.close()
    expect(await records()).to.equal(before)

    await expect(engineAt(dbPath, old).open()).to.eventually.be.rejected.with.property('name', 'EncryptionKeyError')
    const reopened = await open(dbPath, next)
    expect(valueOf(await reopened.get(encoder.encode('key-1')))).to.equal('b')
    expect(valueOf(await reopened.get(encoder.encode('d')))).to.equal('d')
  })
})
