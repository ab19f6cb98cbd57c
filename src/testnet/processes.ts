import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { AbortError, UnsupportedOperationError } from '@libp2p/interface'
import { DATADIR_FILES, TESTNET_JOIN_TIMEOUT, TESTNET_MAX_PEERS, TESTNET_PEER_START_TIMEOUT, second } from '../constants.ts'
import { TestnetError, TestnetNotFoundError } from '../errors.ts'
import { cleanupStaleLabs, NetnsLab } from '../faults/index.ts'
import { writeTestnetCredentials } from './credentials.ts'
import type { DaemonInfo } from '../daemon.ts'
import type { BlockDirection } from '../faults/index.ts'
import type { AbortOptions } from '@libp2p/interface'
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
  /** an open network (no roster); by default the net is closed, with `<dir>/operator.key`. @default false */
  open?: boolean
  /** zones given round-robin (`--zone`): peer i gets `zones[i % zones.length]`. @default none */
  zones?: string[]
  /** called as daemons start and join */
  onProgress?(progress: TestnetProgress): void
  /** called with notices worth a line, e.g. that a remembered port was taken. @default undefined */
  onNotice?(message: string): void
  /** deadline for one daemon to start. @default 30_000 */
  startTimeout?: number
  /** deadline for every daemon to know every other. @default 120_000 */
  joinTimeout?: number
  /** Kademlia refresh of the daemons, short so simultaneous joins settle fast. @default 5_000 */
  dhtRefreshInterval?: number
  /** run the daemons with `--fault-injection` so `partition()` and `heal()` work. @default true */
  faultInjection?: boolean
  /**
   * Run each daemon in a network namespace of its own (a `NetnsLab` with one host per peer)
   * instead of on 127.0.0.1, so that `partition()` and `loss()` drop packets in the kernel
   * (iptables) rather than refuse connections in libp2p's gater. Needs root, iproute2 and
   * iptables; `start()` says what is missing. Daemons then listen and serve their API on their
   * host's address, so the API demands the bearer token in `<datadir>/api-token`, which this
   * object reads and sends (see `apiToken()`).
   *
   * @default false
   */
  netns?: boolean
}

/** What `testnet.json` says of a net run in network namespaces, so `attach()` can drive its faults. */
export interface ProcessTestnetNetns {
  prefix: string
  subnet: string
}

/** The contents of `testnet.json`. */
interface TestnetFile {
  peers: ProcessTestnetPeer[]
  netns?: ProcessTestnetNetns
}

/** One peer's ports in `ports.json`, kept after a stop so a reused dir gets the same ports. */
interface RememberedPorts {
  index: number
  listenPort?: number
  apiPort?: number
}

interface Child {
  index: number
  process: ChildProcess
  exited: Promise<number | null>
}

/** How long a daemon gets to exit after SIGTERM before it is killed. */
const STOP_GRACE = 10 * second

/** What `ProcessTestnet.state()` reports of one daemon. */
export type ProcessState = 'running' | 'paused' | 'stopped'

/**
 * A group of peers in a partition, by index. `partition([[0, 1], [2, 3, 4]])` cuts every peer of
 * each group off from every peer of every other group; peers in no group keep all their links.
 */
export type PeerGroup = number[]

/**
 * N `p2pstore daemon` processes on 127.0.0.1, the first the bootstrap peer of the others. Children
 * are spawned with an IPC channel: they report their addresses over it, and exit by themselves if
 * this process dies without stopping them.
 *
 * The same object injects faults (`kill`, `pause`, `restart`, `wipe`, `partition`, `heal`), either
 * on the net it started or, through `ProcessTestnet.attach(dir)`, on one another process started.
 * Partitions go through each daemon's `/v1/faults` routes (daemons run with `--fault-injection`).
 *
 * With `netns: true`, daemon `i` runs in host `i` of a `NetnsLab` (`ip netns exec` execs the
 * daemon, so pids, signals and the IPC channel are the daemon's own), and this process reaches the
 * APIs over the lab's controller link. Partitions and `loss()` are then iptables rules: they hold
 * whatever state the daemons are in, also across restarts, until `heal()`.
 */
