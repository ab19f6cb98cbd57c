import net from 'node:net'
import { apiPort, cidrMultiaddr, isPortFree, onHost, tcpPort } from '../../../src/testnet/processes/ports.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'

const ID = '12D3KooWJm8qLpkzXRcBqTHXHsDpUrnQdKHy8nfkvK4n3jLtPbwj'

describe('testnet: ports and multiaddrs of process test nets', () => {
  const cleanup = useCleanup()

  it('reads the TCP port of the first address on a host, by multiaddr components', () => {
    const addrs = [`/ip4/10.0.0.11/tcp/4100/p2p/${ID}`, `/ip4/127.0.0.1/tcp/4200/p2p/${ID}`, '/ip4/127.0.0.1/tcp/4300']
    expect(tcpPort(addrs, '127.0.0.1')).to.equal(4200)
    expect(tcpPort(addrs, '10.0.0.11')).to.equal(4100)
    expect(tcpPort(addrs, '127.0.0.10')).to.equal(undefined)
    expect(tcpPort(['not a multiaddr', '/ip6/::1/tcp/1'], '127.0.0.1')).to.equal(undefined)
  })

  it('keeps the addresses on one host only (not a host whose address merely starts the same)', () => {
    const addrs = ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.10/tcp/2', '/ip4/10.1.2.3/tcp/3', '/dns4/localhost/tcp/4']
    expect(onHost(addrs, '127.0.0.1')).to.deep.equal(['/ip4/127.0.0.1/tcp/1'])
  })

  it('writes a CIDR as an ipcidr multiaddr and reads an API URL\'s port', () => {
    expect(cidrMultiaddr('10.77.3.0/24')).to.equal('/ip4/10.77.3.0/ipcidr/24')
    expect(apiPort('http://127.0.0.1:4701')).to.equal(4701)
    expect(apiPort('http://127.0.0.1')).to.equal(undefined)
    expect(apiPort('nonsense')).to.equal(undefined)
  })

  it('tells a taken port from a free one', async () => {
    const server = net.createServer()
    server.listen({ host: '127.0.0.1', port: 0 })
    await new Promise(resolve => server.once('listening', resolve))
    cleanup.add(async () => new Promise(resolve => { server.close(resolve) }))
    const { port } = server.address() as net.AddressInfo
    expect(await isPortFree('127.0.0.1', port)).to.equal(false)
    await new Promise(resolve => { server.close(resolve) })
    expect(await isPortFree('127.0.0.1', port)).to.equal(true)
  })
})
