/**
 * `ProcessTestnet`: N `p2pstore daemon` processes, started, stopped and faulted by index. The jobs
 * it uses each have a file: `daemon.ts` (spawning one daemon, waiting until it is ready),
 * `pids.ts` (live daemons, stopping by pid), `ports.ts` (ports remembered across runs, multiaddrs),
 * `api.ts` (the daemons' API through `HttpClient`), `faults.ts` (partitions: `/v1/faults` or the
 * lab's cuts), `mesh.ts` (waiting until every daemon sees every other) and `state-file.ts`
 * (`testnet.json`).
 */

import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { AbortError, UnsupportedOperationError } from '@libp2p/interface'
import { DATADIR_FILES, TESTNET_JOIN_TIMEOUT, TESTNET_MAX_PEERS, TESTNET_PEER_START_TIMEOUT } from '../../constants.ts'
import { TestnetError, TestnetNotFoundError } from '../../errors.ts'
import { cleanupStaleLabs, NetnsLab } from '../../faults/index.ts'
import { pollUntil } from '../../util/index.ts'
import { writeTestnetCredentials } from '../credentials.ts'
import { statusPeerId } from './api.ts'
import { abortReason, daemonReady, spawnDaemon, throwIfAborted } from './daemon.ts'
import { cutGroups, faultRequest, partitionBlocks } from './faults.ts'
import { waitForMesh } from './mesh.ts'
import { isDaemon, isStoppedProcess, STOP_GRACE, stopPid, waitGone } from './pids.ts'
import { apiPort, cidrMultiaddr, isPortFree, onHost, readPorts, tcpPort, writePorts } from './ports.ts'
import { readPeers, readTestnetFile, writeTestnetFile } from './state-file.ts'
import type { DaemonApi } from './api.ts'
import type { DaemonPorts, RememberedPorts } from './ports.ts'
import type { ProcessTestnetPeer, TestnetFile } from './state-file.ts'
import type { ProfileName } from '../../constants.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

/** Progress of `ProcessTestnet.start()`. */
export type TestnetProgress =
  | { phase: 'starting', started: number, total: number }
  | { phase: 'joining', settled: number, total: number }
  | { phase: 'ready', elapsedMs: number }

