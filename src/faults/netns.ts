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

import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { InvalidParametersError, NotStartedError } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { TestnetError } from '../errors.ts'

const log = logger('p2pstore:faults:netns')

/** Most hosts in one lab: addresses are `.11` to `.74` of a /24. */
export const NETNS_LAB_MAX_HOSTS = 64

/** Deadline of one `ip` or `iptables` command. */
const COMMAND_TIMEOUT = 10_000

/** `-w` of iptables(-restore): seconds to wait for the xtables lock (legacy backend only). */
const XTABLES_WAIT_SECONDS = 5

/** A namespace without an owner marker younger than this may still be in `setup()`: keep it. */
const STALE_GRACE = 30_000

/** Chains of our own in each host's filter table, jumped to from `INPUT` for packets on `eth0`. */
const CUT_CHAIN = 'p2ps-cut'
const LOSS_CHAIN = 'p2ps-loss'

/** Host side of every host's veth; the switch side is `h<i>`. */
const HOST_IF = 'eth0'
const BRIDGE = 'br0'

/** Switch side of the controller link; the root side is `controllerInterface(prefix)`. */
const CONTROLLER_SWITCH_IF = 'c'

/** Longest interface name Linux takes (IFNAMSIZ 16, less the terminating NUL). */
const MAX_IFNAME = 15

/** How many /24s after the default one `setup()` tries when the default is in use. */
const SUBNET_TRIES = 64

/** The bridge's ifalias, naming the process that owns the lab (see `cleanupStaleLabs`). */
const OWNER_MARK = 'p2pstore-lab:pid='

/** Namespace prefixes: short, and safe inside a namespace name and an iptables comment. */
const PREFIX_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,23}$/

