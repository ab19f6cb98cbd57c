import { UnsupportedOperationError } from '@libp2p/interface'
import { EXIT } from '../../errors.ts'
import { peerIdTail } from '../../util/index.ts'
import type { KeyLocation, LocatedCopy, LocatedPeer } from '../../replication/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore locate`. */
export interface LocateCommandOptions {
  n?: number
}

/**
 * `p2pstore locate KEY`: where a key lives, as the daemon sees it — its preference list (home
 * replicas in order, each peer's state), which of them hold it with their clocks and sibling
 * counts, copies on fallbacks (hinted), and dead members that would be home replicas. Exits 3 when
 * no peer asked holds the key, as `get` does; `--json` prints the API's answer.
 */
export async function locateCommand (ctx: CommandContext, key: string, opts: LocateCommandOptions): Promise<number> {
  const client = await ctx.client()
  let location: KeyLocation
  try {
    location = await client.locate(key, { n: opts.n, signal: ctx.signal })
  } catch (err) {
    // an older daemon has no such route: say so, not "nothing is stored under that name"
    const e = err as Error
    if (e.name === 'NotFoundError' && e.message.startsWith('no such endpoint')) {
      throw Object.assign(new UnsupportedOperationError(`this daemon does not serve GET /v1/locate/:key (an older p2pstore): upgrade it to locate keys (${e.message})`), { cause: err })
    }
    throw err
  }
  const found = location.homeCopies + location.otherCopies > 0
  ctx.out.result(location, () => {
    const home = location.peers.filter(p => p.role === 'home')
    ctx.out.line(`${key}: ${location.homeCopies} of ${home.length} home replica${home.length === 1 ? '' : 's'} hold it${location.otherCopies > 0 ? `, ${location.otherCopies} cop${location.otherCopies === 1 ? 'y' : 'ies'} elsewhere (hinted)` : ''}; ${location.siblings} value${location.siblings === 1 ? '' : 's'} (N = ${location.n}, as ${peerIdTail(location.peerId)} sees it)`)
    ctx.out.columns(['PLACE', 'ROLE', 'PEER ID', 'STATE', 'ANSWER', 'VALUES', 'CLOCK', 'NOTE'], location.peers.map(p => [
      String(p.place),
      p.role,
      `${p.peerId}${p.self ? ' (this)' : ''}`,
      p.state,
      p.answer,
      p.copy == null ? '-' : values(p.copy),
      p.copy == null ? '-' : clockText(p.copy),
      note(p)
    ]))
    for (const line of advice(location)) ctx.out.info(line)
  })
  return found ? EXIT.ok : EXIT.notFound
}

/** `1`, `2 (siblings)`, `0 + 1 tombstone` */
function values (copy: LocatedCopy): string {
  const live = copy.siblings > 1 ? `${copy.siblings} (siblings)` : String(copy.siblings)
  return copy.tombstones === 0 ? live : `${live} + ${copy.tombstones} tombstone${copy.tombstones === 1 ? '' : 's'}`
}

/**
 * A version vector, compactly: each actor as the first 8 hex digits of its peer's storage epoch
 * and its per-key incarnation (`1a2b3c4d.1:3` = that actor's writes 1..3); `+k` dots beyond it.
 */
export function clockText (copy: LocatedCopy): string {
  const entries = Object.entries(copy.clock).map(([actor, counter]) => `${actorText(actor)}:${counter}`)
  if (copy.cloud > 0) entries.push(`+${copy.cloud}`)
  return entries.length === 0 ? '{}' : entries.join(' ')
}

function actorText (actor: string): string {
  if (!/^[0-9a-f]{24}$/.test(actor)) return actor.slice(0, 12)
  return `${actor.slice(0, 8)}.${parseInt(actor.slice(16), 16)}`
}

function note (p: LocatedPeer): string {
  const parts: string[] = []
  if (p.copy != null && !p.copy.current) parts.push('stale (lacks versions others have)')
  if (p.copy?.hintFor != null) parts.push(`hinted copy for ${p.copy.hintFor.map(peerIdTail).join(', ')}`)
  else if (p.role === 'fallback' && p.answer === 'holds') parts.push('outside the home replicas: hinted, or awaiting handoff')
  if (p.role === 'displaced') parts.push('dead: a home replica if it were alive; its keys go to the next peers')
  if (p.answer === 'unreachable') parts.push(p.error ?? 'no answer')
  if (p.zone != null) parts.push(`zone ${p.zone}`)
  return parts.length === 0 ? '' : parts.join('; ')
}

/** What to do about what the table shows (on stderr). */
function advice (location: KeyLocation): string[] {
  const out: string[] = []
  const home = location.peers.filter(p => p.role === 'home')
  if (location.homeCopies + location.otherCopies === 0) out.push('no peer asked holds this key (never written, or collected after a delete)')
  else if (location.homeCopies < home.length) out.push(`${home.length - location.homeCopies} home replica(s) lack it: read repair (a get) or anti-entropy restores the copy`)
  if (location.peers.some(p => p.copy?.current === false)) out.push('a stale copy catches up on the next read of the key or anti-entropy round')
  return out
}
