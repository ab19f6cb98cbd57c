/**
 * A multi-host network for a local test net, built from Linux network namespaces, so that
 * partitions and packet loss are enforced by the kernel rather than only by libp2p's connection
 * gater: a peer inside a cut really sees its packets vanish, with no help from the code under test.
 *
 * Layout of a lab with prefix `p` and `n` hosts:
 *
 * ```
 *   namespace p-sw:  bridge br0 (ifalias "p2pstore-lab:pid=<owner>")
 *                      ├── c  ──veth── p-c in the root namespace (controllerIp(), e.g. 10.77.3.1/24)
 *                      ├── h0 ──veth── eth0 in namespace p-h0  (ip(0), e.g. 10.77.3.11/24)
 *                      ├── h1 ──veth── eth0 in namespace p-h1  (ip(1))
 *                      └── …
 * ```
 *
 * The switch is a namespace of its own, so every interface name in it is short and fixed. The root
 * namespace gets one interface, the controller link (`<prefix>-c`, with the subnet's route), so
 * that a test runner outside the lab reaches every host, e.g. a daemon's HTTP API. Faults are
 * iptables rules in each host's `INPUT` chain, in two chains of our own (`p2ps-cut`, `p2ps-loss`)
 * that `heal()` flushes; each rule also carries a `p2pstore:<prefix>:…` comment so that
 * `iptables -S` inside a host says where it came from. Packets are dropped where they arrive and
 * never where they leave: a `DROP` in `OUTPUT` makes `send()` fail at once with `EPERM`, which no
 * real network does. Packets from the controller are accepted before either chain: cuts and loss
 * are between hosts only, and the controller always gets through.
 *
 * Needs root, iproute2 (`ip`) and iptables (nft or legacy backend: whichever `available()` finds
 * working). Commands run through `node:child_process` with a timeout each.
 *
 * The caller owns cleanup: nothing is registered on process exit, because an exit handler cannot
 * run async work and would hide a missing `cleanup()` in tests. Processes started inside a host
 * (see {@link NetnsLab.wrap}) should be stopped before `cleanup()`; a namespace lives on, nameless,
 * while a process still runs in it. After a crash, {@link cleanupStaleLabs} removes what was left
 * (the controller link goes with its switch namespace). Another process can drive the faults of a
 * running lab through {@link NetnsLab.existing}.
 *
 * @example
 * ```ts
 * const lab = new NetnsLab({ hosts: 3 })
 * await lab.setup()
 * try {
 *   const { command, args } = lab.wrap(1, process.execPath, ['server.js', '--host', lab.ip(1)])
 *   // spawn(command, args) …
 *   await lab.cut([0], [1, 2])   // host 0 can no longer reach 1 and 2, nor they it
 *   await lab.loss(2, 0.1)       // 10 % of the packets arriving at host 2 are dropped
 *   await lab.heal()
 * } finally {
 *   await lab.cleanup()
 * }
 * ```
 *
 * @packageDocumentation
 */

import { InvalidParametersError, NotStartedError } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { TestnetError } from '../../errors.ts'
import { PROCESS_HOST } from './host.ts'
import { CUT_CHAIN, cutRules, healRules, IPTABLES_CANDIDATES, lossRules, restore, seesChains } from './iptables.ts'
import { addNamespace, controllerInterface, deleteLink, deleteNamespace, listNamespaces, PREFIX_PATTERN, switchNamespace } from './links.ts'
import { defaultSubnet, nextBase, overlappingRoute, parseSubnet, rootRoutes } from './subnet.ts'
import { addControllerLink, buildHost, buildSwitch, configureControllerLink } from './topology.ts'
import type { NetnsHost } from './host.ts'

const log = logger('p2pstore:faults:netns')

/** Most hosts in one lab: addresses are `.11` to `.74` of a /24. */
export const NETNS_LAB_MAX_HOSTS = 64

/** How many /24s after the default one `setup()` tries when the default is in use. */
const SUBNET_TRIES = 64

/** Options of `NetnsLab`. */
export interface NetnsLabInit {
  /**
   * How many hosts (network namespaces) the lab has, from 1 to 64. Host `i` is reached at
   * `ip(i)`.
   */
  hosts: number

  /**
   * Start of every namespace name (`<prefix>-sw`, `<prefix>-h0`, …). Letters, digits, `_`, `.`
   * and `-`, at most 24 characters. Two labs alive at the same time need different prefixes.
   *
   * @default `p2ps${process.pid % 10000}` for the first lab of a process, then
   * `p2ps${process.pid % 10000}-<n>` (the n-th)
   */
  prefix?: string