export class ProcessTestnet {
  readonly dir: string
  private readonly init: ProcessTestnetInit
  private readonly ownsDir: boolean
  private readonly children: Child[] = []
  private info: ProcessTestnetPeer[] = []
  private readonly paused = new Set<number>()
  /** made by `attach()`: another process owns the daemons */
  private attached = false
  private stopping?: Promise<void>
  /** with `netns`: the lab (ours after `start()`, adopted by `attach()`) */
  private lab?: NetnsLab
  /** API tokens read from the data dirs, by peer index */
  private readonly tokens = new Map<number, string | undefined>()

  constructor (init: ProcessTestnetInit) {
    if (!Number.isInteger(init.peers) || init.peers < 1 || init.peers > TESTNET_MAX_PEERS) {
      throw new TestnetError(`--peers must be a whole number from 1 to ${TESTNET_MAX_PEERS}, got ${init.peers}`)
    }
    this.init = init
    this.ownsDir = init.dir == null
    this.dir = path.resolve(init.dir ?? path.join(os.tmpdir(), `p2pstore-testnet-${process.pid}-${Date.now()}`))
  }

  /**
   * A handle on a test net another process runs (`p2pstore testnet --dir DIR`), read from its
   * `testnet.json`: faults work on it, and `restart()` starts daemons detached from this process.
   * `stop()` on it stops nothing; the launcher owns the net.
   */
  static async attach (dir: string): Promise<ProcessTestnet> {
    const file = path.join(path.resolve(dir), 'testnet.json')
    let contents: TestnetFile
    try {
      contents = JSON.parse(await fs.readFile(file, 'utf8')) as TestnetFile
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? existsSync(dir) ? `${dir} has no testnet.json` : `${dir} does not exist`
        : `cannot read ${file}: ${(err as Error).message}`
      throw new TestnetNotFoundError(`no running test net in ${dir} (${reason}); start one with \`npx p2pstore testnet --peers 3 --dir ${dir}\``)
    }
    const { peers, netns } = contents
    const net = new ProcessTestnet({ peers: peers.length, dir, netns: netns != null })
    net.info = peers
    net.attached = true
    if (netns != null) {
      // the launcher owns the lab; this handle only drives its faults
      net.lab = await NetnsLab.existing({ hosts: peers.length, prefix: netns.prefix, subnet: netns.subnet })
    }
    return net
  }

  /** The running daemons (after `start()`). */
  get peers (): ProcessTestnetPeer[] {
    return this.info
  }

  /** Path of `testnet.json`. */
  get file (): string {
    return path.join(this.dir, 'testnet.json')
  }

  /** Path of `ports.json`: the ports of the last run, kept after a stop, reused when free. */
  get portsFile (): string {
    return path.join(this.dir, 'ports.json')
  }

