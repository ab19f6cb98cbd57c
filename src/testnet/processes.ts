import { spawn } from 'node:child_process'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { TESTNET_JOIN_TIMEOUT, TESTNET_MAX_PEERS, TESTNET_PEER_START_TIMEOUT, second } from '../constants.ts'
import { TestnetError } from '../errors.ts'
import type { DaemonInfo } from '../daemon.ts'
import type { ChildProcess } from 'node:child_process'

/** One daemon of a process test net, as written to `testnet.json`. */
export interface ProcessTestnetPeer {
  index: number
  peerId: string
  pid: number
  api: string
  multiaddrs: string[]
  dataDir: string
}

/** Progress of `ProcessTestnet.start()`. */
export type TestnetProgress =
  | { phase: 'starting', started: number, total: number }
  | { phase: 'joining', settled: number, total: number }
  | { phase: 'ready', elapsedMs: number }

/** Options of `ProcessTestnet`. */
export interface ProcessTestnetInit {
  /** how many daemons (1–64) */
  peers: number
  /**
   * Directory for the daemons' data dirs and `testnet.json`. Reusing one restarts the same peers.
   *
   * @default a temporary directory, removed by `stop()`
   */
  dir?: string
  /** swarm key file every daemon joins with. @default undefined */
  swarmKeyFile?: string
  /** called as daemons start and join */
  onProgress?(progress: TestnetProgress): void
  /** deadline for one daemon to start. @default 30_000 */
  startTimeout?: number
  /** deadline for every daemon to know every other. @default 120_000 */
  joinTimeout?: number
  /** Kademlia refresh of the daemons, short so simultaneous joins settle fast. @default 5_000 */
  dhtRefreshInterval?: number
}

interface Child {
  index: number
  process: ChildProcess
  exited: Promise<number | null>
}

/** How long a daemon gets to exit after SIGTERM before it is killed. */
const STOP_GRACE = 10 * second

/**
 * N `p2pstore daemon` processes on 127.0.0.1, the first the bootstrap peer of the others. Children
 * are spawned with an IPC channel: they report their addresses over it, and exit by themselves if
 * this process dies without stopping them.
 */
export class ProcessTestnet {
  readonly dir: string
  private readonly init: ProcessTestnetInit
  private readonly ownsDir: boolean
  private readonly children: Child[] = []
  private info: ProcessTestnetPeer[] = []
  private stopping?: Promise<void>

  constructor (init: ProcessTestnetInit) {
    if (!Number.isInteger(init.peers) || init.peers < 1 || init.peers > TESTNET_MAX_PEERS) {
      throw new TestnetError(`--peers must be a whole number from 1 to ${TESTNET_MAX_PEERS}, got ${init.peers}`)
    }
    this.init = init
    this.ownsDir = init.dir == null
    this.dir = path.resolve(init.dir ?? path.join(os.tmpdir(), `p2pstore-testnet-${process.pid}-${Date.now()}`))
  }

  /** The running daemons (after `start()`). */
  get peers (): ProcessTestnetPeer[] {
    return this.info
  }

  /** Path of `testnet.json`. */
  get file (): string {
    return path.join(this.dir, 'testnet.json')
  }

