/**
 * A process test net in network namespaces: real `p2pstore daemon` processes (from dist/: run
 * `npm run build` first), one per namespace, partitioned by iptables rules rather than by their
 * own connection gaters. Runs only as root; as root, a machine that cannot build a lab fails the
 * suite with the reason.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import { NetnsLab } from '../../src/faults/index.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'

/** SWIM states peer `from` reports of every other peer, by peer index. */
async function states (net: ProcessTestnet, from: number): Promise<Map<number, string>> {
  const res = await fetch(new URL('/v1/peers', api(net, from)), { headers: await auth(net, from), signal: AbortSignal.timeout(5000) })
  expect(res.status, `GET /v1/peers of peer-${from}`).to.equal(200)
  const members = await res.json() as Array<{ peerId: string, state: string }>
  const byId = new Map(members.map(m => [m.peerId, m.state]))
  return new Map(net.peers.filter(p => p.index !== from).map(p => [p.index, byId.get(p.peerId) ?? 'unknown']))
}

function api (net: ProcessTestnet, index: number): string {
  const peer = net.peers[index]
  if (peer == null) throw new Error(`no peer-${index}`)
  return peer.api
}

async function auth (net: ProcessTestnet, index: number): Promise<Record<string, string>> {
  const token = await net.apiToken(index)
  expect(token, `api-token of peer-${index}`).to.be.a('string')
  return { authorization: `Bearer ${token}` }
}

async function command (file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout) => {
      if (err != null) {
        reject(err)
        return
      }
      resolve(stdout)
    })
  })
}

async function labNamespaces (prefix: string): Promise<string[]> {
  return (await command('ip', ['netns', 'list'])).split('\n')
    .map(line => line.split(' ')[0] ?? '')
    .filter(name => name.startsWith(`${prefix}-`))
}

/** The lab `testnet.json` names. */
async function labOf (net: ProcessTestnet): Promise<{ prefix: string, subnet: string }> {
  const file = JSON.parse(await fs.readFile(net.file, 'utf8')) as { netns?: { prefix: string, subnet: string } }
  expect(file.netns, 'testnet.json names the lab').to.be.an('object')
  return file.netns ?? { prefix: '', subnet: '' }
}

describe('ProcessTestnet in network namespaces', function () {
  this.timeout(60_000)
  let net: ProcessTestnet | undefined

  before(async function () {
    const available = await NetnsLab.available()
    if (!available.ok) {
      // a system suite (npm run test:system): it fails rather than skips where it cannot run
      throw new Error(`a test net cannot run in network namespaces here: ${available.reason} (run the system suites as root with "npm run test:system")`)
    }
  })

  after(async function () {
    // stops the daemons, then deletes the namespaces, even when a test failed half-way
    await net?.stop()
  })

  it('starts 4 peers in 4 namespaces, each knowing every other', async function () {
    net = new ProcessTestnet({ peers: 4, netns: true, joinTimeout: 30_000 })
    const peers = await net.start()

    expect(peers).to.have.lengthOf(4)
    const hosts = peers.map(p => new URL(p.api).hostname)
    expect(new Set(hosts)).to.have.property('size', 4)
    for (const host of hosts) {
      expect(host).to.not.match(/^127\./)
    }
    // every peer listens on its own lab address only
    peers.forEach((p, i) => {
      expect(p.multiaddrs.every(ma => ma.startsWith(`/ip4/${hosts[i] ?? ''}/tcp/`)), p.multiaddrs.join(' ')).to.equal(true)
    })
    // `ip netns exec` execs: the pid is the daemon's own, and it runs in its host's namespace
    const { prefix } = await labOf(net)
    for (const p of peers) {
      expect(await fs.readFile(`/proc/${p.pid}/cmdline`, 'utf8')).to.include('p2pstore.js\0daemon')
      expect((await command('ip', ['netns', 'identify', String(p.pid)])).trim()).to.equal(`${prefix}-h${p.index}`)
    }
    // the API off loopback demands the token
    const anonymous = await fetch(new URL('/v1/peers', peers[0]?.api), { signal: AbortSignal.timeout(5000) })
    expect(anonymous.status).to.equal(401)
    for (const i of [0, 1, 2, 3]) {
      expect([...(await states(net, i)).values()], `peer-${i}'s view`).to.deep.equal(['alive', 'alive', 'alive'])
    }
  })

  it('stores a value through one peer and reads it through another', async function () {
    if (net == null) this.skip()
    const value = Buffer.from([0, 1, 2, 250, 251, 255])
    const put = await fetch(new URL('/v1/kv/netns-key', api(net, 0)), {
      method: 'PUT',
      headers: { ...await auth(net, 0), 'content-type': 'application/octet-stream' },
      body: value,
      signal: AbortSignal.timeout(10_000)
    })
    expect(put.status, await put.clone().text()).to.equal(200)

    const get = await fetch(new URL('/v1/kv/netns-key', api(net, 3)), { headers: await auth(net, 3), signal: AbortSignal.timeout(10_000) })
    expect(get.status).to.equal(200)
    expect(Buffer.from(await get.arrayBuffer())).to.deep.equal(value)
  })

  it('partition() cuts the net in the kernel and heal() joins it again', async function () {
    if (net == null) this.skip()
    const testnet = net
    await testnet.partition([[0, 1], [2, 3]])

    // the controller still reaches every API; peer 0 loses 2 and 3, keeps 1
    await eventually(async () => {
      const seen = await states(testnet, 0)
      return seen.get(1) === 'alive' && seen.get(2) !== 'alive' && seen.get(3) !== 'alive'
    }, 'peer-0 to see peers 2 and 3 as not alive', 15_000, 250)
    expect((await states(testnet, 3)).get(2)).to.equal('alive')

    await testnet.heal()

    await eventually(async () => {
      for (const i of [0, 1, 2, 3]) {
        if ([...(await states(testnet, i)).values()].some(state => state !== 'alive')) return false
      }
      return true
    }, 'every peer to see every other as alive again', 30_000, 250)
  })

  it('loss() needs, and gets, network namespaces', async function () {
    if (net == null) this.skip()
    await net.loss(2, 0.2)
    await net.loss(2, 0)
    const plain = new ProcessTestnet({ peers: 1 })
    await expect(plain.loss(0, 0.5)).to.eventually.be.rejected.with.property('name', 'UnsupportedOperationError')
  })

  it('attach() drives the cuts of the lab', async function () {
    if (net == null) this.skip()
    const { prefix } = await labOf(net)
    const attached = await ProcessTestnet.attach(net.dir)
    const cutRules = async (): Promise<string> => command('ip', ['netns', 'exec', `${prefix}-h1`, 'iptables', '-S', 'p2ps-cut'])

    await attached.partition([[0], [1]], { oneWay: true })
    expect(await cutRules()).to.include(`-s ${new URL(api(net, 0)).hostname}/32`)
    await attached.heal()
    expect(await cutRules()).to.not.include('DROP')
    await attached.stop()
    expect(await labNamespaces(prefix), 'an attached handle owns nothing').to.have.lengthOf(5)
  })

  it('stop() deletes every namespace of the lab', async function () {
    if (net == null) this.skip()
    const { prefix } = await labOf(net)
    expect(await labNamespaces(prefix)).to.have.lengthOf(5)

    await net.stop()

    expect(await labNamespaces(prefix)).to.deep.equal([])
    expect(await command('ip', ['link', 'show']), 'controller link').to.not.include(`${prefix}-c`)
  })
})
