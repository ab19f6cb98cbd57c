import fs from 'node:fs/promises'
import path from 'node:path'
import { main } from '../../src/cli/index.ts'
import { defaultDaemonConfig } from '../../src/config.ts'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { stubWith } from '../utils/stubs.ts'
import type { ApiPeer } from '../../src/api/index.ts'
import type { Client } from '../../src/client/index.ts'
import type { KnownPeer, PeerStatus, RingMember } from '../../src/peer.ts'

const STATUS: PeerStatus = {
  peerId: '12D3KooWSelf',
  version: '0.1.0',
  multiaddrs: ['/ip4/127.0.0.1/tcp/4700/p2p/12D3KooWSelf'],
  uptimeSeconds: 3725,
  connections: 1,
  peers: { known: 2, connected: 1, alive: 1, suspect: 0, dead: 1, left: 0 },
  incarnation: 1700000000000,
  localHealth: 0,
  keys: 7,
  pendingHints: 2,
  joined: true,
  bootstrapPeers: 1,
  network: 'private'
}
const PEERS: KnownPeer[] = [
  { peerId: '12D3KooWA', multiaddrs: ['/ip4/127.0.0.1/tcp/1'], connected: true, protocols: [], state: 'alive', incarnation: 5, lastHeard: '2026-11-23T06:00:00.000Z', suspectedBy: [] },
  { peerId: '12D3KooWB', multiaddrs: [], connected: false, protocols: [], state: 'dead', incarnation: 3, suspectedBy: ['12D3KooWA'] }
]

/** runs main() with a stub client and captured output */
async function run (args: string[], client?: Client, env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'p2pstore', ...args], {
    client,
    env,
    streams: { stdout: { write: (s: string | Uint8Array) => { stdout += typeof s === 'string' ? s : Buffer.from(s).toString('utf8') } }, stderr: { write: (s: string | Uint8Array) => { stderr += String(s) } } }
  })
  return { code, stdout, stderr }
}

