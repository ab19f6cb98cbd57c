import { InvalidParametersError } from '@libp2p/interface'
import { ProcessTestnet } from '../../testnet/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore fault` (the parent command's: every fault takes them). */
export interface FaultOptions {
  dir: string
  oneWay?: boolean
}

/** The faults `p2pstore fault` injects: one subcommand each. */
export const FAULTS = ['kill', 'restart', 'pause', 'resume', 'wipe', 'partition', 'isolate', 'bridge', 'loss', 'heal', 'status'] as const

/** One of `FAULTS`. */
export type FaultName = typeof FAULTS[number]

/** A running test net, with the pieces every fault's message needs. */
interface FaultNet {
  net: ProcessTestnet
  /** every peer index of the net */
  all: number[]
  /** `rest` as a command that works when pasted: the real --dir, and npx for a local install */
  cmd(rest: string): string
}

/**
 * Attaches to the test net whose `testnet.json` is in `opts.dir` (`p2pstore testnet --dir DIR`),
 * runs `act` on it and prints the line it returns (`{ fault, args, done }` with --json).
 */
async function inject (ctx: CommandContext, opts: FaultOptions, fault: FaultName, args: string[], act: (net: FaultNet) => Promise<string>): Promise<number> {
  const net = await ProcessTestnet.attach(opts.dir)
  const cmd = (rest: string): string => `\`npx p2pstore fault --dir ${quote(net.dir)} ${rest}\``
  const done = await act({ net, all: net.peers.map(p => p.index), cmd })
  ctx.out.result({ fault, args, done }, () => { ctx.out.line(done) })
  return 0
}

/** `fault kill I`: SIGKILL, a crash. */
export async function killFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'kill', [text], async ({ net, all, cmd }) => {
    const i = index(text, all)
    await net.kill(i)
    return `killed peer-${i} (SIGKILL); start it again with ${cmd(`restart ${i}`)}`
  })
}

/** `fault restart I`: the daemon again, on its data dir and ports. */
export async function restartFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'restart', [text], async ({ net, all }) => {
    const i = index(text, all)
    await net.restart(i)
    return `restarted peer-${i}`
  })
}

/** `fault pause I`: SIGSTOP. */
export async function pauseFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'pause', [text], async ({ net, all, cmd }) => {
    const i = index(text, all)
    net.pause(i)
    return `paused peer-${i} (SIGSTOP); resume with ${cmd(`resume ${i}`)}`
  })
}

/** `fault resume I`: SIGCONT. */
export async function resumeFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'resume', [text], async ({ net, all }) => {
    const i = index(text, all)
    net.resume(i)
    return `resumed peer-${i} (SIGCONT)`
  })
}

/** `fault wipe I`: storage deleted, identity kept, restarted. */
export async function wipeFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'wipe', [text], async ({ net, all }) => {
    const i = index(text, all)
    await net.wipe(i)
    return `wiped peer-${i}'s storage (identity kept) and restarted it`
  })
}

/** `fault partition G G…`: groups cut off from each other (`--one-way`: the first cannot reach the second). */
export async function partitionFault (ctx: CommandContext, opts: FaultOptions, texts: string[]): Promise<number> {
  return inject(ctx, opts, 'partition', texts, async ({ net, all, cmd }) => {
    if (texts.length < 2) throw new InvalidParametersError(`partition takes two or more groups, e.g. ${cmd(`partition 0 ${all.slice(1).join(',')}`)}`)
    const groups = texts.map(g => group(g, all))
    const flat = groups.flat()
    const twice = flat.find((i, n) => flat.indexOf(i) !== n)
    if (twice != null) throw new InvalidParametersError(`peer-${twice} is in two groups; each peer may be in one group at most`)
    if (opts.oneWay === true && groups.length !== 2) throw new InvalidParametersError('--one-way takes exactly two groups: the one cut off, then the one it cannot reach')
    await net.partition(groups, { oneWay: opts.oneWay })
    return `partitioned ${groups.map(g => g.join(',')).join(opts.oneWay === true ? ' -/-> ' : ' | ')}; heal with ${cmd('heal')}`
  })
}

/** `fault isolate I`: I alone against the rest. */
export async function isolateFault (ctx: CommandContext, opts: FaultOptions, text: string): Promise<number> {
  return inject(ctx, opts, 'isolate', [text], async ({ net, all, cmd }) => {
    const i = index(text, all)
    await net.partition([[i], all.filter(p => p !== i)])
    return `isolated peer-${i}; heal with ${cmd('heal')}`
  })
}

/** `fault bridge G B G`: two sides that only the middle peer(s) reach. */
export async function bridgeFault (ctx: CommandContext, opts: FaultOptions, texts: [string, string, string]): Promise<number> {
  return inject(ctx, opts, 'bridge', texts, async ({ net, all, cmd }) => {
    const [left, middle, right] = texts.map(g => group(g, all)) as [number[], number[], number[]]
    const overlap = middle.find(i => left.includes(i) || right.includes(i))
    if (overlap != null) throw new InvalidParametersError(`peer-${overlap} cannot be both a bridge and on a side`)
    await net.partition([left, right])
    return `partitioned ${left.join(',')} | ${right.join(',')}, bridged by ${middle.join(',')}; heal with ${cmd('heal')}`
  })
}

/** `fault loss I P`: drop P (0–1) of the packets arriving at I (test nets in network namespaces only). */
export async function lossFault (ctx: CommandContext, opts: FaultOptions, text: string, probability: number): Promise<number> {
  return inject(ctx, opts, 'loss', [text, String(probability)], async ({ net, all, cmd }) => {
    const i = index(text, all)
    await net.loss(i, probability)
    return `dropping ${Math.round(probability * 100)} % of the packets arriving at peer-${i}; heal with ${cmd('heal')}`
  })
}

/** `fault heal`: every partition and loss lifted. */
export async function healFault (ctx: CommandContext, opts: FaultOptions): Promise<number> {
  return inject(ctx, opts, 'heal', [], async ({ net }) => {
    await net.heal()
    return 'healed every partition'
  })
}

/** `fault status`: every peer's process state. */
export async function statusFault (ctx: CommandContext, opts: FaultOptions): Promise<number> {
  const net = await ProcessTestnet.attach(opts.dir)
  const states = net.peers.map(p => ({ index: p.index, peerId: p.peerId, pid: p.pid, api: p.api, state: net.state(p.index) }))
  ctx.out.result(states, () => { ctx.out.columns(['INDEX', 'STATE', 'PID', 'API'], states.map(s => [String(s.index), s.state, String(s.pid), s.api])) })
  return 0
}

/** `text` as one shell word: quoted when it holds anything but safe characters. */
function quote (text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`
}

function index (text: string, all: number[]): number {
  const i = Number(text)
  if (!/^\d+$/.test(text) || !all.includes(i)) throw new InvalidParametersError(`"${text}" is not a peer of this test net (peers ${all[0]}–${all[all.length - 1]})`)
  return i
}

function group (text: string, all: number[]): number[] {
  return text.split(',').map(t => index(t.trim(), all))
}
