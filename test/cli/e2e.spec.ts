import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { isRunning, runCli, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'

interface TestnetJson {
  peers: Array<{ index: number, peerId: string, pid: number, api: string, multiaddrs: string[], dataDir: string }>
}

async function takenPort (cleanup: ReturnType<typeof useCleanup>): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanup.add(async () => new Promise(resolve => server.close(resolve)))
  return (server.address() as net.AddressInfo).port
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('cli end to end (bin/p2pstore.js as a process)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('testnet --peers 3: every API lists the other two peers, SIGTERM stops every child', async () => {
    const dir = await cleanup.tempDir()
    const testnet = startCli(cleanup, ['testnet', '--peers', '3', '--dir', dir, '--json'])
    const ready = JSON.parse(await testnet.waitForLine(/^\{/)) as TestnetJson & { file: string }
    const written = JSON.parse(await fs.readFile(path.join(dir, 'testnet.json'), 'utf8')) as TestnetJson
    expect(written.peers.map(p => p.peerId)).to.deep.equal(ready.peers.map(p => p.peerId))
    expect(written.peers).to.have.length(3)

    const ids = written.peers.map(p => p.peerId)
    for (const peer of written.peers) {
      expect(peer.multiaddrs.every(ma => ma.startsWith('/ip4/127.0.0.1/tcp/'))).to.equal(true)
      const res = await runCli(cleanup, ['--api', peer.api, 'peers', '--json'])
      expect(res.code, res.stderr).to.equal(0)
      const listed = JSON.parse(res.stdout) as Array<{ peerId: string, multiaddrs: string[], connected: boolean }>
      expect(listed.map(p => p.peerId).sort()).to.deep.equal(ids.filter(id => id !== peer.peerId).sort())
      expect(listed.every(p => Array.isArray(p.multiaddrs) && typeof p.connected === 'boolean')).to.equal(true)
    }

    // the CLI finds a daemon through <datadir>/api without --api
    const status = await runCli(cleanup, ['--data', written.peers[1]?.dataDir ?? '', 'status', '--json'])
    expect(status.code, status.stderr).to.equal(0)
    expect(JSON.parse(status.stdout)).to.include({ peerId: written.peers[1]?.peerId, joined: true })

    testnet.child.kill('SIGTERM')
    expect(await testnet.exited).to.equal(0)
    for (const peer of written.peers) {
      expect(isRunning(peer.pid), `daemon pid ${peer.pid}`).to.equal(false)
      // a clean stop removes the api file and releases the lock
      await expect(fs.access(path.join(peer.dataDir, 'api'))).to.be.rejected
      await expect(fs.access(path.join(peer.dataDir, 'daemon.lock'))).to.be.rejected
    }
    await expect(fs.access(path.join(dir, 'testnet.json'))).to.be.rejected
  })

  it('testnet --dir reused restarts the same peers', async () => {
    const dir = await cleanup.tempDir()
    const first = startCli(cleanup, ['testnet', '--peers', '2', '--dir', dir, '--json'])
    const before = (JSON.parse(await first.waitForLine(/^\{/)) as TestnetJson).peers.map(p => p.peerId)
    first.child.kill('SIGINT')
    expect(await first.exited).to.equal(0)

    const second = startCli(cleanup, ['testnet', '--peers', '2', '--dir', dir, '--json'])
    const after = (JSON.parse(await second.waitForLine(/^\{/)) as TestnetJson).peers.map(p => p.peerId)
    expect(after).to.deep.equal(before)
    second.child.kill('SIGTERM')
    expect(await second.exited).to.equal(0)
  })

  it('daemon: SIGTERM stops it cleanly with exit 0, and the port is free again', async () => {
    const dir = await cleanup.tempDir()
    const daemon = startCli(cleanup, ['--data', path.join(dir, 'd'), 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json'])
    const ready = JSON.parse(await daemon.waitForLine(/"event":"ready"/)) as { api: string, multiaddrs: string[] }
    const port = Number(new URL(ready.api).port)
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).to.equal(0)
    // no orphan socket: the API port can be bound again right away
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject).listen(port, '127.0.0.1', resolve) })
    await new Promise(resolve => server.close(resolve))
  })

  describe('bad input: a clear message and a documented exit code', () => {
    it('unknown flag: one-line error plus usage, exit 2', async () => {
      const res = await runCli(cleanup, ['peers', '--bogus'])
      expect(res.code).to.equal(EXIT.badInput)
      expect(res.stderr).to.match(/^p2pstore: unknown option '--bogus'\n/)
      expect(res.stderr).to.include('usage: p2pstore peers')
    })

    it('bad option value and missing required option: exit 2', async () => {
      expect((await runCli(cleanup, ['testnet', '--peers', 'many'])).code).to.equal(EXIT.badInput)
      expect((await runCli(cleanup, ['testnet'])).code).to.equal(EXIT.badInput)
      expect((await runCli(cleanup, ['daemon', '--api-port', '99999'])).code).to.equal(EXIT.badInput)
      expect((await runCli(cleanup, ['keygen'])).code).to.equal(EXIT.badInput)
    })

    it('malformed multiaddr: exit 2 naming it, nothing left running', async () => {
      const dir = await cleanup.tempDir()
      const res = await runCli(cleanup, ['--data', dir, 'daemon', '--open', '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', '/ip4/not-an-ip/tcp/1'])
      expect(res.code).to.equal(EXIT.badInput)
      expect(res.stderr).to.match(/bootstrap: "\/ip4\/not-an-ip\/tcp\/1" is not a valid multiaddr/)
      // the failed start released the data dir
      await expect(fs.access(path.join(dir, 'daemon.lock'))).to.be.rejected
    })

    it('unusable data dir: exit 7', async () => {
      const dir = await cleanup.tempDir()
      const file = path.join(dir, 'not-a-dir')
      await fs.writeFile(file, 'x')
      const res = await runCli(cleanup, ['--data', file, 'daemon', '--api-port', '0'])
      expect(res.code).to.equal(EXIT.dataDir)
      expect(res.stderr).to.match(/not a directory/)
    })

    it('port in use (libp2p or API): exit 8', async () => {
      const dir = await cleanup.tempDir()
      const port = await takenPort(cleanup)
      const api = await runCli(cleanup, ['--data', path.join(dir, 'a'), 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', String(port)])
      expect(api.code, api.stderr).to.equal(EXIT.addressInUse)
      expect(api.stderr).to.match(/address already in use/)
      const p2p = await runCli(cleanup, ['--data', path.join(dir, 'b'), 'daemon', '--open', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--api-port', '0'])
      expect(p2p.code, p2p.stderr).to.equal(EXIT.addressInUse)
    })

    it('second daemon on the same data dir: exit 7', async () => {
      const dir = path.join(await cleanup.tempDir(), 'd')
      const first = startCli(cleanup, ['--data', dir, 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json'])
      await first.waitForLine(/"event":"ready"/)
      const second = await runCli(cleanup, ['--data', dir, 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0'])
      expect(second.code).to.equal(EXIT.dataDir)
      expect(second.stderr).to.match(/in use by a running daemon/)
      // the first daemon still serves
      const status = await runCli(cleanup, ['--data', dir, 'status', '--json'])
      expect(status.code, status.stderr).to.equal(0)
    })

    it('no daemon running: exit 6 with a next step', async () => {
      const dir = await cleanup.tempDir()
      const res = await runCli(cleanup, ['--data', dir, 'status'])
      expect(res.code).to.equal(EXIT.unreachable)
      expect(res.stderr).to.match(/no daemon is running/)
      expect(res.stderr).to.match(/p2pstore daemon/)
      // a port nothing listens on: connection refused
      const port = await freePort()
      const refused = await runCli(cleanup, ['--api', `http://127.0.0.1:${port}/`, 'peers'])
      expect(refused.code).to.equal(EXIT.unreachable)
      expect(refused.stderr).to.match(/cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED\)/)
    })
  })
})
