/**
 * The Engine compliance suite: every storage engine must pass it unchanged, so that unit tests on
 * `MemoryEngine` say something true about `LevelEngine`.
 */
import { INCARNATION_BLOCK } from '../../src/storage/abstract-engine.ts'
import { expect } from '../utils/expect.ts'
import type { CausalContext, Sibling, SiblingSet } from '../../src/clock/types.ts'
import type { Engine, StoredRecord } from '../../src/storage/index.ts'

/** What a compliance run needs from an engine's spec. */
export interface EngineFixture {
  /** a fresh, empty engine, not opened yet */
  engine: Engine
  /** a new engine over the same data, not opened yet; called after `engine` was closed */
  reopen?: () => Promise<Engine>
  /** releases everything setup made (the suite closes the engines it opened itself) */
  teardown: () => Promise<void>
}

const ACTOR = 'aa01'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function bytes (text: string): Uint8Array {
  return encoder.encode(text)
}

/** A one-sibling set written by `actor` as its `counter`-th write. */
function setOf (value: Uint8Array, counter = 1, actor = ACTOR): SiblingSet {
  return {
    siblings: [{ dot: { actor, counter }, value, timestamp: 1_700_000_000_000 + counter, deleted: false }],
    context: { vv: new Map([[actor, counter]]), cloud: [] }
  }
}

function recordOf (text: string, counter = 1): StoredRecord {
  return { set: setOf(bytes(text), counter) }
}

function textOf (record: StoredRecord | undefined): string | undefined {
  const sibling = record?.set.siblings[0]
  return sibling == null ? undefined : decoder.decode(sibling.value)
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}

function siblingsEqual (a: Sibling, b: Sibling): boolean {
  return a.dot.actor === b.dot.actor && a.dot.counter === b.dot.counter && bytesEqual(a.value, b.value) &&
    a.timestamp === b.timestamp && a.deleted === b.deleted
}

function contextsEqual (a: CausalContext, b: CausalContext): boolean {
  if (a.vv.size !== b.vv.size) return false
  for (const [actor, counter] of a.vv) {
    if (b.vv.get(actor) !== counter) return false
  }
  const dots = (c: CausalContext): string[] => c.cloud.map(d => `${d.actor}:${d.counter}`).sort()
  return JSON.stringify(dots(a)) === JSON.stringify(dots(b))
}

/** Structural equality of records: siblings in order (dot, value bytes, timestamp, deleted), context, actor. */
function recordsEqual (a: StoredRecord | undefined, b: StoredRecord | undefined): boolean {
  if (a == null || b == null) return a === b
  return a.actor === b.actor && a.set.siblings.length === b.set.siblings.length &&
    a.set.siblings.every((sibling, i) => { const other = b.set.siblings[i]; return other != null && siblingsEqual(sibling, other) }) &&
    contextsEqual(a.set.context, b.set.context)
}

function expectSameRecord (actual: StoredRecord | undefined, expected: StoredRecord | undefined): void {
  expect(recordsEqual(actual, expected), `records differ:\n${inspect(actual)}\n${inspect(expected)}`).to.equal(true)
}

function inspect (record: StoredRecord | undefined): string {
  if (record == null) return 'undefined'
  return JSON.stringify(record, (_key, value: unknown) => {
    if (value instanceof Map) return Object.fromEntries(value)
    if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
    return value
  })
}

/** A promise plus the function that resolves it. */
function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>(_resolve => { resolve = _resolve })
  return { promise, resolve }
}

function aborted (): AbortSignal {
  const controller = new AbortController()
  controller.abort()
  return controller.signal
}

async function collect (engine: Engine, options = {}): Promise<Array<{ key: Uint8Array, record: StoredRecord }>> {
  const out: Array<{ key: Uint8Array, record: StoredRecord }> = []
  for await (const entry of engine.entries(options)) out.push(entry)
  return out
}

