import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Admission, armourRoster, dearmourRoster, networkIdOf, signRoster, verifyRoster } from '../../src/roster/index.ts'
import { expect } from '../utils/expect.ts'
import type { PrivateKey } from '@libp2p/interface'

async function memberIds (n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
}

describe('roster: signing and verification', () => {
  let operator: PrivateKey
  let ids: string[]
  before(async () => {
    operator = await generateKeyPair('Ed25519')
    ids = await memberIds(3)
  })

  it('a signed roster verifies and round-trips through its armoured file form', async () => {
    const roster = await signRoster(operator, { sequence: 7n, members: ids.map(peerId => ({ peerId })) })
    const back = await verifyRoster(dearmourRoster(armourRoster(roster)), { network: networkIdOf(operator), after: 6n })
    expect(back.network).to.equal(networkIdOf(operator))
    expect(back.sequence).to.equal(7n)
    expect(back.members.map(m => m.peerId)).to.deep.equal(ids)
  })

  it('a bad signature, another network, a lower sequence and malformed bytes raise typed errors', async () => {
    const roster = await signRoster(operator, { sequence: 2n, members: ids.map(peerId => ({ peerId })) })
    const tampered = roster.bytes.slice()
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1
    await expect(verifyRoster(tampered)).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')

    const other = await generateKeyPair('Ed25519')
    await expect(verifyRoster(roster.bytes, { network: networkIdOf(other) })).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')
    // a roster an impostor signed naming itself the operator of our network is another network
    const forged = await signRoster(other, { sequence: 99n, members: [{ peerId: ids[0] ?? '' }] })
    await expect(verifyRoster(forged.bytes, { network: networkIdOf(operator) })).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')

    await expect(verifyRoster(roster.bytes, { after: 2n })).to.be.rejected.and.eventually.have.property('name', 'StaleRosterError')

    for (let cut = 0; cut < roster.bytes.byteLength; cut += 7) {
      await expect(verifyRoster(roster.bytes.subarray(0, cut))).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')
    }
    await expect(verifyRoster(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')
    expect(() => dearmourRoster('# only comments\n')).to.throw().with.property('name', 'InvalidRosterError')
  })

  it('admission adopts only newer rosters of its network and keeps the old one otherwise', async () => {
    const first = await signRoster(operator, { sequence: 1n, members: ids.map(peerId => ({ peerId })) })
    const admission = new Admission({ logger: defaultLogger() }, { roster: first })
    const removed: string[][] = []
    admission.addEventListener('roster:update', e => { removed.push(e.detail.removed) })
    expect(admission.admits(ids[2] ?? '')).to.equal(true)

    const second = await signRoster(operator, { sequence: 2n, members: ids.slice(0, 2).map(peerId => ({ peerId })) })
    await admission.offer(second.bytes)
    expect(admission.admits(ids[2] ?? '')).to.equal(false)
    expect(removed).to.deep.equal([[ids[2]]])

    await expect(admission.offer(first.bytes)).to.be.rejected.and.eventually.have.property('name', 'StaleRosterError')
    const forged = await signRoster(await generateKeyPair('Ed25519'), { sequence: 3n, members: ids.map(peerId => ({ peerId })) })
    await expect(admission.offer(forged.bytes)).to.be.rejected.and.eventually.have.property('name', 'InvalidRosterError')
    expect(admission.roster?.sequence).to.equal(2n)
    expect(admission.admits(ids[2] ?? '')).to.equal(false)
  })
})