  /**
   * Starts every daemon, waits until each knows every other, writes `testnet.json`. On failure every
   * daemon already started is stopped before the error is thrown. `options.signal` abandons the
   * start-up at any moment (it is checked between every step and while waiting for each daemon and
   * for the mesh): what was spawned is stopped, a temp dir is removed, no `ready` progress is
   * reported, and the promise rejects with an `AbortError`.
   */
  async start (options: AbortOptions = {}): Promise<ProcessTestnetPeer[]> {
    const { signal } = options
    const begin = Date.now()
    const total = this.init.peers
    try {
      throwIfAborted(signal)
      await fs.mkdir(this.dir, { recursive: true })
      const remembered = await readPorts(this.portsFile)
      throwIfAborted(signal)
      if (this.init.netns === true) {
        const available = await NetnsLab.available()
        if (!available.ok) {
          throw new UnsupportedOperationError(`cannot run the test net in network namespaces: ${available.reason}`)
        }
        throwIfAborted(signal)
        // namespaces of an earlier launcher that was killed before it could delete them (their
        // owner pid is gone; live labs of other processes are left alone)
        await cleanupStaleLabs().catch(() => 0)
        throwIfAborted(signal)
        this.lab = new NetnsLab({ hosts: total })
        await this.lab.setup()
        throwIfAborted(signal)
      }
      this.init.onProgress?.({ phase: 'starting', started: 0, total })
      // closed by default: identities first, then one roster naming every peer, in each data dir
      if (this.init.open !== true) await writeTestnetCredentials(this.dir, Array.from({ length: total }, (_, i) => path.join(this.dir, `peer-${i}`)))
      const first = await this.spawnPeer(0, [], await this.rememberedPorts(remembered, 0), signal)
      let started = 1
      this.init.onProgress?.({ phase: 'starting', started, total })
      const bootstrap = this.ownAddresses(first)
      // every spawn settles before this goes on: a stop then sees every child that was spawned
      const results = await Promise.allSettled(Array.from({ length: total - 1 }, async (_, i) => {
        const peer = await this.spawnPeer(i + 1, bootstrap, await this.rememberedPorts(remembered, i + 1), signal)
        if (signal?.aborted !== true) this.init.onProgress?.({ phase: 'starting', started: ++started, total })
        return peer
      }))
      throwIfAborted(signal)
      const failed = results.find(r => r.status === 'rejected')
      if (failed != null) throw failed.reason
      this.info = [first, ...results.map(r => (r as PromiseFulfilledResult<ProcessTestnetPeer>).value)]
      await this.waitForMesh({ signal })
      throwIfAborted(signal)
      await this.writeFile()
      throwIfAborted(signal)
      this.init.onProgress?.({ phase: 'ready', elapsedMs: Date.now() - begin })
      return this.info
    } catch (err) {
      await this.stop()
      if (signal?.aborted === true) throw new AbortError(`${abortReason(signal)} during start-up: the test net was abandoned, every daemon it had started is stopped`)
      throw err
    }
  }

  /**
   * The ports peer `index` had in the last run on a reused dir (`ports.json`), each only if it is
   * free now: an exported `P2PSTORE_API` or a bootstrap multiaddr stays right across runs.
   */
  private async rememberedPorts (remembered: RememberedPorts[], index: number): Promise<{ listenPort?: number, apiPort?: number }> {
    const old = remembered.find(p => p.index === index)
    if (old == null || this.lab != null) return {}
    const host = this.host(index)
    const ports: { listenPort?: number, apiPort?: number } = {}
    for (const key of ['listenPort', 'apiPort'] as const) {
      const port = old[key]
      if (port == null || port === 0) continue
      if (await isPortFree(host, port)) ports[key] = port
      else this.init.onNotice?.(`peer-${index}: ${key === 'apiPort' ? 'API' : 'libp2p'} port ${port} of the last run on this dir is taken; using another free port`)
    }
    return ports
  }

