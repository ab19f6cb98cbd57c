import { multiaddr } from '@multiformats/multiaddr'
import { AddressCaps, ipOf } from '../../src/connections/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { FloorServices } from '../bench/nodes.ts'
import type { Libp2p } from '@libp2p/interface'

/** What the caps see of an inbound connection: its remote address and its close event. */
class FakeConn extends EventTarget {
  readonly remoteAddr
  constructor (addr: string) {
    super()
    this.remoteAddr = multiaddr(addr)
  }

  close (): void {
    this.dispatchEvent(new Event('close'))
  }
}

describe('connections: per-IP and per-range caps', () => {
  it('refuses past perIp from one address, and counts a closed connection out', () => {
    const caps = new AddressCaps({ perIp: 2, perRange: 10 })
    const a = [new FakeConn('/ip4/192.0.2.7/tcp/1'), new FakeConn('/ip4/192.0.2.7/tcp/2'), new FakeConn('/ip4/192.0.2.7/tcp/3')]
    expect(a.map(c => caps.admit(c))).to.deep.equal([true, true, false])
    expect(caps.admit(new FakeConn('/ip4/192.0.2.8/tcp/1')), 'another host').to.equal(true)
    a[0]?.close()
    expect(caps.countFor(multiaddr('/ip4/192.0.2.7'))).to.equal(1)
    expect(caps.admit(new FakeConn('/ip4/192.0.2.7/tcp/4'))).to.equal(true)
    expect(caps.refused).to.deep.equal({ ip: 1, range: 0 })
  })

  it('refuses past perRange within a /24 and a /64, and not across ranges', () => {
    const caps = new AddressCaps({ perIp: 8, perRange: 3 })
    const v4 = ['1', '2', '3', '4'].map(h => caps.admit(new FakeConn(`/ip4/198.51.100.${h}/tcp/1`)))
    expect(v4).to.deep.equal([true, true, true, false])
    expect(caps.admit(new FakeConn('/ip4/198.51.101.1/tcp/1')), 'the next /24').to.equal(true)
    const v6 = ['::1:1', '::2:1', ':ffff::1', ':1::9'].map(h => caps.admit(new FakeConn(`/ip6/2001:db8:0:1${h}/tcp/1`)))
    // the first three share 2001:db8:0:1::/64; the fourth is 2001:db8:0:1:1::9, the same /64
    expect(v6).to.deep.equal([true, true, true, false])
    expect(caps.admit(new FakeConn('/ip6/2001:db8:0:2::1/tcp/1')), 'the next /64').to.equal(true)
    expect(caps.refused.range).to.equal(2)
  })

  it('exempts loopback unless told, and the allow ranges; an IPv4-mapped address counts as IPv4', () => {
    const caps = new AddressCaps({ perIp: 1, perRange: 1, allow: [multiaddr('/ip4/10.0.0.0/ipcidr/8')] })
    expect([1, 2, 3].map(p => caps.admit(new FakeConn(`/ip4/127.0.0.1/tcp/${p}`)))).to.deep.equal([true, true, true])
    expect([1, 2].map(p => caps.admit(new FakeConn(`/ip4/10.9.8.7/tcp/${p}`)))).to.deep.equal([true, true])
    expect([1, 2].map(p => caps.admit(new FakeConn(`/ip6/::ffff:203.0.113.5/tcp/${p}`)))).to.deep.equal([true, false])
    expect(caps.admit(new FakeConn('/ip4/203.0.113.5/tcp/3')), 'the same host, as IPv4').to.equal(false)
    const aligned = new AddressCaps({ perIp: 1, perRange: 1, allow: [multiaddr('/ip4/172.16.0.0/ipcidr/12')] })
    expect([1, 2].map(p => aligned.admit(new FakeConn(`/ip4/172.31.255.1/tcp/${p}`))), 'inside a /12').to.deep.equal([true, true])
    expect([1, 2].map(p => aligned.admit(new FakeConn(`/ip4/172.32.0.1/tcp/${p}`))), 'just outside it').to.deep.equal([true, false])
    const strict = new AddressCaps({ perIp: 1, perRange: 5, allow: [multiaddr('/ip4/127.0.0.0/ipcidr/8')], limitLoopback: true })
    expect([1, 2].map(p => strict.admit(new FakeConn(`/ip4/127.0.0.1/tcp/${p}`)))).to.deep.equal([true, false])
    expect([1, 2].map(p => strict.admit(new FakeConn(`/ip6/::1/tcp/${p}`)))).to.deep.equal([true, false])
  })

  it('parses IPv6 forms', () => {
    const hex = (addr: string): string => Buffer.from(ipOf(multiaddr(addr)) ?? []).toString('hex')
    expect(hex('/ip6/::1')).to.equal('00000000000000000000000000000001')
    expect(hex('/ip6/2001:db8::')).to.equal('20010db8000000000000000000000000')
    expect(hex('/ip6/1:2:3:4:5:6:7:8')).to.equal('00010002000300040005000600070008')
    expect(hex('/ip6/::ffff:1.2.3.4')).to.equal('01020304')
    expect(ipOf(multiaddr('/dns4/example.org/tcp/1'))).to.equal(undefined)
  })
})

