import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Placement, peerKadId } from '../../src/routing/index.ts'
import { expect } from '../utils/expect.ts'
import type { PlacedPeer, PlacementComponents } from '../../src/routing/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

const enc = new TextEncoder()

async function newPeer (): Promise<PlacedPeer> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { peerId, kadId: peerKadId(peerId), state: 'alive' }
}

type Dht = PlacementComponents['dht']

/** a DHT whose lookups must not happen */
function noDht (routingTableSize = 1): Dht & { lookups: number } {
  const dht = {
    lookups: 0,
    routingTable: { size: routingTableSize },
    getClosestPeers: () => {
      dht.lookups++
      throw new Error('kad-dht was asked')
    }
  }
  return dht as unknown as Dht & { lookups: number }
}

/** a DHT whose lookup names `peers` at once, then hangs until aborted (as an empty or slow query does) */
function hangingDht (peers: PeerId[]): Dht {
  return {
    routingTable: { size: peers.length },
    async * getClosestPeers (_key: Uint8Array, options: AbortOptions = {}) {
      yield { name: 'PEER_RESPONSE', from: peers[0], closer: peers.slice(1).map(id => ({ id, multiaddrs: [] })) }
      await new Promise((_resolve, reject) => {
        const signal = options.signal
        if (signal?.aborted === true) reject(signal.reason)
        else signal?.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
      })
    }
  } as unknown as Dht
}

function placement (self: PlacedPeer, view: PlacedPeer[], dht: Dht, viewPartial?: () => boolean): Placement {
  const list = [self, ...view]
  return new Placement({ peerId: self.peerId, members: { list: () => list, size: list.length }, dht, viewPartial })
}

describe('Placement with fewer members than N', function () {
  this.timeout(10_000)

  it('a lone peer (no bootstrap: a complete view) is the only replica at once, without asking kad-dht', async () => {
    const self = await newPeer()
    const dht = noDht()
    const p = placement(self, [], dht)
    const home = await p.homeReplicas(enc.encode('x'), 3)
    expect(home.map(r => r.peerId.toString())).to.deep.equal([self.peerId.toString()])
    expect((await p.preferenceList(enc.encode('x'), { n: 3 })).length).to.equal(1)
    expect(dht.lookups).to.equal(0)
  })

  it('a complete view of 2 members names both for N=3, without asking kad-dht', async () => {
    const [self, other] = await Promise.all([newPeer(), newPeer()])
    const dht = noDht()
    const home = await placement(self, [other], dht, () => false).homeReplicas(enc.encode('x'), 3)
    expect(home.map(r => r.peerId.toString()).sort()).to.deep.equal([self.peerId.toString(), other.peerId.toString()].sort())
    expect(dht.lookups).to.equal(0)
  })

  it('a view that may be partial with an empty routing table decides from the view (kad-dht would wait for a first peer)', async () => {
    const self = await newPeer()
    const dht = noDht(0)
    const home = await placement(self, [], dht, () => true).homeReplicas(enc.encode('x'), 3)
    expect(home.map(r => r.peerId.toString())).to.deep.equal([self.peerId.toString()])
    expect(dht.lookups).to.equal(0)
  })

  it('a view that may be partial asks kad-dht for at most lookupTimeout, and ranks what it found with the view', async () => {
    const [self, member, found1, found2] = await Promise.all([newPeer(), newPeer(), newPeer(), newPeer()])
    const p = placement(self, [member], hangingDht([found1.peerId, found2.peerId]), () => true)
    const home = await p.homeReplicas(enc.encode('x'), 5, { lookupTimeout: 50 })
    expect(home.map(r => r.peerId.toString()).sort()).to.deep.equal([self, member, found1, found2].map(r => r.peerId.toString()).sort())
  })

  it("the caller's abort still ends a bounded lookup with its error", async () => {
    const [self, found] = await Promise.all([newPeer(), newPeer()])
    const p = placement(self, [], hangingDht([found.peerId]), () => true)
    const controller = new AbortController()
    const lookingUp = p.homeReplicas(enc.encode('x'), 3, { signal: controller.signal, lookupTimeout: 60_000 })
    controller.abort(new DOMException('stop', 'AbortError'))
    await expect(lookingUp).to.be.rejected.and.eventually.have.property('name', 'AbortError')
  })

  it('a partial view asks the members kad-dht found for their view, and then names the list that view names', async () => {
    const [self, found] = await Promise.all([newPeer(), newPeer()])
    // the rest of the network, with capacities and zones only a complete view knows
    const rest = await Promise.all(Array.from({ length: 8 }, async (_, i) => ({ ...await newPeer(), capacity: 1 + (i % 3), zone: ['a', 'b', 'c'][i % 3] })))
    const full = [self, { ...found, zone: 'a' }, ...rest]
    let view: PlacedPeer[] = [self]
    let synced = false
    const asked: string[][] = []
    const p = new Placement({
      peerId: self.peerId,
      members: { list: () => view, get size () { return view.length } },
      dht: hangingDht([found.peerId]),
      viewPartial: () => !synced,
      syncView: async peers => {
        asked.push(peers.map(id => id.toString()))
        view = full
        synced = true
      }
    })
    const key = enc.encode('named by the full view')
    const home = await p.homeReplicas(key, 3, { lookupTimeout: 50 })
    expect(asked).to.deep.equal([[found.peerId.toString()]])
    expect(home.map(r => r.peerId.toString())).to.deep.equal(p.fromView(key, 3).map(r => r.peerId.toString()))
    expect(new Set(home.map(r => r.zone)).size).to.equal(3)
  })
})
