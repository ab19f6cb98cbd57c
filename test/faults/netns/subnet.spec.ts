import { defaultSubnet, nextBase, overlappingRoute, parseSubnet } from '../../../src/faults/netns/subnet.ts'
import { expect } from '../../utils/expect.ts'

describe('faults: a netns lab\'s subnet', () => {
  it('parses a.b.c.0/24 and nothing else', () => {
    expect(parseSubnet('10.77.3.0/24')).to.equal('10.77.3')
    for (const bad of ['10.0.0.0/16', '10.0.0.1/24', '10.256.0.0/24', 'x']) expect(parseSubnet(bad), bad).to.equal(undefined)
  })

  it('spreads the default subnets of a process and moves on within the /8', () => {
    expect(defaultSubnet(1, 0)).to.equal('10.0.64.0/24')
    expect(defaultSubnet(1, 1)).to.equal('10.0.65.0/24')
    expect(nextBase('10.0.255')).to.equal('10.1.0')
    expect(nextBase('10.255.255')).to.equal('10.0.0')
  })

  it('finds a route that overlaps the /24, ignoring default routes', () => {
    const routes = [{ dst: 'default', dev: 'eth0' }, { dst: '0.0.0.0/0' }, { dst: '10.77.0.0/16', dev: 'br9' }, { dst: '192.168.1.5' }]
    expect(overlappingRoute(routes, '10.77.3')).to.equal('route 10.77.0.0/16 dev br9')
    expect(overlappingRoute(routes, '10.78.3')).to.equal(undefined)
    expect(overlappingRoute(routes, '192.168.1')).to.equal('route 192.168.1.5')
  })
})