  /**
   * SIGTERM to every daemon (SIGCONT first to paused ones), SIGKILL to those still there after a
   * grace period; then deletes the network namespaces (with `netns`) and removes a temp dir.
   * Daemons restarted by another process (see `attach()`) are stopped through the pids in
   * `testnet.json`. Idempotent.
   */
  async stop (): Promise<void> {
    if (this.attached) return
    this.stopping ??= (async () => {
      const ours = new Set<number>()
      await Promise.all(this.children.map(async child => {
        if (child.process.exitCode != null || child.process.signalCode != null) return
        ours.add(child.process.pid ?? -1)
        child.process.kill('SIGCONT')
        child.process.kill('SIGTERM')
        const timer = setTimeout(() => { child.process.kill('SIGKILL') }, STOP_GRACE)
        await child.exited
        clearTimeout(timer)
      }))
      const listed = await readPeers(this.file)
      await Promise.all(listed.filter(p => !ours.has(p.pid)).map(async p => { await stopPid(p.pid) }))
      // only now: a namespace outlives its deletion while a process still runs in it
      let labFailure: unknown
      await this.lab?.cleanup().catch((err: unknown) => { labFailure = err })
      await fs.rm(this.file, { force: true })
      if (this.ownsDir) await fs.rm(this.dir, { recursive: true, force: true })
      if (labFailure != null) {
        throw new TestnetError(`the daemons stopped, but the network namespaces of lab ${this.lab?.prefix ?? ''} were not all deleted: ${(labFailure as Error).message}`, { cause: labFailure })
      }
    })()
    return this.stopping
  }

  /** Whether daemon `index` runs, is paused (SIGSTOP) or is not running. */
  state (index: number): ProcessState {
    const peer = this.peer(index)
    if (!isDaemon(peer.pid)) return 'stopped'
    return this.paused.has(index) || isStoppedProcess(peer.pid) ? 'paused' : 'running'
  }

  /** SIGKILL to daemon `index` (a crash: no leave, no flush beyond what was synced); waits until it is gone. */
  async kill (index: number): Promise<void> {
    const peer = this.peer(index)
    this.paused.delete(index)
    if (!isDaemon(peer.pid)) return
    process.kill(peer.pid, 'SIGKILL')
    await waitUntil(() => !isDaemon(peer.pid), STOP_GRACE, `peer-${index} (pid ${peer.pid}) did not exit after SIGKILL`)
  }

  /** SIGSTOP to daemon `index`: it stays connected but answers nothing, as a long GC pause or a stalled VM. */
  pause (index: number): void {
    const peer = this.peer(index)
    if (!isDaemon(peer.pid)) throw new TestnetError(`peer-${index} is not running; restart it first`)
    process.kill(peer.pid, 'SIGSTOP')
    this.paused.add(index)
  }

  /** SIGCONT to a paused daemon. */
  resume (index: number): void {
    const peer = this.peer(index)
    if (!isDaemon(peer.pid)) throw new TestnetError(`peer-${index} is not running; restart it first`)
    process.kill(peer.pid, 'SIGCONT')
    this.paused.delete(index)
  }

  /**
   * Starts daemon `index` again on its data dir, on the same libp2p and API ports, with every other
   * peer as a bootstrap peer; waits until its API answers. A daemon still running is killed first.
   */
  async restart (index: number): Promise<ProcessTestnetPeer> {
    const old = this.peer(index)
    await this.kill(index)
    const bootstrap = this.info.filter(p => p.index !== index)
      .flatMap(p => this.ownAddresses(p).slice(0, 1))
    const fresh = await this.spawnPeer(index, bootstrap, { listenPort: tcpPort(old.multiaddrs, this.host(index)), apiPort: Number(new URL(old.api).port) })
    this.info = this.info.map(p => p.index === index ? fresh : p)
    await this.writeFile()
    return fresh
  }

  /**
   * Kills daemon `index`, deletes its stored data but keeps its identity key (Riak's KV679 case: the
   * same peer id comes back with no memory of the versions it wrote), and restarts it.
   */
  async wipe (index: number): Promise<ProcessTestnetPeer> {
    const peer = this.peer(index)
    await this.kill(index)
    await fs.rm(path.join(peer.dataDir, 'storage'), { recursive: true, force: true })
    return this.restart(index)
  }