/** iptables front ends to try, best first: the system's choice, then each backend by name. */
const IPTABLES_CANDIDATES = ['iptables', 'iptables-nft', 'iptables-legacy']

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
  private setupPromise?: Promise<void>
  private cleanupPromise?: Promise<void>
  private ready = false

  /**
   * Checks that this machine can run a lab: root, `ip` and a working iptables, and that a
   * namespace with a bridge, a veth pair and the iptables rules a lab uses can be created (and
   * deleted again). The answer's `reason` says what is missing and how to get it.
   */
  static async available (): Promise<NetnsLabAvailability> {
    const found = await probe()
    return found.ok ? { ok: true } : found
  }

  constructor (init: NetnsLabInit) {
    const { hosts } = init
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > NETNS_LAB_MAX_HOSTS) {
      throw new InvalidParametersError(`hosts must be an integer from 1 to ${NETNS_LAB_MAX_HOSTS}, got ${hosts}`)
    }
    // the first lab of a process keeps the short name; later ones (several test nets in one
    // process) get a sequence number, still within the default scheme of cleanupStaleLabs()
    const sequence = labsMade
    const prefix = init.prefix ?? `p2ps${process.pid % 10000}${sequence === 0 ? '' : `-${sequence}`}`
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new InvalidParametersError(`prefix must be 1 to 24 letters, digits, "_", "." or "-", got ${JSON.stringify(prefix)}`)
    }
    const subnet = init.subnet ?? defaultSubnet(process.pid, sequence)
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet)
    if (match == null || match.slice(1).some(octet => Number(octet) > 255)) {
      throw new InvalidParametersError(`subnet must be an IPv4 /24 written a.b.c.0/24 (e.g. 10.77.3.0/24), got ${JSON.stringify(subnet)}`)
    }
    labsMade++
    this.hosts = hosts
    this.prefix = prefix
    this.base = match.slice(1, 4).map(Number).join('.')
    this.fixedSubnet = init.subnet != null
  }

  /**
   * A handle on a lab another process (or another object) set up and still runs, e.g. for a test
   * net's `attach()`: `cut`, `loss` and `heal` work on it at once. `init` must name the lab's
   * prefix, subnet and host count exactly. It owns nothing: its `cleanup()` deletes nothing, and
   * cuts it makes are not known to the owner's object (both see them in the kernel; `heal()` from
   * either removes all of them).
   */
  static async existing (init: Required<NetnsLabInit>): Promise<NetnsLab> {
    const lab = new NetnsLab(init)
    const names = new Set(await listNamespaces())
    const missing = [`${lab.prefix}-sw`, ...Array.from({ length: lab.hosts }, (_, i) => lab.namespace(i))]
      .filter(name => !names.has(name))
    if (missing.length > 0) {
      throw new TestnetError(`no lab ${lab.prefix} of ${lab.hosts} hosts runs here: network namespace(s) ${missing.join(', ')} missing (see \`ip netns list\`)`)
    }
    // the backend that made the lab's chains: rules of one are invisible to the other
    for (const candidate of IPTABLES_CANDIDATES) {
      try {
        await run('ip', ['netns', 'exec', lab.namespace(0), candidate, '-w', String(XTABLES_WAIT_SECONDS), '-S', CUT_CHAIN])
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

    const comment = `p2pstore:${this.prefix}:cut`
    await Promise.all([...drops].map(async ([receiver, sources]) => {
      await restore(iptables, this.namespace(receiver), [...sources].map(source =>
        `-A ${CUT_CHAIN} -s ${source}/32 -m comment --comment ${comment} -j DROP`))
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
    const rules = [`-F ${LOSS_CHAIN}`]
    if (probability > 0) {
      rules.push(`-A ${LOSS_CHAIN} -m statistic --mode random --probability ${probability} ` +
        `-m comment --comment p2pstore:${this.prefix}:loss -j DROP`)
    }
    await restore(iptables, this.namespace(i), rules)
    log('loss at host %d: %d', i, probability)
  }

  /** Removes every cut and every loss setting of this lab: the network is whole again. */
  async heal (): Promise<void> {
    const iptables = this.started()
    await Promise.all(Array.from({ length: this.hosts }, async (_, i) =>
      restore(iptables, this.namespace(i), [`-F ${CUT_CHAIN}`, `-F ${LOSS_CHAIN}`])))
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
    const found = await probe()
    if (!found.ok) {
      throw new TestnetError(`cannot build a network namespace lab: ${found.reason}`)
    }
    this.iptables = found.iptables
    const iptables = found.iptables

    await this.chooseSubnet()

    const sw = `${this.prefix}-sw`
    await this.addNamespace(sw)
    // mark the owner first, so that cleanupStaleLabs() in another process leaves this lab alone
    await ip(['-n', sw, 'link', 'add', BRIDGE, 'type', 'bridge'])
    await ip(['-n', sw, 'link', 'set', BRIDGE, 'alias', `${OWNER_MARK}${process.pid}`])
    await ip(['-n', sw, 'link', 'set', BRIDGE, 'up'])
    await ip(['-n', sw, 'link', 'set', 'lo', 'up'])

    // the controller link: its root side dies with the switch namespace, so a crashed owner
    // leaves nothing in the root namespace once cleanupStaleLabs() has deleted the switch
    const controller = controllerInterface(this.prefix)
    try {
      await ip(['link', 'add', controller, 'type', 'veth', 'peer', 'name', CONTROLLER_SWITCH_IF, 'netns', sw])
    } catch (err) {
      if (err instanceof Error && /exists/i.test(err.message)) {
        throw new TestnetError(`interface ${controller} already exists in the root namespace: another lab uses prefix "${this.prefix}" ` +
          `(remove a stale one with \`ip link del ${controller}\`)`, { cause: err })
      }
      throw err
    }
    this.controllerCreated = true
    await ip(['-n', sw, 'link', 'set', CONTROLLER_SWITCH_IF, 'master', BRIDGE, 'up'])
    await ip(['addr', 'add', `${this.controllerIp()}/24`, 'dev', controller])
    await ip(['link', 'set', controller, 'up'])

    // hosts are independent of each other: build them side by side, and let every one finish
    // before a failure is thrown, so that the cleanup after it sees every namespace made
    const built = await Promise.allSettled(Array.from({ length: this.hosts }, async (_, i) => {
      const ns = this.namespace(i)
      await this.addNamespace(ns)
      await ip(['-n', sw, 'link', 'add', `h${i}`, 'type', 'veth', 'peer', 'name', HOST_IF, 'netns', ns])
      await ip(['-n', sw, 'link', 'set', `h${i}`, 'master', BRIDGE, 'up'])
      await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
      await ip(['-n', ns, 'addr', 'add', `${this.ip(i)}/24`, 'dev', HOST_IF])
      await ip(['-n', ns, 'link', 'set', HOST_IF, 'up'])
      // a fresh namespace has an empty filter table: this replaces it whole
      await restore(iptables, ns, faultChains(this.prefix, this.controllerIp()), { flush: true })
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
      const clash = subnetsInUse.has(this.base) ? 'another lab of this process' : overlappingRoute(routes, this.base)
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
      subnetsInUse.add(this.base)
    }
  }

  private async addNamespace (name: string): Promise<void> {
    try {
      await ip(['netns', 'add', name])
    } catch (err) {
      if (err instanceof Error && /exists/i.test(err.message)) {
        throw new TestnetError(`network namespace ${name} already exists: another lab uses prefix "${this.prefix}", ` +
          'or a crashed run left it (remove it with cleanupStaleLabs() or `ip netns del`)', { cause: err })
      }
      throw err
    }
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
      subnetsInUse.delete(this.base)
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

/**
 * Deletes the namespaces and controller links of labs whose owner process is gone, e.g. after a
 * test run was killed. Without `prefix`, looks at every lab named by the default scheme
 * (`p2ps<digits>-…` and `p2ps<digits>-<n>-…`); with it,
 * at the lab of that prefix only. A lab whose owner (recorded on its bridge) is still alive is
 * kept, and so is one without an owner record created in the last 30 s, which may be in `setup()`.
 *
 * @returns how many namespaces were deleted
 */
export async function cleanupStaleLabs (prefix?: string): Promise<number> {
  if (prefix != null && !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidParametersError(`prefix must be 1 to 24 letters, digits, "_", "." or "-", got ${JSON.stringify(prefix)}`)
  }
  const scheme = prefix == null
    ? /^(p2ps\d+(?:-\d+)?)-(sw|h\d+)$/
    : new RegExp(`^(${prefix.replaceAll('.', '\\.')})-(sw|h\\d+)$`)

  const labs = new Map<string, string[]>()
  for (const name of await listNamespaces()) {
    const lab = scheme.exec(name)?.[1]
    if (lab != null) {
      labs.set(lab, [...(labs.get(lab) ?? []), name])
    }
  }

  let deleted = 0
  for (const [lab, names] of labs) {
    if (await isLive(lab, names)) {
      log('lab %s is alive, keeping it', lab)
      continue
    }
    await deleteLink(controllerInterface(lab))
    // hosts first, the switch last: a half-deleted lab still carries its owner mark
    for (const name of names.sort((a, b) => Number(a.endsWith('-sw')) - Number(b.endsWith('-sw')))) {
      await deleteNamespace(name)
      deleted++
    }
    log('deleted stale lab %s (%d namespaces)', lab, names.length)
  }
  return deleted
}

type Probe = { ok: true, iptables: string } | { ok: false, reason: string }

/** Only a success is kept: a failure may be fixed (a package installed) while we run. */
let probed: Promise<Probe> | undefined
let probes = 0

async function probe (): Promise<Probe> {
  probed ??= probeOnce().then(found => {
    if (!found.ok) {
      probed = undefined
    }
    return found
  })
  return probed
}

async function probeOnce (): Promise<Probe> {
  const uid = process.getuid?.()
  if (uid !== 0) {
    return { ok: false, reason: `not root (uid ${uid ?? 'unknown'}): creating network namespaces needs root` }
  }
  try {
    await run('ip', ['-V'])
  } catch (err) {
    return { ok: false, reason: `\`ip -V\` failed (${message(err)}): install iproute2` }
  }

  const ns = `p2pstore-probe-${process.pid}-${probes++}`
  try {
    await ip(['netns', 'add', ns])
  } catch (err) {
    return { ok: false, reason: `cannot create a network namespace: ${message(err)}` }
  }
  try {
    try {
      await ip(['-n', ns, 'link', 'add', BRIDGE, 'type', 'bridge'])
      await ip(['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', HOST_IF])
    } catch (err) {
      return { ok: false, reason: `the kernel lacks bridge or veth support: ${message(err)}` }
    }
    const failures: string[] = []
    for (const candidate of IPTABLES_CANDIDATES) {
      try {
        // exactly what a lab does: the chains, a cut, a loss rule, then a heal
        await restore(candidate, ns, faultChains('probe', '192.0.2.2'), { flush: true })
        await restore(candidate, ns, [
          `-A ${CUT_CHAIN} -s 192.0.2.1/32 -m comment --comment p2pstore:probe:cut -j DROP`,
          `-A ${LOSS_CHAIN} -m statistic --mode random --probability 0.5 -m comment --comment p2pstore:probe:loss -j DROP`
        ])
        await restore(candidate, ns, [`-F ${CUT_CHAIN}`, `-F ${LOSS_CHAIN}`])
        log('using %s', candidate)
        return { ok: true, iptables: candidate }
      } catch (err) {
        failures.push(`${candidate}: ${message(err)}`)
      }
    }
    if (failures.every(failure => /no such file|ENOENT/i.test(failure))) {
      return { ok: false, reason: 'iptables is not installed (Debian does not install it by default): `apt-get install iptables`' }
    }
    return {
      ok: false,
      reason: 'no working iptables (install it with `apt-get install iptables`; the kernel needs the comment ' +
        `and statistic matches): ${failures.join('; ')}`
    }
  } finally {
    await deleteNamespace(ns).catch((err: unknown) => {
      log.error('could not delete probe namespace %s - %e', ns, err)
    })
  }
}

/**
 * The filter table of a fresh host: `INPUT` from the lab accepts the controller, and jumps to the
 * loss, then the cut chain for everything else.
 */
function faultChains (prefix: string, controller: string): string[] {
  return [
    `:${LOSS_CHAIN} - [0:0]`,
    `:${CUT_CHAIN} - [0:0]`,
    `-A INPUT -i ${HOST_IF} -s ${controller}/32 -m comment --comment p2pstore:${prefix}:controller -j ACCEPT`,
    `-A INPUT -i ${HOST_IF} -m comment --comment p2pstore:${prefix}:loss -j ${LOSS_CHAIN}`,
    `-A INPUT -i ${HOST_IF} -m comment --comment p2pstore:${prefix}:cut -j ${CUT_CHAIN}`
  ]
}

/**
 * Applies `rules` to the filter table inside namespace `ns` in one `iptables-restore` run, so a
 * change to one host is atomic. Without `flush`, existing rules are kept (`--noflush`).
 */
async function restore (iptables: string, ns: string, rules: string[], options: { flush?: boolean } = {}): Promise<void> {
  const args = ['netns', 'exec', ns, `${iptables}-restore`, '-w', String(XTABLES_WAIT_SECONDS)]
  if (options.flush !== true) {
    args.push('--noflush')
  }
  await run('ip', args, { input: ['*filter', ...rules, 'COMMIT', ''].join('\n') })
}

async function ip (args: string[]): Promise<string> {
  return run('ip', args)
}

/**
 * The root side of a lab's controller link: `<prefix>-c`, or for a prefix too long for an
 * interface name, `p2psc-` and a hash of it.
 */
function controllerInterface (prefix: string): string {
  const name = `${prefix}-c`
  return name.length <= MAX_IFNAME ? name : `p2psc-${createHash('sha256').update(prefix).digest('hex').slice(0, 9)}`
}

async function deleteLink (name: string): Promise<void> {
  try {
    await ip(['link', 'del', name])
  } catch (err) {
    // already gone, e.g. with its switch namespace
    if (err instanceof Error && /cannot find device|does not exist/i.test(err.message)) {
      return
    }
    throw err
  }
}

interface Route { dst: string, dev?: string }

async function rootRoutes (): Promise<Route[]> {
  const routes: unknown = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'all']))
  return Array.isArray(routes) ? routes.filter((r): r is Route => typeof (r as Partial<Route>).dst === 'string') : []
}

/** A route of the root namespace that overlaps the /24 `base`.0, described, or undefined. */
function overlappingRoute (routes: Route[], base: string): string | undefined {
  const ours = ipv4ToInt(`${base}.0`) ?? 0
  for (const route of routes) {
    const [address, bits] = route.dst.split('/')
    const start = address == null ? undefined : ipv4ToInt(address)
    const length = bits == null ? 32 : Number(bits)
    // default routes cover everything and are no clash: the /24's own route is more specific
    if (start == null || length === 0) {
      continue
    }
    // two ranges overlap when they agree on the bits of the shorter prefix
    const size = 2 ** (32 - Math.min(length, 24))
    if (Math.floor(start / size) === Math.floor(ours / size)) {
      return `route ${route.dst}${route.dev == null ? '' : ` dev ${route.dev}`}`
    }
  }
  return undefined
}

function ipv4ToInt (address: string): number | undefined {
  const octets = address.split('.').map(Number)
  if (octets.length !== 4 || octets.some(o => !Number.isInteger(o) || o < 0 || o > 255)) {
    return undefined
  }
  return octets.reduce((n, o) => n * 256 + o, 0)
}

/** The /24 after `base` within its /8, wrapping around. */
function nextBase (base: string): string {
  const [a, b, c] = base.split('.').map(Number)
  const n = ((b ?? 0) * 256 + (c ?? 0) + 1) % 65536
  return `${a ?? 10}.${Math.floor(n / 256)}.${n % 256}`
}

async function deleteNamespace (name: string): Promise<void> {
  try {
    await ip(['netns', 'del', name])
  } catch (err) {
    // already gone: deleting is idempotent
    if (err instanceof Error && /no such file/i.test(err.message)) {
      return
    }
    throw err
  }
}

async function listNamespaces (): Promise<string[]> {
  // lines look like "p2ps12-h0 (id: 3)" or "p2ps12-h0"
  return (await ip(['netns', 'list']))
    .split('\n')
    .map(line => line.trim().split(/\s+/)[0] ?? '')
    .filter(name => name !== '')
}

/** Whether a lab's owner process still runs, or the lab may be a setup in progress. */
async function isLive (lab: string, names: string[]): Promise<boolean> {
  const sw = `${lab}-sw`
  if (names.includes(sw)) {
    const owner = await ownerOf(sw)
    if (owner != null) {
      return isRunning(owner)
    }
  }
  const youngest = Math.max(...names.map(name => {
    try {
      return statSync(`/run/netns/${name}`).mtimeMs
    } catch {
      return 0
    }
  }))
  return Date.now() - youngest < STALE_GRACE
}

async function ownerOf (sw: string): Promise<number | undefined> {
  try {
    const links: unknown = JSON.parse(await ip(['-j', '-n', sw, 'link', 'show', BRIDGE]))
    const alias = Array.isArray(links) ? (links[0] as { ifalias?: unknown } | undefined)?.ifalias : undefined
    if (typeof alias === 'string' && alias.startsWith(OWNER_MARK)) {
      const pid = Number(alias.slice(OWNER_MARK.length))
      return Number.isInteger(pid) && pid > 0 ? pid : undefined
    }
  } catch (err) {
    log('no owner mark on %s - %e', sw, err)
  }
  return undefined
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but is not ours to signal
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Labs this process made so far: the default prefix and subnet of the next. */
let labsMade = 0

/** Defaulted subnets (their first three octets) of this process's labs between setup and cleanup. */
const subnetsInUse = new Set<string>()

function defaultSubnet (pid: number, sequence: number): string {
  // spread the labs of one process apart; another process's range starts 64 /24s on
  const n = (pid * 64 + sequence) % 65536
  return `10.${Math.floor(n / 256)}.${n % 256}.0/24`
}

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Runs a command with a deadline. Rejects with a `TestnetError` that names the command line and
 * carries its stderr, or the spawn error (`ENOENT` when the program is not installed).
 */
async function run (command: string, args: string[], options: { input?: string } = {}): Promise<string> {
  log.trace('%s %s', command, args.join(' '))
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: COMMAND_TIMEOUT, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) {
        const detail = stderr.trim() !== '' ? stderr.trim() : err.message
        reject(new TestnetError(`\`${command} ${args.join(' ')}\` failed: ${detail}`, { cause: err }))
        return
      }
      resolve(stdout)
    })
    // a missing program fails the spawn: the callback reports it, stdin must not throw meanwhile
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input ?? '')
  })
}
