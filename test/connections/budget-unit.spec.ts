/**
 * The connection budget against stubbed libp2p parts (no network): what it closes, what it
 * protects and tags, and the KEEP_ALIVE tags it removes first. The real-network spec is budget.spec.ts.
 */
import { defaultLogger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { ConnectionBudget } from '../../src/connections/index.ts'
import { CONNECTION_PROTECT_TAG } from '../../src/constants.ts'
import { PlacementTable, peerKadId } from '../../src/routing/index.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { peerIds } from '../utils/replication.ts'
import type { ConnectionBudgetComponents } from '../../src/connections/index.ts'
import type { PlacedPeer } from '../../src/routing/index.ts'
import type { Connection, PeerData, PeerId, Peer as StoredPeer, Tag } from '@libp2p/interface'

interface Harness {
  budget: ConnectionBudget
  open(peer: PeerId, openedAgo?: number): Connection
  connections: Connection[]
  tags: Map<string, Map<string, Tag>>
  /** the tags of each peer at the moment its connection was closed */
  tagsAtClose: Map<string, string[]>
  setTable(members: PeerId[]): void
}

function harness (self: PeerId, init: { maxConnections: number, protect?: number, members?: PeerId[] }): Harness {
  const events = new TypedEventEmitter<{ 'connection:open': CustomEvent<Connection>, 'connection:close': CustomEvent<Connection> }>()
  const connections: Connection[] = []
  const tags = new Map<string, Map<string, Tag>>()
  const tagsAtClose = new Map<string, string[]>()
  let table = new PlacementTable<PlacedPeer>([self, ...(init.members ?? [])].map(peerId => ({ peerId, kadId: peerKadId(peerId) })))
  const remove = (c: Connection): void => {
    const at = connections.indexOf(c)
    if (at === -1) return
    connections.splice(at, 1)
    tagsAtClose.set(c.remotePeer.toString(), [...(tags.get(c.remotePeer.toString())?.keys() ?? [])])
    ;(c as { status: string }).status = 'closed'
    events.safeDispatchEvent('connection:close', { detail: c })
  }
  const components: ConnectionBudgetComponents = {
    logger: defaultLogger(),
    peerId: self,
    connectionManager: { getConnections: (peer?: PeerId) => connections.filter(c => peer == null || c.remotePeer.equals(peer)) },
    peerStore: {
      get: async (peer: PeerId) => ({ id: peer, tags: new Map(tags.get(peer.toString()) ?? []) }) as unknown as StoredPeer,
      merge: async (peer: PeerId, data: PeerData) => {
        const mine = tags.get(peer.toString()) ?? new Map<string, Tag>()
        for (const [name, value] of Object.entries(data.tags ?? {})) {
          if (value == null) mine.delete(name)
          else mine.set(name, { value: value.value ?? 0 })
        }
        tags.set(peer.toString(), mine)
        return { id: peer, tags: mine } as unknown as StoredPeer
      }
    },
    events,
    placement: { table: () => table }
  }
  const budget = new ConnectionBudget(components, { maxConnections: init.maxConnections, protect: init.protect, gracePeriod: 1000, idleAfter: 50, trimInterval: 60_000 })
  return {
    budget,
    connections,
    tags,
    tagsAtClose,
    open (peer, openedAgo = 10_000) {
      const c = {
        remotePeer: peer,
        status: 'open',
        streams: [],
        timeline: { open: Date.now() - openedAgo },
        close: async () => { remove(c) },
        abort: () => { remove(c) }
      } as unknown as Connection
      connections.push(c)
      events.safeDispatchEvent('connection:open', { detail: c })
      return c
    },
    setTable (members) {
      table = new PlacementTable<PlacedPeer>([self, ...members].map(peerId => ({ peerId, kadId: peerKadId(peerId) })))
    }
  }
}

describe('connections: ConnectionBudget (stubbed libp2p)', () => {
  let budgets: ConnectionBudget[] = []
  afterEach(async () => {
    await Promise.all(budgets.map(async b => { await b.stop() }))
    budgets = []
  })

  it('trims idle connections, least recently used first, down to its low watermark (¾ of the cap)', async () => {
    const [self, ...others] = await peerIds(9)
    if (self == null) throw new Error('no peer')
    const h = harness(self, { maxConnections: 4, protect: 1 })
    budgets.push(h.budget)
    expect(h.budget.lowWater).to.equal(3)
    await h.budget.start()
    // oldest first: others[0] was opened the longest ago
    others.slice(0, 6).forEach((peer, i) => h.open(peer, 100_000 - i * 1000))
    await eventually(async () => h.connections.length === 3, 'three connections left')
    expect(h.connections.map(c => c.remotePeer.toString()).sort()).to.deep.equal(others.slice(3, 6).map(p => p.toString()).sort())
    expect(h.budget.trimmed).to.equal(3)
  })

  it('never trims a peer with work in flight; trims it once released and idle', async () => {
    const [self, busy, idle1, idle2] = await peerIds(4)
    if (self == null || busy == null || idle1 == null || idle2 == null) throw new Error('no peers')
    const h = harness(self, { maxConnections: 2, protect: 1 })
    budgets.push(h.budget)
    await h.budget.start()
    const release = h.budget.acquire(busy)
    h.open(busy, 100_000)
    h.open(idle1, 50_000)
    h.open(idle2, 40_000)
    // low watermark 1: both idle ones go, the busy one stays though it is the oldest
    await eventually(async () => h.connections.length === 1, 'one connection left')
    expect(h.connections[0]?.remotePeer.equals(busy)).to.equal(true)
    // a new connection, in its grace period: only the busy peer could go, and it is busy
    h.open(idle1, 0)
    await h.budget.trim()
    expect(h.connections).to.have.length(2)
    release()
    // released twice is released once
    release()
    await eventually(async () => h.connections.length === 1 && h.connections[0]?.remotePeer.equals(idle1) === true, 'the released peer trimmed after its idle wait')
  })

  it('spares a new connection no request used yet for its grace period', async () => {
    const [self, fresh, old] = await peerIds(3)
    if (self == null || fresh == null || old == null) throw new Error('no peers')
    const h = harness(self, { maxConnections: 2, protect: 1 })
    budgets.push(h.budget)
    await h.budget.start()
    h.open(old, 100_000)
    h.open(fresh, 0)
    h.open(old, 90_000)
    await eventually(async () => h.connections.length === 1, 'the old ones trimmed')
    expect(h.connections[0]?.remotePeer.equals(fresh)).to.equal(true)
  })

  it('protects and tags its XOR neighbourhood, keeps it through trims, and untags it when the view changes', async () => {
    const [self, ...members] = await peerIds(12)
    if (self == null) throw new Error('no peer')
    const h = harness(self, { maxConnections: 4, protect: 2, members })
    budgets.push(h.budget)
    await h.budget.start()
    await h.budget.trim()
    const protectedIds = h.budget.protectedPeerIds().map(p => p.toString())
    expect(protectedIds).to.have.length(2)
    for (const id of protectedIds) expect(h.tags.get(id)?.get(CONNECTION_PROTECT_TAG)?.value).to.be.greaterThan(0)
    // every member connected, the protected ones the oldest (first in line otherwise)
    const byAge = [...members].sort((a, b) => Number(protectedIds.includes(b.toString())) - Number(protectedIds.includes(a.toString())))
    byAge.forEach((peer, i) => h.open(peer, 100_000 - i * 1000))
    await eventually(async () => h.connections.length === 3, 'trimmed to the low watermark')
    for (const id of protectedIds) expect(h.connections.some(c => c.remotePeer.toString() === id), `neighbour ${id} kept`).to.equal(true)
    // a view without them: they lose the tag
    h.setTable(members.filter(m => !protectedIds.includes(m.toString())))
    await h.budget.trim()
    for (const id of protectedIds) expect(h.tags.get(id)?.has(CONNECTION_PROTECT_TAG) ?? false).to.equal(false)
    expect(h.budget.protectedPeerIds().map(p => p.toString())).to.not.include.members(protectedIds)
  })

  it('removes a peer\'s KEEP_ALIVE tags (kad-dht\'s among them) before closing its last connection, and keeps other tags', async () => {
    const [self, kadClose, other] = await peerIds(3)
    if (self == null || kadClose == null || other == null) throw new Error('no peers')
    const h = harness(self, { maxConnections: 2, protect: 1 })
    budgets.push(h.budget)
    h.tags.set(kadClose.toString(), new Map([['keep-alive-kad-dht', { value: 1 }], ['kad-close', { value: 50 }]]))
    await h.budget.start()
    h.open(kadClose, 100_000)
    h.open(other, 0)
    await eventually(async () => h.tagsAtClose.has(kadClose.toString()), 'the kad peer trimmed')
    expect(h.tagsAtClose.get(kadClose.toString())).to.deep.equal(['kad-close'])
  })

  it('is idle once stopped: nothing is trimmed', async () => {
    const [self, a, b, c] = await peerIds(4)
    if (self == null || a == null || b == null || c == null) throw new Error('no peers')
    const h = harness(self, { maxConnections: 2, protect: 1 })
    await h.budget.start()
    await h.budget.stop()
    await h.budget.stop()
    h.open(a)
    h.open(b)
    h.open(c)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(h.connections).to.have.length(3)
  })
})