  /**
   * Partitions the net: each peer of a group refuses connections with every peer of the other
   * groups, below every p2pstore protocol (libp2p connection gater), and drops its open ones.
   * `oneWay`: only the first group cannot reach the others — it may not open connections to them,
   * they refuse its connections, but they may still open connections to it. Paused or stopped
   * peers are skipped (a restarted peer starts healed).
   *
   * With `netns`, the kernel drops every packet between the groups instead (`NetnsLab.cut`), open
   * connections included, whatever state the peers are in, until `heal()`; `oneWay` drops only the
   * packets from the first group to the others, which breaks TCP both ways but lets datagrams
   * and half-open traffic from the others through.
   */
  async partition (groups: PeerGroup[], options: { oneWay?: boolean } = {}): Promise<void> {
    const seen = new Set<number>()
    for (const group of groups) {
      for (const index of group) {
        this.peer(index)
        if (seen.has(index)) throw new TestnetError(`peer-${index} is in two groups of the partition`)
        seen.add(index)
      }
    }
    if (options.oneWay === true && groups.length !== 2) throw new TestnetError('a one-way partition needs exactly two groups: from and to')
    if (this.lab != null) {
      const lab = this.lab
      if (options.oneWay === true) {
        await lab.cut(groups[0] ?? [], groups[1] ?? [], { oneWay: true })
        return
      }
      for (let g = 0; g < groups.length; g++) {
        await lab.cut(groups[g] ?? [], groups.slice(g + 1).flat())
      }
      return
    }
    const blocks: Array<{ index: number, peers: string[], direction: BlockDirection }> = []
    groups.forEach((group, g) => {
      const others = groups.filter((_, o) => o !== g).flat().map(i => this.peer(i).peerId)
      for (const index of group) {
        const direction: BlockDirection = options.oneWay !== true ? 'both' : g === 0 ? 'outbound' : 'inbound'
        blocks.push({ index, peers: direction === 'inbound' ? (groups[0] ?? []).map(i => this.peer(i).peerId) : others, direction })
      }
    })
    await Promise.all(blocks.map(async b => {
      if (this.state(b.index) !== 'running') return
      await this.faultRequest(b.index, 'PUT', { peers: b.peers, direction: b.direction })
    }))
  }

  /** Lifts every partition on every running daemon (with `netns`: every cut and every `loss()`). */
  async heal (): Promise<void> {
    if (this.lab != null) {
      await this.lab.heal()
      return
    }
    await Promise.all(this.info.map(async p => {
      if (this.state(p.index) !== 'running') return
      await this.faultRequest(p.index, 'DELETE')
    }))
  }

  /**
   * Drops each packet arriving at peer `index` from the other peers with `probability` (from 0 to
   * 1), replacing its previous setting; 0 removes it, and so does `heal()`. Only with `netns`: the
   * kernel drops them (`NetnsLab.loss`), so retransmits, timeouts and suspicion run for real.
   */
  async loss (index: number, probability: number): Promise<void> {
    if (this.lab == null) {
      throw new UnsupportedOperationError(`packet loss needs a test net in network namespaces, and the one in ${this.dir} runs on 127.0.0.1: stop it and start it with \`npx p2pstore testnet --peers ${this.info.length} --netns --dir ${this.dir}\` (as root, with iproute2 and iptables; \`netns: true\` from code)`)
    }
    this.peer(index)
    await this.lab.loss(index, probability)
  }

  /**
   * The bearer token daemon `index`'s API demands, read from `<datadir>/api-token`; undefined when
   * there is none (an API on loopback demands nothing). With `netns` every API has one.
   */
  async apiToken (index: number): Promise<string | undefined> {
    const peer = this.peer(index)
    if (!this.tokens.has(index)) {
      // the daemon writes it before its API listens, and keeps it across restarts and wipes
      const text = await fs.readFile(path.join(peer.dataDir, DATADIR_FILES.apiToken), 'utf8').catch(() => undefined)
      const token = text?.trim()
      this.tokens.set(index, token === '' ? undefined : token)
    }
    return this.tokens.get(index)
  }