describe('connections: per-IP caps against a crowd of hostile peers from one address', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('holds at most maxConnectionsPerIp inbound connections from 127.0.0.1; honest put/get go on', async () => {
    const perIp = 6
    // loopback counted (limitLoopback) on every peer: the others' connections to the target count too
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) }, peer: { maxConnectionsPerIp: perIp, limitLoopback: true } })
    const [target, other] = net.peers
    if (target == null || other == null) throw new Error('no peers')
    const inbound = (): number => target.libp2p.getConnections().filter(c => c.direction === 'inbound').length
    let most = 0
    const sampler = setInterval(() => { most = Math.max(most, target.addressCaps.countFor(multiaddr('/ip4/127.0.0.1'))) }, 5)
    cleanup.add(() => { clearInterval(sampler) })

    const hostile: Array<Libp2p<FloorServices>> = []
    for (let i = 0; i < 12; i++) {
      const node = await createFloorNode()
      cleanup.add(async () => { await node.stop() })
      hostile.push(node)
    }
    const results = await Promise.allSettled(hostile.map(async h => {
      const conn = await h.dial(target.getMultiaddrs(), { signal: AbortSignal.timeout(20_000) })
      // a refused connection may look open on the dialling side for a moment
      await h.services.ping.ping(target.peerId, { signal: AbortSignal.timeout(10_000) })
      return conn
    }))
    const through = results.filter(r => r.status === 'fulfilled').length
    most = Math.max(most, target.addressCaps.countFor(multiaddr('/ip4/127.0.0.1')))
    expect(most, 'connections counted against 127.0.0.1').to.be.at.most(perIp)
    expect(inbound(), 'inbound connections open on the target').to.be.at.most(perIp)
    expect(through, 'hostile connections that got through').to.be.lessThan(12)
    expect(target.addressCaps.refused.ip, 'connections refused by the per-IP cap').to.be.greaterThan(0)

    // honest traffic: the target's own dials are not capped, and its members stay connected
    const enc = new TextEncoder()
    await target.put(enc.encode('k'), enc.encode('v'))
    expect((await other.get(enc.encode('k'))).siblings).to.have.length(1)
    // the hostile peers leave: their slots are free again
    await Promise.all(hostile.map(async h => { await h.stop() }))
    await eventually(async () => target.addressCaps.countFor(multiaddr('/ip4/127.0.0.1')) < perIp, 'the hostile peers\' slots freed')
    await eventually(async () => target.addressCaps.countFor(multiaddr('/ip4/127.0.0.1')) === inbound(), 'the count follows the open connections')
  })
})
