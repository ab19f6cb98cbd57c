import { defaultLogger } from '@libp2p/logger'
import * as FakeTimers from '@sinonjs/fake-timers'
import { TypedEventEmitter } from 'main-event'
import { stubInterface } from 'sinon-ts'
import { PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { Membership } from '../../src/membership/index.ts'
import { expect } from '../utils/expect.ts'
import { aborted, peerIds } from '../utils/replication.ts'
import type { MembershipComponents } from '../../src/membership/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Clock } from '@sinonjs/fake-timers'

/**
 * A membership whose dials never connect: they are refused at once, or with `hang` they fail only
 * when the caller's signal ends them.
 */
async function lonely (hang = false, connections?: MembershipComponents['connections']): Promise<{ membership: Membership, dials: Array<{ peer: PeerId, at: number }>, seed: PeerId }> {
  const [self, seed] = await peerIds(2) as [PeerId, PeerId]
  const dials: Array<{ peer: PeerId, at: number }> = []
  const network = stubInterface<MembershipComponents['network']>()
  network.handle.resolves()
  network.unhandle.resolves()
  network.getMultiaddrs.returns([])
  network.dialProtocol.callsFake(async (peer: PeerId, _protocol: string, options: AbortOptions = {}) => {
    dials.push({ peer, at: Date.now() })
    if (!hang) throw Object.assign(new Error('connection refused'), { name: 'DialError' })
    return new Promise((_resolve, reject) => {
      const fail = (): void => { reject(new DOMException('the dial was aborted', 'AbortError')) }
      if (options.signal?.aborted === true) fail()
      options.signal?.addEventListener('abort', fail, { once: true })
    })
  })
  const membership = new Membership({ logger: defaultLogger(), peerId: self, network, events: new TypedEventEmitter(), connections }, { probeInterval: 1000, probeTimeout: 500, pushPullInterval: 30_000 })
  return { membership, dials, seed }
}

describe('membership: SWIM rounds and join (stubbed network, fake time)', () => {
  let clock: Clock | undefined
  afterEach(() => { clock?.uninstall(); clock = undefined })

  it('join() rejects with AbortError when aborted, before or during its syncs', async () => {
    const { membership, seed } = await lonely(true)
    await expect(membership.join([seed], { signal: aborted() })).to.eventually.be.rejected.with.property('name', 'AbortError')
    const controller = new AbortController()
    const joining = membership.join([seed], { signal: controller.signal })
    controller.abort()
    await expect(joining).to.eventually.be.rejected.with.property('name', 'AbortError')
  })

  it('while it knows no member, each push-pull round (every interval, none before) syncs with a join peer; stop() ends the rounds', async () => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    const { membership, dials, seed } = await lonely()
    await membership.start()
    // the join itself (refused on the stubbed network) remembers the seed
    expect(await membership.join([seed])).to.equal(0)
    dials.length = 0
    await clock.tickAsync(30_000 - 1)
    expect(dials).to.have.length(0)
    await clock.tickAsync(1)
    expect(dials.map(d => d.peer.toString())).to.deep.equal([seed.toString()])
    expect(dials[0]?.at).to.equal(30_000)
    await membership.stop({ leave: false })
    await clock.tickAsync(120_000)
    expect(dials).to.have.length(1)
    expect(membership.list()).to.have.length(1)
  })

  it('start() registers the protocol once, stop() unregisters it (idempotent both ways)', async () => {
    const { membership } = await lonely()
    const network = (membership as unknown as { components: { network: ReturnType<typeof stubInterface<MembershipComponents['network']>> } }).components.network
    await membership.start()
    await membership.start()
    await membership.stop({ leave: false })
    await membership.stop({ leave: false })
    expect(network.handle.callCount).to.equal(1)
    expect(network.handle.firstCall.args[0]).to.equal(PROTOCOL_MEMBERSHIP)
    expect(network.unhandle.callCount).to.equal(1)
  })

  it('holds a connection-budget lease around every outbound request, released when it ends, failed or aborted', async () => {
    const leases: Array<{ peer: string, released: boolean }> = []
    const connections = {
      acquire: (peer: PeerId) => {
        const lease = { peer: peer.toString(), released: false }
        leases.push(lease)
        return () => { lease.released = true }
      }
    }
    const refused = await lonely(false, connections)
    expect(await refused.membership.join([refused.seed])).to.equal(0)
    expect(leases).to.deep.equal([{ peer: refused.seed.toString(), released: true }])

    leases.length = 0
    const hanging = await lonely(true, connections)
    const controller = new AbortController()
    const joining = hanging.membership.join([hanging.seed], { signal: controller.signal })
    await new Promise(resolve => setImmediate(resolve))
    expect(leases.map(l => l.released), 'held while the dial hangs').to.deep.equal([false])
    controller.abort()
    await expect(joining).to.eventually.be.rejected.with.property('name', 'AbortError')
    expect(leases.map(l => l.released)).to.deep.equal([true])
  })
})