  /** Waits until every running daemon sees every running daemon as alive (after faults end). */
  async waitForMesh (options: { timeout?: number, signal?: AbortSignal } = {}): Promise<void> {
    const running = this.info.filter(p => this.state(p.index) === 'running')
    const total = running.length
    const timeout = options.timeout ?? this.init.joinTimeout ?? TESTNET_JOIN_TIMEOUT
    const deadline = Date.now() + timeout
    const ids = running.map(p => p.peerId)
    let lastSettled = -1
    // every daemon answers one member list per poll: keep that a small share of a big net's work
    const poll = Math.max(200, 10 * total)
    for (;;) {
      throwIfAborted(options.signal)
      const settled = (await Promise.all(running.map(async p => {
        const known = await fetchPeerIds(p.api, await this.apiHeaders(p.index), options.signal)
        return ids.every(id => id === p.peerId || known.has(id))
      }))).filter(Boolean).length
      throwIfAborted(options.signal)
      if (settled !== lastSettled) {
        lastSettled = settled
        this.init.onProgress?.({ phase: 'joining', settled, total })
      }
      if (settled === total) return
      if (Date.now() > deadline) {
        throw new TestnetError(`only ${settled} of ${total} peers know every other peer as alive after ${timeout / 1000} s; see the daemon.log files in ${this.dir}`)
      }
      await sleep(poll, undefined, { signal: options.signal }).catch(() => {})
    }
  }

  private peer (index: number): ProcessTestnetPeer {
    const peer = this.info.find(p => p.index === index)
    if (peer == null) throw new TestnetError(`no peer-${index} in this test net (peers 0–${this.info.length - 1})`)
    return peer
  }

  /** This host's address: 127.0.0.1, or with `netns` host `index`'s address in the lab. */
  private host (index: number): string {
    return this.lab?.ip(index) ?? '127.0.0.1'
  }

  /** The multiaddrs of `peer` on its own host's address (not its other interfaces'). */
  private ownAddresses (peer: ProcessTestnetPeer): string[] {
    const host = `/ip4/${this.host(peer.index)}/`
    return peer.multiaddrs.filter(ma => ma.includes(host))
  }

  private async apiHeaders (index: number): Promise<Record<string, string>> {
    const token = await this.apiToken(index)
    return token == null ? {} : { authorization: `Bearer ${token}` }
  }

