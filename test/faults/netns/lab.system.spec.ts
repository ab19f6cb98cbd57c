/**
 * NetnsLab against real network namespaces: small node scripts run inside the hosts (through
 * `lab.wrap`) and talk TCP and UDP over the lab's bridge while cuts and loss are applied. Runs only
 * as root; as root, a machine that cannot build a lab fails the suite with the reason.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { cleanupStaleLabs, NetnsLab } from '../../../src/faults/netns/index.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'
import type { Cleanup } from '../../utils/cleanup.ts'

/** How long a client waits for a TCP connection before it calls the attempt a timeout. */
const CONNECT_TIMEOUT = 1000

/** How long a receiver gets for datagrams that were not dropped to arrive. */
const UDP_SETTLE = 300

/**
 * Listens on TCP and UDP (ports picked by the kernel), prints `{"tcp":…,"udp":…}`, answers each
 * TCP connection with "hi" and prints every datagram it receives on a line of its own.
 */
const SERVER = `
const net = require('node:net')
const dgram = require('node:dgram')
const tcp = net.createServer(socket => { socket.end('hi') })
const udp = dgram.createSocket('udp4')
udp.on('message', msg => { process.stdout.write('udp ' + msg + '\\n') })
tcp.listen(0, '0.0.0.0', () => {
  udp.bind(0, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ tcp: tcp.address().port, udp: udp.address().port }) + '\\n')
  })
})
`

/** Connects to argv host:port, prints "ok" on the server's greeting, "timeout" or the error code. */
const TCP_CLIENT = `
const socket = require('node:net').connect(Number(process.argv[2]), process.argv[1])
socket.setTimeout(${CONNECT_TIMEOUT}, () => { console.log('timeout'); process.exit(0) })
socket.on('data', () => { console.log('ok'); process.exit(0) })
socket.on('error', err => { console.log(err.code); process.exit(0) })
`

/** Sends argv count datagrams "tag-n" to host:port, one after the other. */
const UDP_CLIENT = `
const [host, port, tag, count] = process.argv.slice(1)
const udp = require('node:dgram').createSocket('udp4')
;(async () => {
  for (let n = 0; n < Number(count); n++) {
    await new Promise((resolve, reject) => { udp.send(tag + '-' + n, Number(port), host, err => err ? reject(err) : resolve()) })
  }
  udp.close()
})().catch(err => { console.log(err.code); process.exit(1) })
`

interface Server {
  tcp: number
  udp: number
  /** datagrams received so far */
  datagrams(tag: string): number
}

/** Starts SERVER inside host `i`; the process is SIGKILLed after the test. */
async function startServer (lab: NetnsLab, cleanup: Cleanup, i: number): Promise<Server> {
  const { command, args } = lab.wrap(i, process.execPath, ['-e', SERVER])
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  cleanup.add(async () => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const deadline = Date.now() + 10_000
  while (!output.includes('\n')) {
    if (child.exitCode != null || Date.now() > deadline) {
      throw new Error(`server in host ${i} did not start (exit ${child.exitCode}, output ${JSON.stringify(output)})`)
    }
    await sleep(20)
  }
  const ports = JSON.parse(output.slice(0, output.indexOf('\n'))) as { tcp: number, udp: number }
  return {
    ...ports,
    datagrams: tag => output.split('\n').filter(line => line.startsWith(`udp ${tag}-`)).length
  }
}

/** Runs `script` with `args` in host `i` and returns what it printed. */
async function runIn (lab: NetnsLab, i: number, script: string, args: string[]): Promise<string> {
  const { command, args: wrapped } = lab.wrap(i, process.execPath, ['-e', script, ...args])
  return new Promise((resolve, reject) => {
    execFile(command, wrapped, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err != null) {
        reject(new Error(`${script.trim().split('\n')[0]} in host ${i} failed: ${stderr}`, { cause: err }))
        return
      }
      resolve(stdout.trim())
    })
  })
}

