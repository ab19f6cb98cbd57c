/**
 * `p2pstore daemon` end to end (bin/p2pstore.js as a process): what it says while it cannot join,
 * from the very first attempt, and its timestamped log lines.
 */
import net from 'node:net'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'

/** a loopback port nobody listens on (bound once, then closed) */
async function deadPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('cli: p2pstore daemon (bin/p2pstore.js as a process)', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('prints the first bootstrap retry (attempt 1), and with --log-timestamps stamps every line after a start separator', async () => {
    const data = await cleanup.tempDir()
    // the first attempt fails before start() returns: its only bootstrap peer is itself
    const init = await runCli(cleanup, ['--data', data, 'init', '--json'])
    const { peerId } = JSON.parse(init.stdout) as { peerId: string }
    const self = `/ip4/127.0.0.1/tcp/${await deadPort()}/p2p/${peerId}`
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const bootstrap = `/ip4/127.0.0.1/tcp/${await deadPort()}/p2p/${nobody.toString()}`
    const daemon = startCli(cleanup, ['--data', data, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--bootstrap', self, '--log-timestamps'])
    await eventually(async () => {
      if (daemon.child.exitCode != null) throw new Error(`daemon exited: ${daemon.stderr()}`)
      return daemon.stderr().includes('(attempt 2)')
    }, 'the second bootstrap retry line', 30_000)
    expect(daemon.stderr()).to.match(/bootstrap: no peer answered \(attempt 1\); retrying in 1\.0 s/)
    expect(daemon.stderr()).to.include(`${self}: is this peer itself`)
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).to.equal(0)

    // a bootstrap peer nobody listens on: attempt 1 too
    const again = startCli(cleanup, ['--data', data, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--bootstrap', bootstrap, '--log-timestamps'])
    await eventually(async () => again.stderr().includes('(attempt 1)'), 'the first bootstrap retry line', 30_000)
    expect(again.stderr()).to.include(bootstrap)
    await again.waitForLine(/daemon is ready/)
    again.child.kill('SIGTERM')
    expect(await again.exited).to.equal(0)
    const lines = (again.stdout() + again.stderr()).split('\n').filter(l => l !== '')
    expect(again.stderr().split('\n')[0]).to.match(/^--- daemon started \d{4}-\d\d-\d\dT[\d:.]+Z \(pid \d+\) ---$/)
    for (const line of lines.filter(l => !l.startsWith('---'))) expect(line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /)
  })

  it('says that the swarm keys probably differ when a bootstrap peer of another private network refuses it', async () => {
    const dir = await cleanup.tempDir()
    const keys = [path.join(dir, 'k1'), path.join(dir, 'k2')]
    for (const key of keys) expect((await runCli(cleanup, ['keygen', '--swarm-key', key])).code).to.equal(0)
    const first = startCli(cleanup, ['--data', path.join(dir, 'a'), 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--swarm-key', keys[0] ?? '', '--json'])
    const ready = JSON.parse(await first.waitForLine(/^\{/)) as { multiaddrs: string[] }
    const bootstrap = ready.multiaddrs[0] ?? ''
    const second = startCli(cleanup, ['--data', path.join(dir, 'b'), 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--swarm-key', keys[1] ?? '', '--bootstrap', bootstrap])
    await eventually(async () => second.stderr().includes('(attempt 1)'), 'the first bootstrap retry line', 30_000)
    await eventually(async () => second.stderr().includes('swarm keys probably differ'), 'the swarm-key hint', 30_000)
  })
})