  private async faultRequest (index: number, method: 'PUT' | 'DELETE', body?: unknown): Promise<void> {
    const peer = this.peer(index)
    const res = await fetch(new URL('/v1/faults/partition', peer.api), {
      method,
      headers: { ...await this.apiHeaders(index), ...(body == null ? {} : { 'content-type': 'application/json' }) },
      body: body == null ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5 * second)
    }).catch((err: Error) => {
      throw new TestnetError(`peer-${index} did not take the fault (${err.message}); is it running? see ${path.join(peer.dataDir, 'daemon.log')}`)
    })
    if (!res.ok) {
      const text = await res.text()
      throw new TestnetError(res.status === 404
        ? `peer-${index} does not serve /v1/faults: it was not started with --fault-injection`
        : `peer-${index} refused the fault: HTTP ${res.status} ${text}`)
    }
  }

  private async writeFile (): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`
    const contents: TestnetFile = {
      peers: this.info,
      ...(this.lab == null ? {} : { netns: { prefix: this.lab.prefix, subnet: this.lab.subnet } })
    }
    await fs.writeFile(tmp, `${JSON.stringify(contents, null, 2)}\n`)
    await fs.rename(tmp, this.file)
    if (this.lab == null) {
      const ports: RememberedPorts[] = this.info.map(p => ({ index: p.index, listenPort: tcpPort(p.multiaddrs, this.host(p.index)), apiPort: apiPort(p.api) }))
      await fs.writeFile(tmp, `${JSON.stringify({ peers: ports }, null, 2)}\n`)
      await fs.rename(tmp, this.portsFile)
    }
  }

  private async spawnPeer (index: number, bootstrap: string[], ports: { listenPort?: number, apiPort?: number } = {}, signal?: AbortSignal): Promise<ProcessTestnetPeer> {
    const dataDir = path.join(this.dir, `peer-${index}`)
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
    // checked again after async work: nothing is spawned once a stop was asked for
    throwIfAborted(signal)
    const logFile = path.join(dataDir, 'daemon.log')
    const host = this.host(index)
    const args = [
      cliPath(), 'daemon',
      '--data', dataDir,
      '--listen', `/ip4/${host}/tcp/${ports.listenPort ?? 0}`,
      '--api-host', host,
      '--api-port', String(ports.apiPort ?? 0),
      // off loopback the API needs a token: an admin token whose secret apiToken() reads
      ...(this.lab == null ? [] : ['--init-token']),
      // every peer of a test net is one host to the inbound rate limit: loopback, or the lab
      '--allow', this.lab == null ? '/ip4/127.0.0.0/ipcidr/8' : cidrMultiaddr(this.lab.subnet),
      '--dht-refresh-interval', String(this.init.dhtRefreshInterval ?? 5 * second),
      '--gossip', 'testnet',
      '--log-timestamps',
      ...(this.init.faultInjection === false ? [] : ['--fault-injection']),
      ...bootstrap.flatMap(ma => ['--bootstrap', ma]),
      ...(this.init.swarmKeyFile == null ? [] : ['--swarm-key', this.init.swarmKeyFile]),
      ...(this.init.open === true ? ['--open'] : []),
      ...(this.init.zones == null || this.init.zones.length === 0 ? [] : ['--zone', this.init.zones[index % this.init.zones.length] as string])
    ]
    const log = openSync(logFile, 'a')
    let child: ChildProcess
    try {
      // own process group: a terminal's Ctrl-C reaches only the launcher, which then stops every
      // daemon once, in order; the IPC channel still ends a daemon whose launcher died. An attached
      // controller is short-lived: its daemons get no channel and outlive it.
      // `ip netns exec` execs the daemon after entering the namespace: the child's pid is the
      // daemon's, and the IPC channel's descriptor is inherited through the exec
      const command = this.lab?.wrap(index, process.execPath, args) ?? { command: process.execPath, args }
      // the daemon stamps its own lines (--log-timestamps): DEBUG logs would carry a second date
      const env = { ...process.env, DEBUG_HIDE_DATE: 'true' }
      child = spawn(command.command, command.args, { stdio: ['ignore', log, log, ...(this.attached ? [] : ['ipc' as const])], detached: true, env })
    } finally {
      closeSync(log)
    }
    const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    const timeout = this.init.startTimeout ?? TESTNET_PEER_START_TIMEOUT
    if (this.attached) {
      child.unref()
      const api = `http://${host}:${ports.apiPort ?? 0}`
      const old = this.peer(index)
      const headers = await this.apiHeaders(index)
      await waitUntilAsync(async () => (await fetchStatus(api, headers)) === old.peerId, timeout, `peer-${index} did not start within ${timeout / 1000} s; see ${logFile}`)
      return { ...old, pid: child.pid ?? -1 }
    }
    this.children.push({ index, process: child, exited })

    const info = await new Promise<DaemonInfo>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(new AbortError(`stopped while peer-${index} was starting`))
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        reject(new TestnetError(`peer-${index} did not start within ${timeout / 1000} s; see ${logFile}`))
      }, timeout)
      signal?.addEventListener('abort', onAbort, { once: true })
      child.on('message', (message: { type?: string, info?: DaemonInfo }) => {
        if (message.type === 'ready' && message.info != null) {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(message.info)
        }
      })
      void exited.then(code => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        reject(new TestnetError(`peer-${index} exited with code ${code} while starting: ${tail(logFile)}`))
      })
    })
    // the channel served its purpose; keep it open so the child notices if we die
    this.tokens.delete(index)
    return { index, peerId: info.peerId, pid: child.pid ?? -1, api: info.api, multiaddrs: info.multiaddrs, dataDir }
  }
}