/** "ok", "timeout" or an error code, for a TCP connection from the root namespace to the server on host `to`. */
async function connectFromController (lab: NetnsLab, to: number, server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', TCP_CLIENT, lab.ip(to), String(server.tcp)], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err != null) {
        reject(new Error(`client in the root namespace failed: ${stderr}`, { cause: err }))
        return
      }
      resolve(stdout.trim())
    })
  })
}

/** The root namespace's IPv4 addresses on interface `name`, or undefined when there is no such interface. */
async function rootAddresses (name: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', '-4', 'addr', 'show', 'dev', name], (err, stdout) => {
      if (err != null) {
        resolve(undefined)
        return
      }
      const links = JSON.parse(stdout) as Array<{ addr_info?: Array<{ local: string, prefixlen: number }> }>
      resolve(links.flatMap(link => (link.addr_info ?? []).map(a => `${a.local}/${a.prefixlen}`)))
    })
  })
}

/** "ok", "timeout" or an error code, for a TCP connection from host `from` to the server on host `to`. */
async function connect (lab: NetnsLab, from: number, to: number, server: Server): Promise<string> {
  return runIn(lab, from, TCP_CLIENT, [lab.ip(to), String(server.tcp)])
}

/** How many of `count` datagrams from host `from` reached the server on host `to`. */
async function sendDatagrams (lab: NetnsLab, from: number, to: number, server: Server, tag: string, count = 5): Promise<number> {
  const printed = await runIn(lab, from, UDP_CLIENT, [lab.ip(to), String(server.udp), tag, String(count)])
  expect(printed, 'sending datagrams fails only if the sender drops them').to.equal('')
  await sleep(UDP_SETTLE)
  return server.datagrams(tag)
}

async function labNamespaces (prefix: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'list'], (err, stdout) => {
      if (err != null) {
        reject(err)
        return
      }
      resolve(stdout.split('\n').map(line => line.split(' ')[0] ?? '').filter(name => name.startsWith(`${prefix}-`)))
    })
  })
}

