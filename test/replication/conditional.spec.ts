import { encodeSiblingSet } from '../../src/protocol/kv/codec.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'
import type { Testnet } from '../../src/testnet/index.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** every peer's stored copy of `key`, as bytes (undefined where it holds none) */
async function snapshot (net: Testnet, key: string): Promise<Array<string | undefined>> {
  return Promise.all(net.peers.map(async peer => {
    const state = await peer.localState(key)
    return state == null ? undefined : Buffer.from(encodeSiblingSet(state)).toString('hex')
  }))
}

/** every peer's copy of `key` once its 3 copies agree (the writes before have fully landed) */
async function settled (net: Testnet, key: string): Promise<Array<string | undefined>> {
  let copies: Array<string | undefined> = []
  await eventually(async () => {
    copies = await snapshot(net, key)
    const held = copies.filter(c => c != null)
    return held.length === 3 && held.every(c => c === held[0])
  }, `3 equal copies of ${key}`)
  return copies
}

/** the key's home replicas and the other peers, as peer-0 places it */
function homeOf (net: Testnet, key: string): { home: Peer[], others: Peer[] } {
  const ids = (net.peers[0]?.placement.fromView(enc.encode(key), 3) ?? []).map(p => p.peerId.toString())
  return { home: net.peers.filter(p => ids.includes(p.peerId.toString())), others: net.peers.filter(p => !ids.includes(p.peerId.toString())) }
}

async function values (peer: Peer, key: string): Promise<string[]> {
  return (await peer.get(key)).siblings.filter(s => !s.deleted).map(s => dec.decode(s.value)).sort()
}

describe('conditional writes over a real loopback network (issue #20)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()
  let net: Testnet

  beforeEach(async () => {
    net = await createTestnet(5, { onTeardown: fn => { cleanup.add(fn) } })
  })

  it('if-none-match creates a missing key; a later one through any peer (home or not) is refused with PreconditionFailedError and changes nothing', async () => {
    const { home, others } = homeOf(net, 'create-1')
    const [first, second] = home
    const outsider = others[0]
    if (first == null || second == null || outsider == null) throw new Error('testnet too small')
    const created = await first.put('create-1', enc.encode('one'), { condition: 'if-none-match' })
    expect(created.acks).to.be.at.least(2)
    const before = await settled(net, 'create-1')
    for (const via of [second, outsider]) {
      await expect(via.put('create-1', enc.encode('two'), { condition: 'if-none-match' })).to.be.rejected.and.eventually.have.property('name', 'PreconditionFailedError')
    }
    expect(await snapshot(net, 'create-1')).to.deep.equal(before)
    for (const peer of net.peers) expect(await values(peer, 'create-1')).to.deep.equal(['one'])
  })

  it('if-none-match on a deleted key creates it, superseding the tombstone (no sibling)', async () => {
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    await a.put('create-2', enc.encode('old'))
    await a.delete('create-2')
    await b.put('create-2', enc.encode('new'), { condition: 'if-none-match' })
    const read = await a.get('create-2')
    expect(read.versions.map(s => dec.decode(s.value))).to.deep.equal(['new'])
  })

  it('if-match with the current context writes; with a stale context (a later write or delete) it is refused with PreconditionFailedError and nothing changes', async () => {
    const [a, b, c] = net.peers
    if (a == null || b == null || c == null) throw new Error('testnet too small')
    await a.put('match-1', enc.encode('v1'))
    const read = await b.get('match-1')
    const ok = await c.put('match-1', enc.encode('v2'), { context: read.context, condition: 'if-match' })
    expect(await values(a, 'match-1')).to.deep.equal(['v2'])

    // the old context no longer matches: v2 arrived since
    const before = await settled(net, 'match-1')
    await expect(a.put('match-1', enc.encode('v3'), { context: read.context, condition: 'if-match' })).to.be.rejected.and.eventually.have.property('name', 'PreconditionFailedError')
    expect(await snapshot(net, 'match-1')).to.deep.equal(before)

    // the context put answered matches, until a delete it did not see
    await b.delete('match-1', { context: ok.context })
    const deleted = await settled(net, 'match-1')
    await expect(c.put('match-1', enc.encode('v4'), { context: ok.context, condition: 'if-match' })).to.be.rejected.and.eventually.have.property('name', 'PreconditionFailedError')
    expect(await snapshot(net, 'match-1')).to.deep.equal(deleted)
    expect(await values(a, 'match-1')).to.deep.equal([])
  })

  it('if-match on a conditional delete: deletes only what the context saw', async () => {
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('testnet too small')
    const first = await a.put('match-2', enc.encode('v1'))
    await b.put('match-2', enc.encode('v2'), { context: first.context })
    await expect(a.delete('match-2', { context: first.context, condition: 'if-match' })).to.be.rejected.and.eventually.have.property('name', 'PreconditionFailedError')
    expect(await values(b, 'match-2')).to.deep.equal(['v2'])
  })

  it('concurrent if-none-match creates through different home replicas: never two acknowledged, the refused ones refused as PreconditionFailedError, every acknowledged value kept', async () => {
    let wins = 0
    for (let round = 0; round < 12; round++) {
      const key = `race-${round}`
      const { home } = homeOf(net, key)
      const writers = home.slice(0, 2)
      const outcomes = await Promise.allSettled(writers.map(async (peer, i) => peer.put(key, enc.encode(`w${i}`), { condition: 'if-none-match' })))
      const acked = outcomes.flatMap((o, i) => o.status === 'fulfilled' ? [`w${i}`] : [])
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason, key).to.have.property('name', 'PreconditionFailedError')
      }
      expect(acked.length, `${key}: acknowledged ${acked.join(', ')}`).to.be.at.most(1)
      wins += acked.length
      // siblings are never lost: whatever was acknowledged reads back through every peer
      for (const value of acked) {
        for (const peer of net.peers) expect(await values(peer, key), key).to.include(value)
      }
    }
    // two writers on a healthy net: the third replica decides, so one of them wins each time
    expect(wins).to.equal(12)
  })

  it('concurrent if-match writes with the same context: never two acknowledged', async () => {
    const [a] = net.peers
    if (a == null) throw new Error('testnet too small')
    for (let round = 0; round < 8; round++) {
      const key = `race-match-${round}`
      await a.put(key, enc.encode('base'))
      const { context } = await a.get(key)
      const { home } = homeOf(net, key)
      const outcomes = await Promise.allSettled(home.map(async (peer, i) => peer.put(key, enc.encode(`w${i}`), { context, condition: 'if-match' })))
      const acked = outcomes.filter(o => o.status === 'fulfilled')
      expect(acked.length, key).to.be.at.most(1)
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason, key).to.have.property('name', 'PreconditionFailedError')
    }
  })

  it('an aborted conditional put rejects with AbortError', async () => {
    const [a] = net.peers
    if (a == null) throw new Error('testnet too small')
    await expect(a.put('abort-1', enc.encode('v'), { condition: 'if-none-match', signal: AbortSignal.abort() })).to.be.rejected.and.eventually.have.property('name', 'AbortError')
  })
})