describe('cli commands (stub client, captured output)', () => {
  const cleanup = useCleanup()

  it('status prints a human table, or the same data as JSON', async () => {
    const client = stubWith<Client>(s => s.status.resolves(STATUS))
    const human = await run(['status'], client)
    expect(human.code).to.equal(0)
    expect(human.stdout).to.match(/^peer id\s+12D3KooWSelf$/m)
    expect(human.stdout).to.match(/^uptime\s+1h 2m 5s$/m)
    expect(human.stdout).to.match(/^network\s+private \(swarm key\)$/m)
    expect(human.stdout).to.match(/^members\s+1 alive, 0 suspect, 1 dead, 0 left \(1 connected\)$/m)
    expect(human.stdout).to.match(/^keys held\s+7$/m)
    expect(human.stdout).to.match(/^pending hints\s+2$/m)

    const json = await run(['status', '--json'], client)
    expect(JSON.parse(json.stdout)).to.deep.equal(STATUS)
  })

  it('peers prints a table, or the list as JSON', async () => {
    const peers = PEERS.map((p, i) => i === 0 ? { ...p, lastHeard: new Date(Date.now() - 1500).toISOString() } : p)
    const client = stubWith<Client>(s => s.peers.resolves(peers))
    const human = await run(['peers'], client)
    expect(human.stdout.split('\n')[0]).to.match(/^PEER ID\s+STATE\s+INCARNATION\s+LAST HEARD\s+SUSPECTED BY\s+CONNECTED\s+ADDRESS$/)
    // the address is pasteable into --bootstrap: /p2p/<peer id> is appended
    expect(human.stdout).to.match(/^12D3KooWA\s+alive\s+5\s+1\.\d s ago\s+-\s+yes\s+\/ip4\/127\.0\.0\.1\/tcp\/1\/p2p\/12D3KooWA$/m)
    expect(human.stdout).to.match(/^12D3KooWB\s+dead\s+3\s+never\s+…3KooWA\s+no\s+-$/m)
    expect(human.stderr).to.match(/2 members: 1 alive, 0 suspect, 1 dead, 0 left; 1 connected/)
    expect(JSON.parse((await run(['peers', '--json'], client)).stdout)).to.deep.equal(peers)
  })

  it('status shows the peer\'s capacity, zone and expected share', async () => {
    const client = stubWith<Client>(s => s.status.resolves({ ...STATUS, placement: { capacity: 2, zone: 'b', share: 0.4567, n: 3 } }))
    const human = await run(['status'], client)
    expect(human.stdout).to.match(/^placement\s+capacity 2, zone b, expected share 45\.7 % of the keys \(N = 3/m)
  })

  it('ring lists every member with zone, capacity, expected share and keys held, or the list as JSON', async () => {
    const ring: RingMember[] = [
      { peerId: '12D3KooWA', state: 'alive', capacity: 1, zone: 'a', share: 0.25, keys: 30, self: true },
      { peerId: '12D3KooWB', state: 'alive', capacity: 2, zone: 'b', share: 0.5, keys: 60, self: false },
      { peerId: '12D3KooWC', state: 'dead', capacity: 1, zone: 'c', share: 0, self: false }
    ]
    const client = stubWith<Client>(s => s.ring.resolves(ring))
    const human = await run(['ring'], client)
    expect(human.code).to.equal(0)
    expect(human.stdout.split('\n')[0]).to.match(/^PEER ID\s+ZONE\s+STATE\s+CAPACITY\s+EXPECTED SHARE\s+KEYS\s+OF KEYS HELD$/)
    expect(human.stdout).to.match(/^12D3KooWA \(this\)\s+a\s+alive\s+1\s+25\.0 %\s+30\s+33\.3 % \(expected 33\.3 %\)$/m)
    expect(human.stdout).to.match(/^12D3KooWC\s+c\s+dead\s+1\s+0\.0 %\s+\?\s+-$/m)
    expect(human.stderr).to.match(/2 live members in 2 zones; expected share per unit of capacity max\/mean 1\.00, min\/mean 1\.00/)
    expect(JSON.parse((await run(['ring', '--json'], client)).stdout)).to.deep.equal(ring)
  })

  it('peers on a test net shows each peer\'s index from DIR/testnet.json beside the daemon\'s data dir', async () => {
    const dir = await cleanup.tempDir()
    await fs.writeFile(path.join(dir, 'testnet.json'), JSON.stringify({ peers: [{ index: 0, peerId: '12D3KooWSelf' }, { index: 1, peerId: '12D3KooWB' }, { index: 2, peerId: '12D3KooWA' }] }))
    const client = stubWith<Client>(s => {
      s.peers.resolves(PEERS)
      s.status.resolves({ ...STATUS, dataDir: path.join(dir, 'peer-0') })
    })
    const human = await run(['peers'], client)
    expect(human.code).to.equal(0)
    expect(human.stdout.split('\n')[0]).to.match(/^INDEX\s+PEER ID\s+STATE/)
    expect(human.stdout).to.match(/^2\s+12D3KooWA\s+alive/m)
    expect(human.stdout).to.match(/^1\s+12D3KooWB\s+dead/m)
    expect(human.stderr).to.include(`test net ${dir}, this daemon is peer 0; its faults: npx p2pstore fault --dir ${dir} status`)
    // JSON stays the API's answer
    expect(JSON.parse((await run(['peers', '--json'], client)).stdout)).to.deep.equal(PEERS)

    // no testnet.json there: no INDEX column
    const plain = await run(['peers'], stubWith<Client>(s => {
      s.peers.resolves(PEERS)
      s.status.resolves({ ...STATUS, dataDir: path.join(dir, 'elsewhere', 'peer-0') })
    }))
    expect(plain.stdout.split('\n')[0]).to.match(/^PEER ID/)
  })

  it('maps an error from the daemon to its exit code, with a hint', async () => {
    const err = Object.assign(new Error('no daemon'), { name: 'DaemonUnreachableError' })
    const client = stubWith<Client>(s => s.status.rejects(err))
    const res = await run(['status'], client)
    expect(res.code).to.equal(EXIT.unreachable)
    expect(res.stderr).to.equal('p2pstore: no daemon\n  hint: start one with `npx p2pstore daemon`, or point at it with --api URL / P2PSTORE_API\n')
    const json = await run(['status', '--json'], client)
    expect(JSON.parse(json.stderr)).to.include({ error: 'DaemonUnreachableError', exitCode: EXIT.unreachable })
  })

  it('init creates the data dir and config, and is idempotent', async () => {
    const dir = path.join(await cleanup.tempDir(), 'home')
    const first = await run(['init', '--json'], undefined, { P2PSTORE_HOME: dir })
    expect(first.code).to.equal(0)
    const made = JSON.parse(first.stdout) as { peerId: string, created: boolean }
    expect(made.created).to.equal(true)
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as { apiPort: number }
    expect(config.apiPort).to.equal(4701)

    // the first init made a closed network and its operator key; a second one changes nothing
    const { operatorKey, ...kept } = made as typeof made & { operatorKey?: string }
    expect(operatorKey).to.equal(path.join(dir, 'operator.key'))
    const again = JSON.parse((await run(['--data', dir, 'init', '--json'])).stdout) as { peerId: string, created: boolean }
    expect(again).to.deep.equal({ ...kept, created: false })
  })

  it('init writes every setting\'s default into config.json, the timing profile as profile (not the deprecated gossip)', async () => {
    const dir = path.join(await cleanup.tempDir(), 'home')
    expect((await run(['init', '--json'], undefined, { P2PSTORE_HOME: dir })).code).to.equal(0)
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(config).to.deep.equal(defaultDaemonConfig())
    expect(config).to.include({ profile: 'default' }).and.not.have.property('gossip')
  })

  it('keygen --swarm-key writes a pnet key 0600 and refuses to overwrite it without --force', async () => {
    const file = path.join(await cleanup.tempDir(), 'swarm.key')
    expect((await run(['keygen', '--swarm-key', file])).code).to.equal(0)
    const key = await fs.readFile(file, 'utf8')
    expect(key).to.match(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    expect((await fs.stat(file)).mode & 0o777).to.equal(0o600)

    const refused = await run(['keygen', '--swarm-key', file])
    expect(refused.code).to.equal(EXIT.badInput)
    expect(refused.stderr).to.match(/already exists/)
    expect(await fs.readFile(file, 'utf8')).to.equal(key)

    expect((await run(['keygen', '--swarm-key', file, '--force'])).code).to.equal(0)
    expect(await fs.readFile(file, 'utf8')).to.not.equal(key)
  })

  it('a subcommand\'s --help shows the global options and marks required options', async () => {
    const help = (await run(['status', '--help'])).stdout
    expect(help).to.match(/Global Options:/)
    for (const flag of ['--api <url>', '--data <dir>', '--token <token>', '--timeout <duration>']) expect(help).to.include(flag)
    expect((await run(['testnet', '--help'])).stdout).to.match(/--peers <n>\s+how many peers \(1–\d+\) \(required\)/)
    expect((await run(['fault', '--help'])).stdout).to.match(/--dir <dir>[\s\S]*?\(required\)\s+--one-way/)
    expect((await run(['check', '--help'])).stdout).to.match(/--scenario <name>[\s\S]*?\(required\)\s+--peers/)
    expect((await run(['status', '--help'])).stdout).to.not.include('(required)')
  })

  it('--timeout takes ms or a unit; a bad value (flag or P2PSTORE_TIMEOUT) exits 2', async () => {
    const { durationArg } = await import('../../src/cli/index.ts')
    expect([durationArg('500'), durationArg('500ms'), durationArg('2.5s'), durationArg('1m')]).to.deep.equal([500, 500, 2500, 60_000])
    const bad = await run(['--timeout', 'soon', 'status'], stubWith<Client>(s => s.status.resolves(STATUS)))
    expect(bad.code).to.equal(EXIT.badInput)
    expect(bad.stderr).to.match(/option '--timeout <duration>' argument 'soon' is invalid/)
    const dir = await cleanup.tempDir()
    await fs.writeFile(path.join(dir, 'api'), 'http://127.0.0.1:1')
    const badEnv = await run(['--data', dir, 'status'], undefined, { P2PSTORE_TIMEOUT: '0' })
    expect(badEnv.code).to.equal(EXIT.badInput)
    expect(badEnv.stderr).to.match(/^p2pstore: P2PSTORE_TIMEOUT=0: expected a duration/)
  })

  it('a stdout that fails with EPIPE ends the command quietly with exit 141', async () => {
    const { EventEmitter } = await import('node:events')
    let stderr = ''
    let written = 0
    const stdout = Object.assign(new EventEmitter(), {
      write (chunk: string | Uint8Array, callback?: (err?: Error | null) => void): boolean {
        written++
        // the reader went away after the first line: every write fails, as on a closed pipe
        const err = written > 1 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) : null
        if (err != null) process.nextTick(() => { stdout.emit('error', err) })
        if (callback != null) process.nextTick(callback, err)
        return true
      }
    })
    const code = await main(['node', 'p2pstore', 'status'], {
      client: stubWith<Client>(s => s.status.resolves(STATUS)),
      streams: { stdout, stderr: { write: (s: string) => { stderr += s } } }
    })
    expect(code).to.equal(EXIT.brokenPipe)
    expect(stderr).to.equal('')
  })

  it('put and get of the keys "." and ".." reach the API (real HttpClient and Fastify router, stub peer)', async () => {
    const { createApiServer } = await import('../../src/api/index.ts')
    const stored = new Map<string, Uint8Array>()
    const context = { vv: new Map([['aa01', 1]]), cloud: [] }
    const peer = stubWith<ApiPeer>(s => {
      s.put.callsFake(async (key: Uint8Array, value: Uint8Array) => { stored.set(new TextDecoder().decode(key), value); return { context, acks: 2, coordinator: '12D3KooWCoord' } })
      s.get.callsFake(async (key: Uint8Array) => {
        const value = stored.get(new TextDecoder().decode(key))
        const siblings = value == null ? [] : [{ dot: { actor: 'aa01', counter: 1 }, value, timestamp: 1, deleted: false }]
        return { siblings, versions: siblings, context, replies: 2 }
      })
    })
    const app = createApiServer({ peer })
    const api = await app.listen({ host: '127.0.0.1', port: 0 })
    cleanup.add(async () => app.close())
    for (const key of ['.', '..']) {
      const put = await run(['--api', api, 'put', key, `value of ${key}`])
      expect(put.code, put.stderr).to.equal(0)
      const got = await run(['--api', api, 'get', key])
      expect(got.code, got.stderr).to.equal(0)
      expect(got.stdout).to.equal(`value of ${key}`)
    }
    expect([...stored.keys()]).to.deep.equal(['.', '..'])
  })

  it('--help and --version exit 0; unknown commands exit 2', async () => {
    expect((await run(['--help'])).code).to.equal(0)
    expect((await run(['peers', '--help'])).stdout).to.match(/Usage: p2pstore peers/)
    expect((await run(['--version'])).stdout.trim()).to.equal('0.1.0')
    const unknown = await run(['frobnicate'])
    expect(unknown.code).to.equal(EXIT.badInput)
    expect(unknown.stderr).to.match(/unknown command 'frobnicate'/)
  })
})