  /**
   * The lab's IPv4 /24, written `a.b.c.0/24`. The controller link puts it on a route of the root
   * namespace, so it must not overlap any route there nor another live lab: `setup()` checks and
   * refuses one that does. Hosts get `.11` upwards, the controller `.1`.
   *
   * @default the first free /24 from `10.<(n / 256) % 256>.<n % 256>.0/24` on, where `n` mixes the
   * pid and a count of labs made by this process; until `setup()` has picked one, `ip()` answers
   * with the first candidate
   */
  subnet?: string

  /**
   * What this process knows of its labs (sequence numbers, subnets held, the probe's answer).
   *
   * @default the one object of this process, so that its labs never clash
   */
  host?: NetnsHost
}

/** What `NetnsLab.available()` found. */
export type NetnsLabAvailability = { ok: true } | { ok: false, reason: string }

/**
 * A set of hosts, each in its own network namespace, joined by a bridge in a switch namespace,
 * with kernel-enforced partitions (`cut`) and random packet loss (`loss`).
 *
 * `setup()` and `cleanup()` may each be called more than once; `cut`, `loss` and `heal` need a
 * finished `setup()`.
 */
export class NetnsLab {
  readonly hosts: number
  readonly prefix: string
  /** first three octets of the subnet, e.g. `10.77.3`; may move on in `setup()` when defaulted */
  private base: string
  /** whether the subnet was given, and so must not be moved to a free one */
  private readonly fixedSubnet: boolean
  /** the root side of the controller link exists */
  private controllerCreated = false
  /** namespaces this lab created and has not deleted yet, in creation order */
  private readonly created: string[] = []
  /** per host, the source addresses `p2ps-cut` drops, so a repeated cut adds no duplicates */
  private readonly cuts = new Map<number, Set<string>>()
  private iptables?: string
  private readonly host: NetnsHost
  private setupPromise?: Promise<void>
  private cleanupPromise?: Promise<void>
  private ready = false

  /**
   * Checks that this machine can run a lab: root, `ip` and a working iptables, and that a
   * namespace with a bridge, a veth pair and the iptables rules a lab uses can be created (and
   * deleted again). The answer's `reason` says what is missing and how to get it.
   */
  static async available (): Promise<NetnsLabAvailability> {
    const found = await PROCESS_HOST.probe()
    return found.ok ? { ok: true } : found
  }