describe('NetnsLab', function () {
  const cleanup = useCleanup()
  const prefix = `t${process.pid}`
  let lab: NetnsLab

  before(async function () {
    const available = await NetnsLab.available()
    if (!available.ok) {
      // a system suite (npm run test:system): it fails rather than skips where it cannot run
      throw new Error(`NetnsLab cannot build a lab on this machine: ${available.reason} (run the system suites as root with "npm run test:system")`)
    }
  })

  after(async function () {
    // a crashed test may have left a lab even though every test cleans up its own
    await cleanupStaleLabs(prefix)
  })

  describe('with 3 hosts', function () {
    let servers: Server[]

    beforeEach(async function () {
      lab = new NetnsLab({ hosts: 3, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()
      servers = await Promise.all([0, 1, 2].map(async i => startServer(lab, cleanup, i)))
    })

    it('gives each host its own namespace and address', function () {
      expect(lab.namespace(0)).to.equal(`${prefix}-h0`)
      expect(new Set([0, 1, 2].map(i => lab.ip(i)))).to.have.property('size', 3)
      expect(lab.wrap(2, 'true', ['x'])).to.deep.equal({ command: 'ip', args: ['netns', 'exec', `${prefix}-h2`, 'true', 'x'] })
    })

    it('the controller in the root namespace reaches every host, through cuts and loss', async function () {
      expect(lab.controllerIp()).to.equal(lab.subnet.replace(/\.0\/24$/, '.1'))
      for (const i of [0, 1, 2]) {
        expect(await connectFromController(lab, i, servers[i]!)).to.equal('ok')
      }

      await lab.cut([0], [1, 2])
      await lab.cut([1], [2])
      await lab.loss(1, 1)

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')
      for (const i of [0, 1, 2]) {
        expect(await connectFromController(lab, i, servers[i]!), `host ${i}`).to.equal('ok')
      }
    })

    it('connects every host to every other', async function () {
      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('ok')
      expect(await connect(lab, 2, 1, servers[1]!)).to.equal('ok')
      expect(await connect(lab, 1, 0, servers[0]!)).to.equal('ok')
    })

    it('cut drops packets both ways between the cut hosts only', async function () {
      await lab.cut([0], [1])

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')
      expect(await connect(lab, 1, 0, servers[0]!)).to.equal('timeout')
      expect(await connect(lab, 2, 1, servers[1]!)).to.equal('ok')
      expect(await connect(lab, 0, 2, servers[2]!)).to.equal('ok')
    })

    it('a one-way cut drops packets in one direction only', async function () {
      await lab.cut([0], [1], { oneWay: true })

      expect(await sendDatagrams(lab, 0, 1, servers[1]!, 'zero-to-one')).to.equal(0)
      expect(await sendDatagrams(lab, 1, 0, servers[0]!, 'one-to-zero')).to.equal(5)
      // TCP needs both directions: the SYN from 0 is dropped, and so is 0's SYN-ACK to 1
      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')
      expect(await connect(lab, 1, 0, servers[0]!)).to.equal('timeout')
    })

    it('cuts add up, and a repeated cut changes nothing', async function () {
      await lab.cut([0], [1])
      await lab.cut([0], [1])
      await lab.cut([2], [1], { oneWay: true })

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')
      expect(await sendDatagrams(lab, 2, 1, servers[1]!, 'two-to-one')).to.equal(0)
      expect(await sendDatagrams(lab, 1, 2, servers[2]!, 'one-to-two')).to.equal(5)
    })

    it('heal removes every cut and every loss', async function () {
      await lab.cut([0, 2], [1])
      await lab.loss(0, 1)
      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')

      await lab.heal()

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('ok')
      expect(await connect(lab, 2, 1, servers[1]!)).to.equal('ok')
      expect(await connect(lab, 1, 0, servers[0]!)).to.equal('ok')
    })

    it('loss 1 drops everything arriving at the host, and loss 0 removes it', async function () {
      await lab.loss(1, 1)

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('timeout')
      expect(await connect(lab, 2, 1, servers[1]!)).to.equal('timeout')
      expect(await sendDatagrams(lab, 0, 1, servers[1]!, 'lost')).to.equal(0)
      // only arrivals: host 1 still sends
      expect(await sendDatagrams(lab, 1, 2, servers[2]!, 'from-lossy')).to.equal(5)

      await lab.loss(1, 0)

      expect(await connect(lab, 0, 1, servers[1]!)).to.equal('ok')
    })

    it('loss drops about the given share of packets', async function () {
      await lab.loss(1, 0.5)
      // 200 tries at p = 0.5: mean 100, standard deviation about 7
      const arrived = await sendDatagrams(lab, 0, 1, servers[1]!, 'half', 200)
      expect(arrived).to.be.within(50, 150)
    })
  })

  describe('lifecycle', function () {
    it('cleanup removes every namespace and is safe to call twice', async function () {
      lab = new NetnsLab({ hosts: 3, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()
      await lab.setup()
      expect(await labNamespaces(prefix)).to.have.members([`${prefix}-sw`, `${prefix}-h0`, `${prefix}-h1`, `${prefix}-h2`])
      expect(await rootAddresses(`${prefix}-c`)).to.deep.equal([`${lab.controllerIp()}/24`])

      await lab.cleanup()
      await lab.cleanup()

      expect(await labNamespaces(prefix)).to.deep.equal([])
      expect(await rootAddresses(`${prefix}-c`), 'controller link').to.equal(undefined)
    })

    it('existing() drives the faults of a lab set up elsewhere, and owns none of it', async function () {
      lab = new NetnsLab({ hosts: 2, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()
      const server = await startServer(lab, cleanup, 1)

      const other = await NetnsLab.existing({ hosts: 2, prefix, subnet: lab.subnet })
      expect(other.ip(1)).to.equal(lab.ip(1))
      await other.cut([0], [1])
      expect(await connect(lab, 0, 1, server)).to.equal('timeout')
      await other.heal()
      expect(await connect(lab, 0, 1, server)).to.equal('ok')

      await other.cleanup()
      expect(await labNamespaces(prefix)).to.have.lengthOf(3)
      await expect(NetnsLab.existing({ hosts: 3, prefix, subnet: lab.subnet })).to.eventually.be.rejected.with.property('name', 'TestnetError')
    })

    it('refuses a subnet in use, and gives labs with the default subnet distinct ones', async function () {
      lab = new NetnsLab({ hosts: 1, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()

      const clash = new NetnsLab({ hosts: 1, prefix: `${prefix}x`, subnet: lab.subnet })
      cleanup.add(async () => clash.cleanup())
      await expect(clash.setup()).to.eventually.be.rejected.with.property('name', 'TestnetError')
      expect(await labNamespaces(`${prefix}x`)).to.deep.equal([])

      const first = new NetnsLab({ hosts: 1 })
      const second = new NetnsLab({ hosts: 1 })
      cleanup.add(async () => first.cleanup())
      cleanup.add(async () => second.cleanup())
      await Promise.all([first.setup(), second.setup()])
      expect(first.subnet).to.not.equal(second.subnet)
      expect(first.prefix).to.not.equal(second.prefix)
    })

    it('cleanup before setup does nothing', async function () {
      lab = new NetnsLab({ hosts: 1, prefix })
      await lab.cleanup()
      expect(await labNamespaces(prefix)).to.deep.equal([])
    })

    it('faults before setup are refused', async function () {
      lab = new NetnsLab({ hosts: 2, prefix })
      await expect(lab.cut([0], [1])).to.eventually.be.rejected.with.property('name', 'NotStartedError')
      await expect(lab.loss(0, 0.5)).to.eventually.be.rejected.with.property('name', 'NotStartedError')
      await expect(lab.heal()).to.eventually.be.rejected.with.property('name', 'NotStartedError')
    })

    it('setup refuses a prefix in use, and leaves the other lab alone', async function () {
      lab = new NetnsLab({ hosts: 2, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()

      const twin = new NetnsLab({ hosts: 2, prefix })
      await expect(twin.setup()).to.eventually.be.rejected.with.property('name', 'TestnetError')
      await twin.cleanup()

      expect(await labNamespaces(prefix)).to.have.lengthOf(3)
    })

    it('rejects bad arguments', async function () {
      expect(() => new NetnsLab({ hosts: 0 })).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => new NetnsLab({ hosts: 65 })).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => new NetnsLab({ hosts: 2, prefix: 'a b' })).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => new NetnsLab({ hosts: 2, subnet: '10.0.0.0/16' })).to.throw().with.property('name', 'InvalidParametersError')
      lab = new NetnsLab({ hosts: 2, prefix })
      expect(() => lab.ip(2)).to.throw().with.property('name', 'InvalidParametersError')

      cleanup.add(async () => lab.cleanup())
      await lab.setup()
      await expect(lab.loss(0, 1.5)).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
      await expect(lab.cut([0], [5])).to.eventually.be.rejected.with.property('name', 'InvalidParametersError')
    })

    it('cleanupStaleLabs removes the lab of a killed process and keeps a live one', async function () {
      const stale = `s${process.pid}`
      const module = new URL('../../../src/faults/netns/index.ts', import.meta.url).href
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
        import { NetnsLab } from ${JSON.stringify(module)}
        await new NetnsLab({ hosts: 2, prefix: ${JSON.stringify(stale)} }).setup()
        console.log('ready')
        setInterval(() => {}, 1000)
      `], { stdio: ['ignore', 'pipe', 'inherit'] })
      const exited = once(child, 'exit')
      cleanup.add(async () => {
        if (child.exitCode == null && child.signalCode == null) {
          child.kill('SIGKILL')
          await exited
        }
        await cleanupStaleLabs(stale)
      })
      const [line] = await once(child.stdout, 'data') as [Buffer]
      expect(line.toString().trim()).to.equal('ready')

      expect(await cleanupStaleLabs(stale), 'its owner still runs').to.equal(0)

      child.kill('SIGKILL')
      await exited
      expect(await cleanupStaleLabs(stale)).to.equal(3)
      expect(await labNamespaces(stale)).to.deep.equal([])

      // our own lab is alive: the default scheme and an explicit prefix both keep it
      lab = new NetnsLab({ hosts: 1, prefix })
      cleanup.add(async () => lab.cleanup())
      await lab.setup()
      expect(await cleanupStaleLabs(prefix)).to.equal(0)
    })
  })
})
