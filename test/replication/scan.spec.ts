import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'
import type { ScanPage } from '../../src/replication/index.ts'
import type { Testnet } from '../../src/testnet/index.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** Every page of a listing through `peer`, each page asked with the previous page's cursor. */
async function listAll (peer: Peer, options: { prefix?: string, limit: number, between?: (page: ScanPage, i: number) => Promise<void> }): Promise<{ keys: string[], pages: number }> {
  const keys: string[] = []
  let after: Uint8Array | undefined
  let pages = 0
  for (;;) {
    const page = await peer.list({ prefix: options.prefix == null ? undefined : enc.encode(options.prefix), after, limit: options.limit })
    pages++
    expect(page.keys.length).to.be.at.most(options.limit)
    keys.push(...page.keys.map(k => dec.decode(k.key)))
    if (page.next == null) return { keys, pages }
    await options.between?.(page, pages)
    after = page.next
  }
}

/** `keys` sorted bytewise (their UTF-8), as a listing orders them. */
function bytewise (keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

describe('listing keys over a real loopback network', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  const testnet = async (n: number): Promise<Testnet> => createTestnet(n, { onTeardown: fn => { cleanup.add(fn) } })

  it('lists every key once in bytewise order, through pages and under a prefix, from any peer', async () => {
    const net = await testnet(5)
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    const users = Array.from({ length: 45 }, (_, i) => `user/${i}`)
    const other = ['order/1', 'order/2', 'user', 'userx', 'z', 'Zebra', 'é-accent']
    for (const key of [...users, ...other]) await a.put(key, enc.encode(`v-${key}`))
    // written twice, through two peers: still one key, with two siblings
    await b.put('user/7', enc.encode('concurrent'))

    const all = bytewise([...users, ...other])
    const paged = await listAll(b, { limit: 7 })
    expect(paged.keys).to.deep.equal(all)
    expect(new Set(paged.keys).size).to.equal(paged.keys.length)
    expect(paged.pages).to.equal(Math.ceil(all.length / 7))

    const one = await a.list({ limit: 1000 })
    expect(one.keys.map(k => dec.decode(k.key))).to.deep.equal(all)
    expect(one.next).to.equal(undefined)
    expect(one.peers).to.equal(5)
    expect(one.unreachable).to.deep.equal([])
    const twice = one.keys.find(k => dec.decode(k.key) === 'user/7')
    expect(twice?.state.siblings.length).to.equal(2)
    // a listing carries no values
    expect(twice?.state.siblings.every(s => s.value.byteLength === 0)).to.equal(true)

    expect((await listAll(net.peers[4] as Peer, { prefix: 'user/', limit: 10 })).keys).to.deep.equal(bytewise(users))
    expect((await a.list({ prefix: enc.encode('order/') })).keys.map(k => dec.decode(k.key))).to.deep.equal(['order/1', 'order/2'])
    expect((await a.list({ prefix: enc.encode('nothing-here/') })).keys).to.deep.equal([])

    // the stream gives the same keys, with values when asked
    const streamed: string[] = []
    for await (const { key, state } of a.scan({ prefix: enc.encode('order/'), values: true })) {
      streamed.push(dec.decode(key))
      expect(state.siblings.map(s => dec.decode(s.value))).to.deep.equal([`v-${dec.decode(key)}`])
    }
    expect(streamed).to.deep.equal(['order/1', 'order/2'])
  })

  it('leaves out deleted keys once the delete is acknowledged, even while a replica still holds the old value', async () => {
    const net = await testnet(4)
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    const keys = Array.from({ length: 30 }, (_, i) => `d/${String(i).padStart(2, '0')}`)
    for (const key of keys) await a.put(key, enc.encode(key))
    const deleted = keys.filter((_, i) => i % 3 === 0)
    for (const key of deleted) await b.delete(key)
    // the delete answered after W=2 copies: the third replica may still hold the value, and the
    // merge of every answer (the tombstone's context covers that value) hides it anyway
    const listed = (await listAll(a, { prefix: 'd/', limit: 4 })).keys
    expect(listed).to.deep.equal(keys.filter(k => !deleted.includes(k)))
    // a tombstone-only key is kept when asked for (what an export writes)
    const withTombstones: string[] = []
    for await (const { key } of a.scan({ prefix: enc.encode('d/'), tombstones: true })) withTombstones.push(dec.decode(key))
    expect(withTombstones).to.deep.equal(keys)
    // a key written again after its delete is listed again
    await a.put(deleted[0] ?? '', enc.encode('back'))
    expect((await a.list({ prefix: enc.encode('d/'), limit: 1 })).keys.map(k => dec.decode(k.key))).to.deep.equal([deleted[0]])
  })

  it('stays complete when a peer is killed mid-listing (between pages, and under a running stream)', async () => {
    const net = await testnet(5)
    const [a] = net.peers
    if (a == null) throw new Error('testnet too small')
    const keys = Array.from({ length: 80 }, (_, i) => `k/${String(i).padStart(3, '0')}`)
    for (const key of keys) await a.put(key, enc.encode(key))
    // every key on its 3 replicas before anyone is killed (W=2 answered with 2)
    await eventually(async () => {
      for (const key of keys) {
        let copies = 0
        for (const p of net.peers) if ((await p.localState(key)) != null) copies++
        if (copies < 3) return false
      }
      return true
    }, 'every key on 3 peers', 30_000)

    const victims = [net.peers[3], net.peers[4]]
    let killed = 0
    const paged = await listAll(a, {
      limit: 9,
      between: async (_page, i) => {
        // killed without a goodbye: the others still see it alive, its requests fail
        if (i === 2 && killed === 0) { await victims[0]?.stop({ leave: false }); killed++ }
      }
    })
    expect(killed).to.equal(1)
    expect(paged.keys).to.deep.equal(keys)

    const streamed: string[] = []
    for await (const { key } of a.scan({ prefix: enc.encode('k/') })) {
      streamed.push(dec.decode(key))
      if (streamed.length === 5) await victims[1]?.stop({ leave: false })
    }
    expect(streamed).to.deep.equal(keys)
  })

  it('fails with QuorumNotReachedError when n peers do not answer (a key may have all its copies among them)', async () => {
    const net = await testnet(4)
    const [a, b, c, d] = net.peers
    if (a == null || b == null || c == null || d == null) throw new Error('testnet too small')
    await a.put('x', enc.encode('1'))
    await b.stop({ leave: false })
    await c.stop({ leave: false })
    await d.stop({ leave: false })
    // the others have not seen them die yet: they are asked, and do not answer
    const err = await a.list().catch((e: unknown) => e)
    expect(err).to.have.property('name', 'QuorumNotReachedError')
    expect((err as Error).message).to.match(/listing incomplete: 3 of 4 peers did not answer/)
  })

  it('refuses a bad limit, prefix or cursor with InvalidParametersError and an aborted listing with AbortError', async () => {
    const net = await testnet(2)
    const [a] = net.peers
    if (a == null) throw new Error('testnet too small')
    for (const limit of [0, -1, 1.5, 1001, Number.NaN]) {
      await expect(a.list({ limit })).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    }
    await expect(a.list({ prefix: new Uint8Array(1025) })).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    await expect(a.list({ after: new Uint8Array(1025) })).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    const controller = new AbortController()
    controller.abort()
    await expect(a.list({ signal: controller.signal })).to.eventually.be.rejected.with.property('name', 'AbortError')
  })
})