/**
 * Defines the compliance suite for one engine. `setup` runs before each test and must give a
 * fresh, empty, unopened engine; the suite opens and closes it.
 */
export function engineCompliance (name: string, setup: () => Promise<EngineFixture>, options: { persistent: boolean }): void {
  describe(`${name} (Engine compliance)`, () => {
    let fixture: EngineFixture
    let engine: Engine
    let extra: Engine[] = []

    beforeEach(async () => {
      fixture = await setup()
      engine = fixture.engine
      await engine.open()
    })

    afterEach(async () => {
      for (const e of extra) await e.close()
      extra = []
      await engine.close()
      await fixture.teardown()
    })

    it('gets undefined for a key never written', async () => {
      expect(await engine.get(bytes('missing'))).to.equal(undefined)
    })

    it('creates a record, passing undefined to fn, and returns it as stored', async () => {
      let seen: StoredRecord | undefined | null = null
      const stored = await engine.update(bytes('k'), current => { seen = current; return recordOf('v1') })
      expect(seen).to.equal(undefined)
      expectSameRecord(stored, recordOf('v1'))
      expectSameRecord(await engine.get(bytes('k')), stored)
    })

    it('modifies a record, passing the current one to fn', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      let seen: StoredRecord | undefined
      const stored = await engine.update(bytes('k'), current => { seen = current; return recordOf(`${textOf(current) ?? ''}+v2`, 2) })
      expectSameRecord(seen, recordOf('v1'))
      expect(textOf(stored)).to.equal('v1+v2')
      expectSameRecord(await engine.get(bytes('k')), recordOf('v1+v2', 2))
    })

    it('leaves the record unchanged when fn returns undefined, and returns it', async () => {
      expect(await engine.update(bytes('absent'), () => undefined)).to.equal(undefined)
      expect(await engine.get(bytes('absent'))).to.equal(undefined)
      expect(await engine.count()).to.equal(0)

      await engine.update(bytes('k'), () => recordOf('v1'))
      const result = await engine.update(bytes('k'), current => {
        // even a mutation of `current` must not leak when fn declines to write
        const sibling = current?.set.siblings[0]
        if (sibling != null) sibling.value.fill(0)
        return undefined
      })
      expectSameRecord(result, recordOf('v1'))
      expectSameRecord(await engine.get(bytes('k')), recordOf('v1'))
    })

    it('writes nothing when fn throws or rejects, and propagates the very same error', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      const thrown = new Error('boom')
      const err = await engine.update(bytes('k'), () => { throw thrown }).then(() => undefined, (e: unknown) => e)
      expect(err).to.equal(thrown)
      const rejected = new RangeError('async boom')
      const err2 = await engine.update(bytes('new'), async () => { throw rejected }).then(() => undefined, (e: unknown) => e)
      expect(err2).to.equal(rejected)

      expectSameRecord(await engine.get(bytes('k')), recordOf('v1'))
      expect(await engine.get(bytes('new'))).to.equal(undefined)
      expect(await engine.count()).to.equal(1)
      // the key is not left locked
      expect(textOf(await engine.update(bytes('k'), () => recordOf('v2', 2)))).to.equal('v2')
    })

    it('returns from update exactly what a later get returns, for a set with siblings, a tombstone and a cloud', async () => {
      const record: StoredRecord = {
        set: {
          siblings: [
            { dot: { actor: 'aa01', counter: 3 }, value: bytes('left'), timestamp: 10, deleted: false },
            { dot: { actor: 'bb02', counter: 1 }, value: new Uint8Array(0), timestamp: 0, deleted: true },
            { dot: { actor: 'cc03', counter: 7 }, value: new Uint8Array([0, 255, 0]), timestamp: 12, deleted: false }
          ],
          context: { vv: new Map([['aa01', 3], ['bb02', 1], ['dd04', 9]]), cloud: [{ actor: 'cc03', counter: 7 }] }
        },
        actor: 'aa01'
      }
      const stored = await engine.update(bytes('k'), () => record)
      expectSameRecord(stored, record)
      expectSameRecord(await engine.get(bytes('k')), stored)
    })

    it('serializes 100 concurrent updates of one key, in arrival order', async () => {
      const key = bytes('counter')
      let running = 0
      let maxRunning = 0
      const order: number[] = []
      const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => engine.update(key, async current => {
        running++
        maxRunning = Math.max(maxRunning, running)
        order.push(i)
        const n = Number(textOf(current) ?? '0')
        // yield to the event loop, so that unserialized updates would interleave here
        await new Promise(resolve => setImmediate(resolve))
        running--
        return recordOf(String(n + 1), n + 1)
      })))
      expect(textOf(await engine.get(key))).to.equal('100')
      expect(maxRunning).to.equal(1)
      expect(order).to.deep.equal(Array.from({ length: 100 }, (_, i) => i))
      expect(results.map(textOf)).to.deep.equal(Array.from({ length: 100 }, (_, i) => String(i + 1)))
    })

    it('runs updates of different keys concurrently: a slow fn on one key does not block another', async () => {
      const release = deferred()
      const started = deferred()
      const slow = engine.update(bytes('A'), async () => {
        started.resolve()
        await release.promise
        return recordOf('a')
      })
      await started.promise
      let timer: NodeJS.Timeout | undefined
      const fast = await Promise.race([
        engine.update(bytes('B'), () => recordOf('b')),
        new Promise<'blocked'>(resolve => { timer = setTimeout(() => { resolve('blocked') }, 2000) })
      ])
      clearTimeout(timer)
      release.resolve()
      expect(fast).to.not.equal('blocked')
      expect(textOf(await slow)).to.equal('a')
      expect(textOf(await engine.get(bytes('B')))).to.equal('b')
    })

    it('deletes a record when fn returns null, only as fn saw it (a conditional delete under the lock)', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      // a write queued behind the deciding fn lands after the delete, so nothing it wrote is lost
      const deleting = engine.update(bytes('k'), current => textOf(current) === 'v1' ? null : undefined)
      const writing = engine.update(bytes('k'), () => recordOf('v2', 2))
      expect(await deleting).to.equal(undefined)
      expect(textOf(await writing)).to.equal('v2')
      expect(textOf(await engine.get(bytes('k')))).to.equal('v2')
      // null on an absent key is a no-op
      expect(await engine.update(bytes('absent'), () => null)).to.equal(undefined)
      expect(await engine.count()).to.equal(1)
    })

    it('keeps the hint owners of a hinted copy', async () => {
      await engine.update(bytes('h'), () => ({ ...recordOf('hinted'), hintFor: ['12D3KooWOwnerA', '12D3KooWOwnerB'] }))
      expect((await engine.get(bytes('h')))?.hintFor).to.deep.equal(['12D3KooWOwnerA', '12D3KooWOwnerB'])
      await engine.update(bytes('n'), () => recordOf('plain'))
      expect((await engine.get(bytes('n')))?.hintFor).to.equal(undefined)
    })

    it('deletes a record, tolerates deleting an absent one, and orders deletes with updates', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      await engine.delete(bytes('k'))
      expect(await engine.get(bytes('k'))).to.equal(undefined)
      await engine.delete(bytes('k'))
      await engine.delete(bytes('never'))
      expect(await engine.count()).to.equal(0)

      // a delete queued behind a slow update runs after it; an update queued behind the delete sees nothing
      const release = deferred()
      const update = engine.update(bytes('k'), async () => { await release.promise; return recordOf('v2') })
      const del = engine.delete(bytes('k'))
      let seen: StoredRecord | undefined | null = null
      const after = engine.update(bytes('k'), current => { seen = current; return undefined })
      release.resolve()
      await Promise.all([update, del, after])
      expect(seen).to.equal(undefined)
      expect(await engine.get(bytes('k'))).to.equal(undefined)
    })

    it('tells change listeners of every durable write and delete, in order, and nothing after unsubscribing', async () => {
      const seen: Array<[string, string | undefined]> = []
      const unsubscribe = engine.onChange((key, record) => { seen.push([decoder.decode(key), textOf(record)]) })
      await Promise.all([
        engine.update(bytes('k'), () => recordOf('v1')),
        engine.update(bytes('k'), () => recordOf('v2', 2)),
        engine.update(bytes('k'), () => undefined),
        engine.update(bytes('j'), () => { throw new Error('no') }).catch(() => {}),
        engine.update(bytes('k'), () => null),
        engine.update(bytes('k'), () => null)
      ])
      await engine.update(bytes('j'), () => recordOf('w1'))
      await engine.delete(bytes('j'))
      unsubscribe()
      await engine.update(bytes('k'), () => recordOf('v3', 3))
      // no call for "unchanged", for a throwing fn, or for a conditional delete of nothing
      expect(seen).to.deep.equal([['k', 'v1'], ['k', 'v2'], ['k', undefined], ['j', 'w1'], ['j', undefined]])
    })

    it('lists entries in bytewise key order and counts them', async () => {
      const keys = [[0xff], [0x01, 0x00], [0x00], [0x01], [0x00, 0xff], [0x80], [0x02], [0x00, 0x00]].map(k => Uint8Array.from(k))
      for (const [i, key] of keys.entries()) await engine.update(key, () => recordOf(`v${i}`))
      await engine.update(Uint8Array.of(0x03), () => recordOf('gone'))
      await engine.delete(Uint8Array.of(0x03))

      const entries = await collect(engine)
      const expected = [[0x00], [0x00, 0x00], [0x00, 0xff], [0x01], [0x01, 0x00], [0x02], [0x80], [0xff]]
      expect(entries.map(e => [...e.key])).to.deep.equal(expected)
      for (const entry of entries) {
        const i = keys.findIndex(k => bytesEqual(k, entry.key))
        expect(textOf(entry.record)).to.equal(`v${i}`)
      }
      expect(await engine.count()).to.equal(keys.length)
    })

    it('lists a range: under a prefix, after a key, and both (the bounds of a paged listing)', async () => {
      const keys = [[0x00], [0x01], [0x01, 0x00], [0x01, 0xff], [0x01, 0xff, 0xff], [0x02], [0xff], [0xff, 0xff], [0xff, 0xff, 0x01]].map(k => Uint8Array.from(k))
      for (const [i, key] of keys.entries()) await engine.update(key, () => recordOf(`v${i}`))
      const listed = async (options: { prefix?: number[], after?: number[] }): Promise<number[][]> => {
        const out: number[][] = []
        for await (const { key } of engine.entries({ prefix: options.prefix == null ? undefined : Uint8Array.from(options.prefix), after: options.after == null ? undefined : Uint8Array.from(options.after) })) out.push([...key])
        return out
      }
      expect(await listed({ prefix: [0x01] })).to.deep.equal([[0x01], [0x01, 0x00], [0x01, 0xff], [0x01, 0xff, 0xff]])
      expect(await listed({ prefix: [0x01, 0xff] })).to.deep.equal([[0x01, 0xff], [0x01, 0xff, 0xff]])
      // a prefix of all 0xff has no end key: the range runs to the last key
      expect(await listed({ prefix: [0xff, 0xff] })).to.deep.equal([[0xff, 0xff], [0xff, 0xff, 0x01]])
      expect(await listed({ after: [0x01, 0xff] })).to.deep.equal([[0x01, 0xff, 0xff], [0x02], [0xff], [0xff, 0xff], [0xff, 0xff, 0x01]])
      expect(await listed({ prefix: [0x01], after: [0x01, 0x00] })).to.deep.equal([[0x01, 0xff], [0x01, 0xff, 0xff]])
      // after a key before the prefix: the whole prefix; after one past it: nothing
      expect(await listed({ prefix: [0x01], after: [0x00, 0xff] })).to.deep.equal([[0x01], [0x01, 0x00], [0x01, 0xff], [0x01, 0xff, 0xff]])
      expect(await listed({ prefix: [0x01], after: [0x02] })).to.deep.equal([])
      expect(await listed({ prefix: [0x03] })).to.deep.equal([])
      // a prefix in a Node Buffer (as a decoder hands it over, whose slice() is a view) is left as it was
      const prefix = Buffer.from([0x01, 0xff])
      const found: number[][] = []
      for await (const { key } of engine.entries({ prefix })) found.push([...key])
      expect(found).to.deep.equal([[0x01, 0xff], [0x01, 0xff, 0xff]])
      expect([...prefix]).to.deep.equal([0x01, 0xff])
    })

    it('round-trips binary keys (0x00, 0xff, 1 KiB) and a 1 MiB value byte-exact', async () => {
      const longKey = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) & 0xff)
      const value = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff)
      const keys = [Uint8Array.of(0x00), Uint8Array.of(0xff), Uint8Array.of(0x00, 0x00, 0xff, 0xff), longKey]
      for (const key of keys) {
        await engine.update(key, () => ({ set: setOf(value.slice()) }))
      }
      for (const key of keys) {
        const got = (await engine.get(key))?.set.siblings[0]?.value
        expect(got != null && bytesEqual(got, value), `value of key ${key.byteLength} bytes`).to.equal(true)
      }
      const listed = await collect(engine)
      expect(listed.map(e => e.key.byteLength)).to.deep.equal([1, 4, 1024, 1])
      expect(bytesEqual(listed[2]?.key ?? new Uint8Array(), longKey)).to.equal(true)
    })

    it('refuses empty and oversized keys with KeyTooLargeError', async () => {
      await expect(engine.get(new Uint8Array(0))).to.eventually.be.rejected.with.property('name', 'KeyTooLargeError')
      await expect(engine.update(new Uint8Array(1025), () => recordOf('x'))).to.eventually.be.rejected.with.property('name', 'KeyTooLargeError')
      await expect(engine.delete(new Uint8Array(0))).to.eventually.be.rejected.with.property('name', 'KeyTooLargeError')
    })

    it('refuses to store an invalid sibling set and writes nothing', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      // the sibling's dot is outside the set's context
      const invalid: StoredRecord = { set: { siblings: [{ dot: { actor: 'aa01', counter: 5 }, value: bytes('x'), timestamp: 1, deleted: false }], context: { vv: new Map([['aa01', 1]]), cloud: [] } } }
      await expect(engine.update(bytes('k'), () => invalid)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
      await expect(engine.update(bytes('k'), () => ({ ...recordOf('v'), actor: 'not hex' }))).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
      expectSameRecord(await engine.get(bytes('k')), recordOf('v1'))
    })

    it('round-trips the actor, which is optional', async () => {
      const withActor = await engine.update(bytes('a'), () => ({ ...recordOf('v'), actor: '0123456789abcdef00000001' }))
      expect(withActor?.actor).to.equal('0123456789abcdef00000001')
      expect((await engine.get(bytes('a')))?.actor).to.equal('0123456789abcdef00000001')

      await engine.update(bytes('b'), () => recordOf('v'))
      const without = await engine.get(bytes('b'))
      expect(without).to.not.have.property('actor')

      // dropping the actor of a record is a write like any other
      await engine.update(bytes('a'), current => current == null ? undefined : { set: current.set })
      expect(await engine.get(bytes('a'))).to.not.have.property('actor')
    })

    it('never lets a caller mutate stored state through a record it passed or got back', async () => {
      const mine = recordOf('original')
      const returned = await engine.update(bytes('k'), () => mine)
      mine.set.siblings[0]?.value.fill(0)
      mine.set.context.vv.set('ee05', 4)
      returned?.set.siblings[0]?.value.fill(0)
      returned?.set.siblings.push({ dot: { actor: 'ff', counter: 1 }, value: bytes('x'), timestamp: 1, deleted: false })
      returned?.set.context.cloud.push({ actor: 'ff', counter: 1 })

      const got = await engine.get(bytes('k'))
      got?.set.siblings[0]?.value.fill(0)
      got?.set.context.vv.clear()
      for await (const { record } of engine.entries()) record.set.siblings[0]?.value.fill(0)

      expectSameRecord(await engine.get(bytes('k')), recordOf('original'))
    })

    it('hands out incarnation numbers from 1, strictly increasing and distinct under concurrency', async () => {
      expect(await engine.nextIncarnation()).to.equal(1)
      expect(await engine.nextIncarnation()).to.equal(2)
      const concurrent = await Promise.all(Array.from({ length: 20 }, async () => engine.nextIncarnation()))
      expect([...concurrent].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 3))
      expect(new Set(concurrent).size).to.equal(20)
      expect(await engine.nextIncarnation()).to.equal(23)
    })

    it('calls onPrepared once with the record as it will be stored, before the update resolves and before listeners hear of it', async () => {
      const events: string[] = []
      const unsubscribe = engine.onChange(() => { events.push('changed') })
      let prepared: StoredRecord | undefined
      const updating = engine.update(bytes('k'), () => ({ ...recordOf('v1'), actor: 'ab01' }), {
        onPrepared: record => { events.push('prepared'); prepared = record }
      }).then(stored => { events.push('resolved'); return stored })
      const stored = await updating
      unsubscribe()
      expect(events).to.deep.equal(['prepared', 'changed', 'resolved'])
      expectSameRecord(prepared, stored)
      expectSameRecord(prepared, await engine.get(bytes('k')))

      let calls = 0
      await engine.update(bytes('k'), () => undefined, { onPrepared: () => { calls++ } })
      await engine.update(bytes('k'), () => null, { onPrepared: () => { calls++ } })
      await expect(engine.update(bytes('k'), () => { throw new Error('no') }, { onPrepared: () => { calls++ } })).to.eventually.be.rejected
      expect(calls, 'not called when nothing is written').to.equal(0)
      // none of that failed a prepared write: nothing is retired
      expect(engine.retiredUpTo).to.equal(0)
    })

    it('rejects with AbortError when the signal has aborted, before fn runs', async () => {
      await engine.update(bytes('k'), () => recordOf('v1'))
      const signal = aborted()
      let ran = false
      await expect(engine.update(bytes('k'), () => { ran = true; return recordOf('v2') }, { signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      expect(ran).to.equal(false)
      await expect(engine.get(bytes('k'), { signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(engine.delete(bytes('k'), { signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(engine.count({ signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(engine.nextIncarnation({ signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      await expect(collect(engine, { signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
      expectSameRecord(await engine.get(bytes('k')), recordOf('v1'))
      expect(await engine.nextIncarnation()).to.equal(1)
    })

    it('rejects a queued update with AbortError when its signal aborts while it waits, and skips its fn', async () => {
      const release = deferred()
      const first = engine.update(bytes('k'), async () => { await release.promise; return recordOf('first') })
      const controller = new AbortController()
      let ran = false
      const queued = engine.update(bytes('k'), () => { ran = true; return recordOf('queued', 2) }, { signal: controller.signal })
      const third = engine.update(bytes('k'), current => recordOf(`${textOf(current) ?? ''}+third`, 3))
      controller.abort()
      await expect(queued).to.eventually.be.rejected.with.property('name', 'AbortError')
      release.resolve()
      await first
      expect(textOf(await third)).to.equal('first+third')
      expect(ran).to.equal(false)
    })

    it('stops listing entries with AbortError when the signal aborts midway', async () => {
      for (let i = 0; i < 10; i++) await engine.update(Uint8Array.of(i + 1), () => recordOf(`v${i}`))
      const controller = new AbortController()
      const seen: number[] = []
      const err = await (async () => {
        for await (const { key } of engine.entries({ signal: controller.signal })) {
          seen.push(key[0] ?? -1)
          if (seen.length === 3) controller.abort()
        }
      })().then(() => undefined, (e: unknown) => e)
      expect(err).to.have.property('name', 'AbortError')
      expect(seen).to.deep.equal([1, 2, 3])
    })

    it('has a 16-hex-char epoch and no retired incarnations when new; both throw NotStartedError before open', async () => {
      expect(engine.epoch).to.match(/^[0-9a-f]{16}$/)
      expect(engine.retiredUpTo).to.equal(0)
      const unopened = (await setup())
      try {
        expect(() => unopened.engine.epoch).to.throw().with.property('name', 'NotStartedError')
        expect(() => unopened.engine.retiredUpTo).to.throw().with.property('name', 'NotStartedError')
        await expect(unopened.engine.get(bytes('k'))).to.eventually.be.rejected.with.property('name', 'NotStartedError')
      } finally {
        await unopened.engine.close()
        await unopened.teardown()
      }
    })

    it('opens idempotently, closes idempotently (the same promise twice) after pending writes, and refuses use once closed', async () => {
      const opening = engine.open()
      expect(engine.open()).to.equal(opening)
      await opening

      const release = deferred()
      const pending = engine.update(bytes('k'), async () => { await release.promise; return recordOf('late') })
      const first = engine.close()
      const second = engine.close()
      expect(second).to.equal(first)
      let closed = false
      void first.then(() => { closed = true })
      await new Promise(resolve => setTimeout(resolve, 20))
      // close waits for the update that was already running
      expect(closed).to.equal(false)
      release.resolve()
      expect(textOf(await pending)).to.equal('late')
      await first
      await expect(engine.get(bytes('k'))).to.eventually.be.rejected.with.property('name', 'NotStartedError')
      await expect(engine.update(bytes('k'), () => recordOf('x'))).to.eventually.be.rejected.with.property('name', 'NotStartedError')
      await expect(engine.open()).to.eventually.be.rejected.with.property('name', 'NotStartedError')
    })

    // only engines that keep data across a close (LevelEngine) get this test at all
    if (options.persistent) {
      it('keeps data, epoch and the incarnation counter across close and reopen', async function () {
        const reopen = fixture.reopen
        if (reopen == null) throw new Error('a persistent engine fixture must provide reopen()')
        await engine.update(bytes('k'), () => ({ ...recordOf('kept'), actor: 'abcd' }))
        await engine.update(Uint8Array.of(0), () => recordOf('zero'))
        await engine.update(bytes('gone'), () => recordOf('gone'))
        await engine.delete(bytes('gone'))
        expect(await engine.nextIncarnation()).to.equal(1)
        expect(await engine.nextIncarnation()).to.equal(2)
        const epoch = engine.epoch
        await engine.close()

        const again = await reopen()
        extra.push(again)
        await again.open()
        expect(again.epoch).to.equal(epoch)
        expectSameRecord(await again.get(bytes('k')), { ...recordOf('kept'), actor: 'abcd' })
        expect(textOf(await again.get(Uint8Array.of(0)))).to.equal('zero')
        expect(await again.get(bytes('gone'))).to.equal(undefined)
        expect(await again.count()).to.equal(2)
        // numbering resumes above the block reserved before the restart: never a number twice
        expect(await again.nextIncarnation()).to.equal(INCARNATION_BLOCK + 1)
        expect(await again.nextIncarnation()).to.equal(INCARNATION_BLOCK + 2)
        // a clean close retires nothing: actors of the numbers handed out before may go on
        expect(again.retiredUpTo).to.equal(0)
      })
    }
  })
}