  /**
   * Starts every daemon, waits until each knows every other, writes `testnet.json`. On failure every
   * daemon already started is stopped before the error is thrown.
   */
  async start (): Promise<ProcessTestnetPeer[]> {
    const begin = Date.now()
    const total = this.init.peers
    await fs.mkdir(this.dir, { recursive: true })
    try {
      this.init.onProgress?.({ phase: 'starting', started: 0, total })
      const first = await this.spawnPeer(0, [])
      let started = 1
      this.init.onProgress?.({ phase: 'starting', started, total })
      const bootstrap = first.multiaddrs.filter(ma => ma.includes('/ip4/127.0.0.1/'))
      const rest = await Promise.all(Array.from({ length: total - 1 }, async (_, i) => {
        const peer = await this.spawnPeer(i + 1, bootstrap)
        this.init.onProgress?.({ phase: 'starting', started: ++started, total })
        return peer
      }))
      this.info = [first, ...rest]
      await this.waitForMesh()
      await fs.writeFile(this.file, `${JSON.stringify({ peers: this.info }, null, 2)}\n`)
      this.init.onProgress?.({ phase: 'ready', elapsedMs: Date.now() - begin })
      return this.info
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** SIGTERM to every daemon, SIGKILL to those still there after a grace period; removes a temp dir. Idempotent. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.children.map(async child => {
        if (child.process.exitCode != null || child.process.signalCode != null) return
        child.process.kill('SIGTERM')
        const timer = setTimeout(() => { child.process.kill('SIGKILL') }, STOP_GRACE)
        await child.exited
        clearTimeout(timer)
      }))
      await fs.rm(this.file, { force: true })
      if (this.ownsDir) await fs.rm(this.dir, { recursive: true, force: true })
    })()
    return this.stopping
  }

  private async spawnPeer (index: number, bootstrap: string[]): Promise<ProcessTestnetPeer> {
    const dataDir = path.join(this.dir, `peer-${index}`)
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
    const logFile = path.join(dataDir, 'daemon.log')
    const args = [
      cliPath(), 'daemon',
      '--data', dataDir,
      '--listen', '/ip4/127.0.0.1/tcp/0',
      '--api-host', '127.0.0.1',
      '--api-port', '0',
      '--allow', '/ip4/127.0.0.0/ipcidr/8',
      '--dht-refresh-interval', String(this.init.dhtRefreshInterval ?? 5 * second),
      '--gossip', 'testnet',
      ...bootstrap.flatMap(ma => ['--bootstrap', ma]),
      ...(this.init.swarmKeyFile == null ? [] : ['--swarm-key', this.init.swarmKeyFile])
    ]
    const log = openSync(logFile, 'a')
    let child: ChildProcess
    try {
      // own process group: a terminal's Ctrl-C reaches only the launcher, which then stops every
      // daemon once, in order; the IPC channel still ends a daemon whose launcher died
      child = spawn(process.execPath, args, { stdio: ['ignore', log, log, 'ipc'], detached: true })
    } finally {
      closeSync(log)
    }
    const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    this.children.push({ index, process: child, exited })

    const info = await new Promise<DaemonInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TestnetError(`peer-${index} did not start within ${(this.init.startTimeout ?? TESTNET_PEER_START_TIMEOUT) / 1000} s; see ${logFile}`))
      }, this.init.startTimeout ?? TESTNET_PEER_START_TIMEOUT)
      child.on('message', (message: { type?: string, info?: DaemonInfo }) => {
        if (message.type === 'ready' && message.info != null) {
          clearTimeout(timer)
          resolve(message.info)
        }
      })
      void exited.then(code => {
        clearTimeout(timer)
        reject(new TestnetError(`peer-${index} exited with code ${code} while starting: ${tail(logFile)}`))
      })
    })
    // the channel served its purpose; keep it open so the child notices if we die
    return { index, peerId: info.peerId, pid: child.pid ?? -1, api: info.api, multiaddrs: info.multiaddrs, dataDir }
  }

  private async waitForMesh (): Promise<void> {
    const total = this.info.length
    const deadline = Date.now() + (this.init.joinTimeout ?? TESTNET_JOIN_TIMEOUT)
    const ids = this.info.map(p => p.peerId)
    let lastSettled = -1
    for (;;) {
      const settled = (await Promise.all(this.info.map(async p => {
        const known = await fetchPeerIds(p.api)
        return ids.every(id => id === p.peerId || known.has(id))
      }))).filter(Boolean).length
      if (settled !== lastSettled) {
        lastSettled = settled
        this.init.onProgress?.({ phase: 'joining', settled, total })
      }
      if (settled === total) return
      if (Date.now() > deadline) {
        throw new TestnetError(`only ${settled} of ${total} peers know every other peer after ${(this.init.joinTimeout ?? TESTNET_JOIN_TIMEOUT) / 1000} s; see the daemon.log files in ${this.dir}`)
      }
      await sleep(200)
    }
  }
}

async function fetchPeerIds (api: string): Promise<Set<string>> {
  try {
    const res = await fetch(new URL('/v1/peers', api), { signal: AbortSignal.timeout(5 * second) })
    if (!res.ok) return new Set()
    const peers = await res.json() as Array<{ peerId: string, state: string }>
    // a peer counts once it is an alive member: then every member view is complete
    return new Set(peers.filter(p => p.state === 'alive').map(p => p.peerId))
  } catch {
    // a daemon busy starting may not answer yet: it counts as not settled
    return new Set()
  }
}

function tail (file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    return lines.slice(-3).join(' | ')
  } catch {
    return `(no log at ${file})`
  }
}

/** `bin/p2pstore.js` of this package, found from this module's location (src/ under tsx, dist/src/ when built). */
export function cliPath (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = path.join(dir, 'bin', 'p2pstore.js')
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) throw new TestnetError('cannot find bin/p2pstore.js of this package')
    dir = parent
  }
}
