import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemberTable } from '../../src/membership/members.ts'
import { suspicionBounds, suspicionTimeout } from '../../src/membership/suspicion.ts'
import { expect } from '../utils/expect.ts'
import type { PeerId } from '@libp2p/interface'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('membership: member table and suspicion (pure)', () => {
  it('follows SWIM precedence: higher incarnation wins; at equal incarnation suspect beats alive and dead beats both', async () => {
    const self = await newPeerId()
    const m = await newPeerId()
    const table = new MemberTable(self, 100)
    expect(table.apply({ peerId: m, state: 'alive', incarnation: 5, addrs: [] }, 'x', 0).kind).to.equal('changed')
    expect(table.apply({ peerId: m, state: 'alive', incarnation: 4, addrs: [] }, 'x', 0).kind).to.equal('none')
    expect(table.apply({ peerId: m, state: 'suspect', incarnation: 5, addrs: [] }, 'x', 0).kind).to.equal('changed')
    expect(table.apply({ peerId: m, state: 'alive', incarnation: 5, addrs: [] }, 'x', 0).kind).to.equal('none')
    expect(table.get(m)?.state).to.equal('suspect')
    expect(table.apply({ peerId: m, state: 'dead', incarnation: 5, addrs: [] }, 'x', 0).kind).to.equal('changed')
    // dead is final for its incarnation: only a higher one brings the member back
    expect(table.apply({ peerId: m, state: 'alive', incarnation: 5, addrs: [] }, 'x', 0).kind).to.equal('none')
    expect(table.apply({ peerId: m, state: 'alive', incarnation: 6, addrs: [] }, 'x', 0).kind).to.equal('changed')
    expect(table.get(m)).to.include({ state: 'alive', incarnation: 6 })
  })

  it('takes capacity and zone from alive announcements only, and says when a restart changed them', async () => {
    const self = await newPeerId()
    const m = await newPeerId()
    const table = new MemberTable(self, 100)
    table.apply({ peerId: m, state: 'alive', incarnation: 5, addrs: [], capacity: 2, zone: 'a' }, 'x', 0)
    expect(table.get(m)).to.include({ capacity: 2, zone: 'a' })
    // a suspicion carries no capacity: the record keeps what the member announced
    table.apply({ peerId: m, state: 'suspect', incarnation: 5, addrs: [] }, 'x', 0)
    expect(table.get(m)).to.include({ capacity: 2, zone: 'a' })
    const same = table.apply({ peerId: m, state: 'alive', incarnation: 6, addrs: [], capacity: 2, zone: 'a' }, 'x', 0)
    expect(same).to.include({ kind: 'changed', placementChanged: false })
    // restarted with another capacity: the change is flagged, so data moves
    const moved = table.apply({ peerId: m, state: 'alive', incarnation: 7, addrs: [], capacity: 4, zone: 'a' }, 'x', 0)
    expect(moved).to.include({ kind: 'changed', placementChanged: true, previous: 'alive' })
    expect(table.get(m)).to.include({ capacity: 4 })
  })

  it('refutes a suspicion about itself by raising its incarnation above it', async () => {
    const self = await newPeerId()
    const table = new MemberTable(self, 10)
    const change = table.apply({ peerId: self, state: 'suspect', incarnation: 12, addrs: [] }, 'x', 0)
    expect(change).to.deep.equal({ kind: 'refute', incarnation: 13 })
    expect(table.incarnation).to.equal(13)
    expect(table.apply({ peerId: self, state: 'suspect', incarnation: 9, addrs: [] }, 'x', 0).kind).to.equal('none')
  })

  it('counts independent accusers as confirmations, not the peers that relay one accusation (Lifeguard)', async () => {
    const self = await newPeerId()
    const [m, accuser, relay1, relay2, second] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId(), newPeerId()])
    const table = new MemberTable(self, 1)
    table.apply({ peerId: m, state: 'alive', incarnation: 3, addrs: [] }, 'x', 0)
    const suspicion = { peerId: m, state: 'suspect' as const, incarnation: 3, addrs: [], accuser }
    expect(table.apply(suspicion, relay1.toString(), 0).kind).to.equal('changed')
    expect(table.apply(suspicion, relay2.toString(), 0).kind).to.equal('none')
    expect(table.apply(suspicion, accuser.toString(), 0).kind).to.equal('none')
    expect([...(table.get(m)?.suspectedBy ?? [])]).to.deep.equal([accuser.toString()])
    expect(table.apply({ ...suspicion, accuser: second }, relay1.toString(), 0).kind).to.equal('confirmation')
    expect(table.get(m)?.suspectedBy.size).to.equal(2)
  })

  it('suspicion timeout: starts at maxMult × floor, shrinks with confirmations, never below the floor', () => {
    const init = { members: 10, probeInterval: 200, mult: 4, maxMult: 6, expectedConfirmations: 3 }
    const { min, max } = suspicionBounds(init)
    expect(min).to.equal(800)
    expect(max).to.equal(4800)
    expect(suspicionTimeout(init, 0)).to.equal(4800)
    expect(suspicionTimeout(init, 1)).to.be.lessThan(4800).and.greaterThan(800)
    expect(suspicionTimeout(init, 3)).to.equal(800)
    expect(suspicionTimeout(init, 10)).to.equal(800)
    // the floor grows with log10(n)
    expect(suspicionBounds({ ...init, members: 1000 }).min).to.equal(2400)
    // nobody to confirm: the floor at once
    expect(suspicionTimeout({ ...init, expectedConfirmations: 0 }, 0)).to.equal(800)
  })
})
