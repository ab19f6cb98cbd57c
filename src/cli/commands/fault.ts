import { InvalidParametersError } from '@libp2p/interface'
import { ProcessTestnet } from '../../testnet/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore fault`. */
export interface FaultOptions {
  dir: string
  oneWay?: boolean
}

/** The faults `p2pstore fault` injects, and how many arguments each takes. */
export const FAULTS = ['kill', 'restart', 'pause', 'resume', 'wipe', 'partition', 'isolate', 'bridge', 'loss', 'heal', 'status'] as const

/**
 * `p2pstore fault --dir DIR <fault> [args…]`: injects a fault into the running test net whose
 * `testnet.json` is in DIR (`p2pstore testnet --dir DIR`). Peers are named by index.
 *
 *   kill I | restart I | pause I | resume I | wipe I
 *   partition 0,1,2 3,4 [--one-way]   groups cut off from each other (one-way: the first cannot reach the second)
 *   isolate I                         I alone against the rest
 *   bridge 0,1 2 3,4                  two sides that only the middle peer(s) reach
 *   loss I P                          drop P (0–1) of the packets arriving at I (only on a `testnet --netns` test net)
 *   heal                              lift every partition and loss
 *   status                            every peer's process state
 */
export async function faultCommand (ctx: CommandContext, fault: string, args: string[], opts: FaultOptions): Promise<number> {
  const net = await ProcessTestnet.attach(opts.dir)
  // every command printed must work when pasted: the real --dir, and npx for a local install
  const cmd = (rest: string): string => `\`npx p2pstore fault --dir ${quote(net.dir)} ${rest}\``
  const all = net.peers.map(p => p.index)
  const one = (): number => {
    if (args.length !== 1) throw new InvalidParametersError(`${fault} takes one peer index, e.g. ${cmd(`${fault} ${all[all.length - 1] ?? 0}`)}`)
    return index(args[0] ?? '', all)
  }
  let done: string
  switch (fault) {
    case 'kill': { const i = one(); await net.kill(i); done = `killed peer-${i} (SIGKILL); start it again with ${cmd(`restart ${i}`)}`; break }
    case 'restart': { const i = one(); await net.restart(i); done = `restarted peer-${i}`; break }
    case 'pause': { const i = one(); net.pause(i); done = `paused peer-${i} (SIGSTOP); resume with ${cmd(`resume ${i}`)}`; break }
    case 'resume': { const i = one(); net.resume(i); done = `resumed peer-${i} (SIGCONT)`; break }
    case 'wipe': { const i = one(); await net.wipe(i); done = `wiped peer-${i}'s storage (identity kept) and restarted it`; break }
    case 'partition': {
      if (args.length < 2) throw new InvalidParametersError(`partition takes two or more groups, e.g. ${cmd(`partition 0 ${all.slice(1).join(',')}`)}`)
      const groups = args.map(g => group(g, all))
      const flat = groups.flat()
      const twice = flat.find((i, n) => flat.indexOf(i) !== n)
      if (twice != null) throw new InvalidParametersError(`peer-${twice} is in two groups; each peer may be in one group at most`)
      if (opts.oneWay === true && groups.length !== 2) throw new InvalidParametersError('--one-way takes exactly two groups: the one cut off, then the one it cannot reach')
      await net.partition(groups, { oneWay: opts.oneWay })
      done = `partitioned ${groups.map(g => g.join(',')).join(opts.oneWay === true ? ' -/-> ' : ' | ')}; heal with ${cmd('heal')}`
      break
    }
    case 'isolate': {
      const i = one()
      await net.partition([[i], all.filter(p => p !== i)])
      done = `isolated peer-${i}; heal with ${cmd('heal')}`
      break
    }
    case 'bridge': {
      if (args.length !== 3) throw new InvalidParametersError(`bridge takes three groups: side, bridge, side — e.g. ${cmd(`bridge 0 1 ${all.slice(2).join(',')}`)}`)
      const [left, middle, right] = args.map(g => group(g, all)) as [number[], number[], number[]]
      const overlap = middle.find(i => left.includes(i) || right.includes(i))
      if (overlap != null) throw new InvalidParametersError(`peer-${overlap} cannot be both a bridge and on a side`)
      await net.partition([left, right])
      done = `partitioned ${left.join(',')} | ${right.join(',')}, bridged by ${middle.join(',')}; heal with ${cmd('heal')}`
      break
    }
    case 'loss': {
      if (args.length !== 2) throw new InvalidParametersError(`loss takes a peer index and a probability, e.g. ${cmd('loss 0 0.2')}`)
      const i = index(args[0] ?? '', all)
      const p = Number(args[1])
      if (!(p >= 0 && p <= 1)) throw new InvalidParametersError(`the loss probability must be from 0 to 1, got "${args[1]}"`)
      await net.loss(i, p)
      done = `dropping ${Math.round(p * 100)} % of the packets arriving at peer-${i}; heal with ${cmd('heal')}`
      break
    }
    case 'heal': { await net.heal(); done = 'healed every partition'; break }
    case 'status': {
      const states = net.peers.map(p => ({ index: p.index, peerId: p.peerId, pid: p.pid, api: p.api, state: net.state(p.index) }))
      ctx.out.result(states, () => { ctx.out.columns(['INDEX', 'STATE', 'PID', 'API'], states.map(s => [String(s.index), s.state, String(s.pid), s.api])) })
      return 0
    }
    default:
      throw new InvalidParametersError(`unknown fault "${fault}" (known: ${FAULTS.join(', ')})`)
  }
  ctx.out.result({ fault, args, done }, () => { ctx.out.line(done) })
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