/** Options of `ProcessTestnet`. */
export interface ProcessTestnetInit {
  /** how many daemons (1–TESTNET_MAX_PEERS) */
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
  /** every daemon's connection budget (`--max-connections`). @default the daemon's own (DEFAULT_MAX_CONNECTIONS) */
  maxConnections?: number
  /**
   * Give every daemon `--allow` for the net's own range (loopback, or the lab's subnet), which
   * exempts its peers from libp2p's `maxConnections`, its pending-connection cap and its inbound
   * rate limit: every peer of a test net is one host to them, so parallel joins of a big net would
   * be refused. `npm run attack` turns it off, so that those limits hold against its hostile
   * peers (3 daemons join within the limits).
   *
   * @default true
   */
  allowOwnRange?: boolean
  /** called as daemons start and join */
  onProgress?(progress: TestnetProgress): void
  /** called with notices worth a line, e.g. that a remembered port was taken. @default undefined */
  onNotice?(message: string): void
  /**
   * How many daemons start at once after the seeds. A daemon takes about a CPU-second to load and
   * start, so starting all of a big net at once only makes each wait for the others (100 at once
   * on 2 cores: a load of 110, and daemons not ready after 30 s).
   *
   * @default one more than the machine's cores (`os.availableParallelism()`), at least 2
   */
  startConcurrency?: number
  /** deadline for one daemon to start. @default 30_000 */
  startTimeout?: number
  /** deadline for every daemon to know every other. @default 120_000 */
  joinTimeout?: number
  /** Kademlia self-query interval of the daemons. @default the daemon's (QUERY_SELF_INTERVAL, 5 min) */
  dhtRefreshInterval?: number
  /**
   * The daemons' timing profile (`--profile`): `testnet` probes 3× faster than production so that
   * failure detection shows in a second or two; `default` runs them at production timing (the
   * benchmark measures idle cost at both).
   *
   * @default 'testnet'
   */
  profile?: ProfileName
  /**
   * Flags for node itself in front of each daemon's script, e.g. `['--cpu-prof', '--cpu-prof-dir',
   * DIR]` to profile them (node refuses `--cpu-prof` in `NODE_OPTIONS`).
   *
   * @default []
   */
  nodeArgs?: string[]
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

/**
 * The first daemons of a net start one after the other and are the bootstrap peers of every
 * other: joins spread over a few peers instead of all landing on the first one, and the net does
 * not depend on a single one to form (SWIM's gossip and push-pull spread the rest).
 */
export const TESTNET_SEEDS = 3

/** Most bootstrap peers a restarted daemon gets: every other peer of a net up to this size. */
const RESTART_BOOTSTRAP = 16

/** Daemons started at once after the seeds, by default (see `startConcurrency`). */
export function defaultStartConcurrency (): number {
  return Math.max(2, os.availableParallelism() + 1)
}

/** A daemon this object spawned. */
interface Child {
  index: number
  process: ChildProcess
  exited: Promise<number | null>
}

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
      contents = await readTestnetFile(file)
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
      // the seeds one after the other, each joining through those before it; then the others,
      // a few at a time, each joining through the seeds (see TESTNET_SEEDS, startConcurrency)
      const peers: ProcessTestnetPeer[] = []
      const seeds = Math.min(total, TESTNET_SEEDS)
      for (let i = 0; i < seeds; i++) {
        peers.push(await this.spawnPeer(i, peers.flatMap(p => this.ownAddresses(p)), await this.rememberedPorts(remembered, i), signal))
        this.init.onProgress?.({ phase: 'starting', started: peers.length, total })
      }
      const bootstrap = peers.flatMap(p => this.ownAddresses(p))
      const concurrency = Math.max(1, this.init.startConcurrency ?? defaultStartConcurrency())
      let next = seeds
      let failure: Error | undefined
      // a function: the signal fires while the loop awaits
      const aborted = (): boolean => signal?.aborted === true
      // every spawn settles before this goes on: a stop then sees every child that was spawned
      await Promise.all(Array.from({ length: Math.min(concurrency, total - seeds) }, async () => {
        while (next < total && failure == null && !aborted()) {
          const index = next++
          try {
            peers.push(await this.spawnPeer(index, bootstrap, await this.rememberedPorts(remembered, index), signal))
          } catch (err) {
            failure ??= err instanceof Error ? err : new TestnetError(String(err))
            return
          }
          if (!aborted()) this.init.onProgress?.({ phase: 'starting', started: peers.length, total })
        }
      }))
      throwIfAborted(signal)
      if (failure != null) throw failure
      this.info = peers.sort((a, b) => a.index - b.index)
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
    await waitGone(peer.pid, STOP_GRACE, `peer-${index} (pid ${peer.pid}) did not exit after SIGKILL`)
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
   * Starts daemon `index` again on its data dir, on the same libp2p and API ports, with up to
   * RESTART_BOOTSTRAP other peers (running ones first) as its bootstrap peers; waits until its API
   * answers. A daemon still running is killed first.
   */
  async restart (index: number): Promise<ProcessTestnetPeer> {
    const old = this.peer(index)
    await this.kill(index)
    // up to RESTART_BOOTSTRAP other peers, running ones first: some of them are reachable even
    // across a partition, and a big net's every peer would be as many dials
    const others = this.info.filter(p => p.index !== index)
    const bootstrap = [...others.filter(p => this.state(p.index) === 'running'), ...others.filter(p => this.state(p.index) !== 'running')]
      .slice(0, RESTART_BOOTSTRAP)
      .flatMap(p => this.ownAddresses(p).slice(0, 1))
    const fresh = await this.spawnPeer(index, bootstrap, { listenPort: tcpPort(old.multiaddrs, this.host(index)), apiPort: apiPort(old.api) })
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
      await cutGroups(this.lab, groups, options.oneWay === true)
      return
    }
    const blocks = partitionBlocks(groups, options.oneWay === true, i => this.peer(i).peerId)
    await Promise.all(blocks.map(async b => {
      if (this.state(b.index) !== 'running') return
      await faultRequest(this.peer(b.index), await this.api(b.index), { peers: b.peers, direction: b.direction })
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
      await faultRequest(p, await this.api(p.index))
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
    await waitForMesh({
      peers: this.info.filter(p => this.state(p.index) === 'running'),
      api: async index => this.api(index),
      timeout: options.timeout ?? this.init.joinTimeout ?? TESTNET_JOIN_TIMEOUT,
      dir: this.dir,
      onSettled: (settled, total) => { this.init.onProgress?.({ phase: 'joining', settled, total }) },
      signal: options.signal
    })
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
    return onHost(peer.multiaddrs, this.host(peer.index))
  }

  /** Daemon `index`'s API and the token it demands. */
  private async api (index: number): Promise<DaemonApi> {
    return { url: this.peer(index).api, token: await this.apiToken(index) }
  }

  private async writeFile (): Promise<void> {
    await writeTestnetFile(this.file, {
      peers: this.info,
      ...(this.lab == null ? {} : { netns: { prefix: this.lab.prefix, subnet: this.lab.subnet } })
    })
    if (this.lab == null) {
      await writePorts(this.portsFile, this.info.map(p => ({ index: p.index, listenPort: tcpPort(p.multiaddrs, this.host(p.index)), apiPort: apiPort(p.api) })))
    }
  }

  private async spawnPeer (index: number, bootstrap: string[], ports: DaemonPorts = {}, signal?: AbortSignal): Promise<ProcessTestnetPeer> {
    const dataDir = path.join(this.dir, `peer-${index}`)
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
    // checked again after async work: nothing is spawned once a stop was asked for
    throwIfAborted(signal)
    const host = this.host(index)
    const lab = this.lab
    const daemon = spawnDaemon({
      dataDir,
      host,
      ports,
      bootstrap,
      // every peer of a test net is one host to the inbound rate limit: loopback, or the lab
      allow: this.init.allowOwnRange === false ? undefined : lab == null ? '/ip4/127.0.0.0/ipcidr/8' : cidrMultiaddr(lab.subnet),
      initToken: lab != null,
      dhtRefreshInterval: this.init.dhtRefreshInterval,
      faultInjection: this.init.faultInjection,
      profile: this.init.profile ?? 'testnet',
      nodeArgs: this.init.nodeArgs,
      swarmKeyFile: this.init.swarmKeyFile,
      open: this.init.open,
      zone: this.init.zones == null || this.init.zones.length === 0 ? undefined : this.init.zones[index % this.init.zones.length],
      maxConnections: this.init.maxConnections,
      ipc: !this.attached,
      wrap: lab == null ? undefined : (command, args) => lab.wrap(index, command, args)
    })
    const timeout = this.init.startTimeout ?? TESTNET_PEER_START_TIMEOUT
    if (this.attached) {
      daemon.process.unref()
      const old = this.peer(index)
      const api = { url: `http://${host}:${ports.apiPort ?? 0}`, token: await this.apiToken(index) }
      await pollUntil(async () => (await statusPeerId(api)) === old.peerId, {
        timeout,
        error: () => new TestnetError(`peer-${index} did not start within ${timeout / 1000} s; see ${daemon.logFile}`)
      })
      return { ...old, pid: daemon.process.pid ?? -1 }
    }
    this.children.push({ index, process: daemon.process, exited: daemon.exited })
    const info = await daemonReady(daemon, `peer-${index}`, timeout, signal)
    // the channel served its purpose; keep it open so the child notices if we die
    this.tokens.delete(index)
    return { index, peerId: info.peerId, pid: daemon.process.pid ?? -1, api: info.api, multiaddrs: info.multiaddrs, dataDir }
  }
}