async function readPorts (file: string): Promise<RememberedPorts[]> {
  try {
    const { peers } = JSON.parse(await fs.readFile(file, 'utf8')) as { peers?: RememberedPorts[] }
    return Array.isArray(peers) ? peers : []
  } catch {
    return []
  }
}

/** Whether nothing listens on `host:port` (a listen there succeeds). */
async function isPortFree (host: string, port: number): Promise<boolean> {
  const server = net.createServer()
  try {
    server.listen({ host, port })
    await once(server, 'listening')
    await new Promise(resolve => { server.close(resolve) })
    return true
  } catch {
    return false
  }
}

/** Throws an `AbortError` when `signal` has fired. */
function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError(`stopped (${abortReason(signal)})`)
}

function abortReason (signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : 'stop requested'
}

/** The port of an API URL, when it has one. */
function apiPort (api: string): number | undefined {
  try {
    const port = Number(new URL(api).port)
    return port > 0 ? port : undefined
  } catch {
    return undefined
  }
}

async function readPeers (file: string): Promise<ProcessTestnetPeer[]> {
  try {
    return (JSON.parse(await fs.readFile(file, 'utf8')) as TestnetFile).peers
  } catch {
    return []
  }
}

/** Whether `pid` is a live p2pstore daemon (guards against a pid reused by another program). */
function isDaemon (pid: number): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // a zombie has exited; only its parent has not collected it yet
    if (/\) Z /.test(stat)) return false
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('p2pstore')
  } catch {
    // no /proc (not Linux): trust kill(0)
    return true
  }
}

/** Whether `pid` is stopped by a signal (state T in /proc). */
function isStoppedProcess (pid: number): boolean {
  try {
    return /\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function stopPid (pid: number): Promise<void> {
  if (!isDaemon(pid)) return
  process.kill(pid, 'SIGCONT')
  process.kill(pid, 'SIGTERM')
  try {
    await waitUntil(() => !isDaemon(pid), STOP_GRACE, '')
  } catch {
    if (isDaemon(pid)) process.kill(pid, 'SIGKILL')
  }
}

async function waitUntil (done: () => boolean, timeout: number, message: string): Promise<void> {
  return waitUntilAsync(async () => done(), timeout, message)
}

async function waitUntilAsync (done: () => Promise<boolean>, timeout: number, message: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!await done()) {
    if (Date.now() > deadline) throw new TestnetError(message)
    await sleep(50)
  }
}

/** `a.b.c.d/n` as the multiaddr `/ip4/a.b.c.d/ipcidr/n`. */
function cidrMultiaddr (cidr: string): string {
  const [address, bits] = cidr.split('/')
  return `/ip4/${address}/ipcidr/${bits}`
}

/** The TCP port of the first of `multiaddrs` on `host`. */
function tcpPort (multiaddrs: string[], host: string): number | undefined {
  const prefix = `/ip4/${host}/tcp/`
  const match = multiaddrs.map(ma => ma.startsWith(prefix) ? /^\d+/.exec(ma.slice(prefix.length)) : null).find(m => m != null)
  return match == null ? undefined : Number(match[0])
}

async function fetchStatus (api: string, headers: Record<string, string>): Promise<string | undefined> {
  try {
    const res = await fetch(new URL('/v1/status', api), { headers, signal: AbortSignal.timeout(2 * second) })
    return res.ok ? (await res.json() as { peerId: string }).peerId : undefined
  } catch {
    return undefined
  }
}

async function fetchPeerIds (api: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Set<string>> {
  try {
    const timeout = AbortSignal.timeout(5 * second)
    const res = await fetch(new URL('/v1/peers', api), { headers, signal: signal == null ? timeout : AbortSignal.any([signal, timeout]) })
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