  constructor (init: NetnsLabInit) {
    const { hosts } = init
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > NETNS_LAB_MAX_HOSTS) {
      throw new InvalidParametersError(`hosts must be an integer from 1 to ${NETNS_LAB_MAX_HOSTS}, got ${hosts}`)
    }
    const host = init.host ?? PROCESS_HOST
    // checked before a sequence number is taken: a refused init names no lab
    if (init.prefix != null && !PREFIX_PATTERN.test(init.prefix)) throw badPrefix(init.prefix)
    if (init.subnet != null && parseSubnet(init.subnet) == null) throw badSubnet(init.subnet)
    // the first lab of a process keeps the short name; later ones (several test nets in one
    // process) get a sequence number, still within the default scheme of cleanupStaleLabs()
    const sequence = host.nextSequence()
    this.hosts = hosts
    this.prefix = init.prefix ?? `p2ps${process.pid % 10000}${sequence === 0 ? '' : `-${sequence}`}`
    this.base = parseSubnet(init.subnet ?? defaultSubnet(process.pid, sequence)) ?? ''
    this.host = host
    this.fixedSubnet = init.subnet != null
  }

  /**
   * A handle on a lab another process (or another object) set up and still runs, e.g. for a test
   * net's `attach()`: `cut`, `loss` and `heal` work on it at once. `init` must name the lab's
   * prefix, subnet and host count exactly. It owns nothing: its `cleanup()` deletes nothing, and
   * cuts it makes are not known to the owner's object (both see them in the kernel; `heal()` from
   * either removes all of them).
   */
  static async existing (init: Required<Omit<NetnsLabInit, 'host'>> & Pick<NetnsLabInit, 'host'>): Promise<NetnsLab> {
    const lab = new NetnsLab(init)
    const names = new Set(await listNamespaces())
    const missing = [switchNamespace(lab.prefix), ...Array.from({ length: lab.hosts }, (_, i) => lab.namespace(i))]
      .filter(name => !names.has(name))
    if (missing.length > 0) {
      throw new TestnetError(`no lab ${lab.prefix} of ${lab.hosts} hosts runs here: network namespace(s) ${missing.join(', ')} missing (see \`ip netns list\`)`)
    }
    // the backend that made the lab's chains: rules of one are invisible to the other
    for (const candidate of IPTABLES_CANDIDATES) {
      try {
        await seesChains(candidate, lab.namespace(0))
        lab.iptables = candidate
        lab.ready = true
        return lab
      } catch (err) {
        log('%s does not see the chains of %s - %e', candidate, lab.prefix, err)
      }
    }
    throw new TestnetError(`lab ${lab.prefix} has no ${CUT_CHAIN} chain in ${lab.namespace(0)} under any of ${IPTABLES_CANDIDATES.join(', ')}: is it a NetnsLab, and is iptables installed?`)
  }

  /**
   * Creates the switch namespace and bridge, then each host: its namespace, a veth into the
   * switch, `lo` up, address `ip(i)`/24 and the (empty) fault chains. On failure, deletes what it
   * created and rethrows. A second call returns the first call's promise.
   */
  async setup (): Promise<void> {
    this.setupPromise ??= this.doSetup().catch(async (err: unknown) => {
      await this.deleteCreated().catch((cleanupErr: unknown) => {
        log.error('cleanup after failed setup of %s failed - %e', this.prefix, cleanupErr)
      })
      this.setupPromise = undefined
      throw err
    })
    return this.setupPromise
  }

  /** The IPv4 address of host `i`, e.g. `10.77.3.11` for host 0. */
  ip (i: number): string {
    this.checkHost(i)
    return `${this.base}.${11 + i}`
  }

  /**
   * The address of the root namespace on the lab's bridge (`.1` of the subnet), from which a
   * process outside the lab reaches every host at `ip(i)`, whatever cuts and loss are in place.
   * Hosts see connections from the controller coming from this address.
   */
  controllerIp (): string {
    return `${this.base}.1`
  }

  /** The lab's subnet, e.g. `10.77.3.0/24` (final once `setup()` has finished). */
  get subnet (): string {
    return `${this.base}.0/24`
  }

  /** The name of host `i`'s network namespace, e.g. `p2ps1234-h0`. */
  namespace (i: number): string {
    this.checkHost(i)
    return `${this.prefix}-h${i}`
  }

  /**
   * The command line that runs `command ...args` inside host `i` (`ip netns exec <ns> …`), for
   * `spawn`/`execFile`. The caller owns the process and must stop it before `cleanup()`.
   */
  wrap (i: number, command: string, args: string[]): { command: string, args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.namespace(i), command, ...args] }
  }

  /**
   * Drops every packet from the hosts in `from` to the hosts in `to` and, unless `oneWay`, from
   * `to` back to `from`. A host in both lists keeps talking to itself. Packets are dropped on
   * arrival (`INPUT` by source address), so senders see timeouts, as on a real partition.
   * Cuts add up until `heal()`.
   */
  async cut (from: number[], to: number[], options: { oneWay?: boolean } = {}): Promise<void> {
    const iptables = this.started()
    from.forEach(i => { this.checkHost(i) })
    to.forEach(i => { this.checkHost(i) })

    const drops = new Map<number, Set<string>>()
    const block = (sender: number, receiver: number): void => {
      const known = this.cuts.get(receiver) ?? new Set()
      const source = this.ip(sender)
      if (sender === receiver || known.has(source)) {
        return
      }
      const sources = drops.get(receiver) ?? new Set()
      sources.add(source)
      drops.set(receiver, sources)
    }
    for (const f of from) {
      for (const t of to) {
        block(f, t)
        if (options.oneWay !== true) {
          block(t, f)
        }
      }
    }

    await Promise.all([...drops].map(async ([receiver, sources]) => {
      await restore(iptables, this.namespace(receiver), cutRules(this.prefix, sources))
      const known = this.cuts.get(receiver) ?? new Set()
      sources.forEach(source => known.add(source))
      this.cuts.set(receiver, known)
    }))
    log('cut %o -> %o%s', from, to, options.oneWay === true ? ' (one way)' : '')
  }

  /**
   * Drops each packet arriving at host `i` from the other hosts with the given probability,
   * replacing the host's previous loss setting; `0` removes it and `1` drops everything.
   */
  async loss (i: number, probability: number): Promise<void> {
    const iptables = this.started()
    this.checkHost(i)
    if (!Number.isFinite(probability) || probability < 0 || probability > 1) {
      throw new InvalidParametersError(`loss probability must be from 0 to 1, got ${probability}`)
    }
    const rules = lossRules(this.prefix, probability)
    await restore(iptables, this.namespace(i), rules)
    log('loss at host %d: %d', i, probability)
  }

  /** Removes every cut and every loss setting of this lab: the network is whole again. */
  async heal (): Promise<void> {
    const iptables = this.started()
    await Promise.all(Array.from({ length: this.hosts }, async (_, i) =>
      restore(iptables, this.namespace(i), healRules())))
    this.cuts.clear()
    log('healed %s', this.prefix)
  }

  /**
   * Deletes the lab's namespaces, which takes their veths, bridge and iptables rules with them.
   * Waits for a `setup()` in progress first. Safe to call twice, before `setup()` and after a
   * failed one; it only deletes namespaces this lab created.
   */
  async cleanup (): Promise<void> {
    this.cleanupPromise ??= (async () => {
      // a setup that fails cleans up after itself; a setup that succeeds leaves work for us
      await this.setupPromise?.catch(() => {})
      this.ready = false
      this.setupPromise = undefined
      this.cuts.clear()
      await this.deleteCreated()
    })().finally(() => {
      this.cleanupPromise = undefined
    })
    return this.cleanupPromise
  }

  private async doSetup (): Promise<void> {
    const found = await this.host.probe()
    if (!found.ok) {
      throw new TestnetError(`cannot build a network namespace lab: ${found.reason}`)
    }
    this.iptables = found.iptables
    const iptables = found.iptables

    await this.chooseSubnet()

    const sw = switchNamespace(this.prefix)
    await this.addNamespace(sw)
    await buildSwitch(sw)
    await addControllerLink(this.prefix, sw)
    this.controllerCreated = true
    await configureControllerLink(this.prefix, sw, this.controllerIp())

    // hosts are independent of each other: build them side by side, and let every one finish
    // before a failure is thrown, so that the cleanup after it sees every namespace made
    const built = await Promise.allSettled(Array.from({ length: this.hosts }, async (_, i) => {
      const ns = this.namespace(i)
      await this.addNamespace(ns)
      await buildHost({ prefix: this.prefix, sw, ns, index: i, address: this.ip(i), controller: this.controllerIp(), iptables })
    }))
    const failed = built.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed != null) {
      throw failed.reason
    }
    this.ready = true
    log('lab %s up: %d hosts on %s.0/24', this.prefix, this.hosts, this.base)
  }

  /**
   * Checks the subnet against the root namespace's routes (the controller link adds one) and the
   * other labs of this process. A defaulted subnet moves on to the next free /24; a given one that
   * overlaps is refused.
   */
  private async chooseSubnet (): Promise<void> {
    const routes = await rootRoutes()
    for (let tries = 0; ; tries++) {
      const clash = this.host.holds(this.base) ? 'another lab of this process' : overlappingRoute(routes, this.base)
      if (clash == null) {
        break
      }
      if (this.fixedSubnet) {
        throw new TestnetError(`subnet ${this.subnet} of lab ${this.prefix} is in use in the root namespace (${clash}): ` +
          'pick another subnet, or leave it out to get a free one')
      }
      if (tries >= SUBNET_TRIES) {
        throw new TestnetError(`no free /24 for lab ${this.prefix} among ${SUBNET_TRIES} tried up to ${this.subnet} (last clash: ${clash}): pass a subnet`)
      }
      this.base = nextBase(this.base)
    }
    if (!this.fixedSubnet) {
      this.host.claim(this.base)
    }
  }

  private async addNamespace (name: string): Promise<void> {
    await addNamespace(name, this.prefix)
    this.created.push(name)
  }

  /**
   * Deletes the controller link and the created namespaces, last first; tries them all and
   * reports every failure.
   */
  private async deleteCreated (): Promise<void> {
    const failures: unknown[] = []
    if (this.controllerCreated) {
      // deleting the switch would take it too, but the kernel does that later, in the background:
      // a new lab of the same prefix could then find it still there
      try {
        await deleteLink(controllerInterface(this.prefix))
        this.controllerCreated = false
      } catch (err) {
        failures.push(err)
      }
    }
    while (this.created.length > 0) {
      const name = this.created.pop()
      if (name == null) {
        break
      }
      try {
        await deleteNamespace(name)
      } catch (err) {
        failures.push(err)
      }
    }
    if (!this.fixedSubnet) {
      this.host.release(this.base)
    }
    if (failures.length > 0) {
      throw new AggregateError(failures, `could not delete ${failures.length} network namespace(s) of lab ${this.prefix}; see \`ip netns list\``)
    }
  }

  /** The iptables front end to use, or throws when `setup()` has not finished. */
  private started (): string {
    if (!this.ready || this.iptables == null) {
      throw new NotStartedError(`network namespace lab ${this.prefix} is not set up: await setup() first`)
    }
    return this.iptables
  }

  private checkHost (i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.hosts) {
      throw new InvalidParametersError(`host index must be an integer from 0 to ${this.hosts - 1}, got ${i}`)
    }
  }
}

function badPrefix (prefix: string): InvalidParametersError {
  return new InvalidParametersError(`prefix must be 1 to 24 letters, digits, "_", "." or "-", got ${JSON.stringify(prefix)}`)
}

function badSubnet (subnet: string): InvalidParametersError {
  return new InvalidParametersError(`subnet must be an IPv4 /24 written a.b.c.0/24 (e.g. 10.77.3.0/24), got ${JSON.stringify(subnet)}`)
}
