import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidParametersError } from '@libp2p/interface'
import { STATUS_WATCH_EVENTS_INTERVAL, STATUS_WATCH_INTERVAL } from '../../constants.ts'
import { CHECK_EXIT, describeError } from '../../errors.ts'
import { peerIdTail } from '../../util/index.ts'
import { columnLines, memberRows, membersSummary, memberTable } from './members.ts'
import type { MemberRow } from './members.ts'
import type { Client, HealthJson, HealthNote, HealthReason, ServerEvent, Verdict } from '../../client/index.ts'
import type { PeerStatus } from '../../peer.ts'
import type { CommandContext } from '../context.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Options of `p2pstore status`. */
export interface StatusOptions {
  /** ask `/v1/health` and exit with CHECK_EXIT */
  check?: boolean
  /** redraw (terminal) or print a JSON line per change until stopped */
  watch?: boolean
  /** `--watch` only: how often to ask again, in ms. @default STATUS_WATCH_INTERVAL */
  interval?: number
}

/**
 * `p2pstore status`: the daemon's peer id, addresses, uptime and connections; `--check` its health
 * verdict as an exit code for scripts and monitoring; `--watch` a live view until Ctrl-C.
 */
export async function statusCommand (ctx: CommandContext, opts: StatusOptions = {}): Promise<number> {
  if (opts.check === true && opts.watch === true) throw new InvalidParametersError('--check and --watch do not go together: --check answers once, for scripts; --watch runs until Ctrl-C')
  if (opts.check === true) return checkCommand(ctx)
  if (opts.watch === true) return watchCommand(ctx, opts.interval ?? STATUS_WATCH_INTERVAL)
  const client = await ctx.client()
  const status = await client.status({ signal: ctx.signal })
  ctx.out.result(status, () => {
    ctx.out.table([
      ['peer id', status.peerId],
      ['version', status.version],
      ['uptime', formatDuration(status.uptimeSeconds)],
      ['network', status.network === 'private' ? 'private (swarm key)' : 'public'],
      ['joined', joinedText(status)],
      ['connections', String(status.connections)],
      ['members', `${status.peers.alive} alive, ${status.peers.suspect} suspect, ${status.peers.dead} dead, ${status.peers.left} left (${status.peers.connected} connected)`],
      ['incarnation', String(status.incarnation)],
      ['local health', status.localHealth === 0 ? '0 (healthy)' : `${status.localHealth} (slow: probing ${status.localHealth + 1}× less often)`],
      ['keys held', String(status.keys)],
      ...(status.placement == null
        ? []
        : [['placement', `capacity ${status.placement.capacity}, zone ${status.placement.zone ?? '-'}, expected share ${(100 * status.placement.share).toFixed(1)} % of the keys (N = ${status.placement.n}; see \`p2pstore ring\`)`] as [string, string]]),
      ['pending hints', `${status.pendingHints}${status.lastHandoff == null ? '' : ` (last handoff ${status.lastHandoff})`}`],
      ['anti-entropy', status.lastAntiEntropy == null
        ? 'no round yet'
        : `last round ${status.lastAntiEntropy.at} with ${peerIdTail(status.lastAntiEntropy.peer)}: ${status.lastAntiEntropy.keys} keys compared, ${status.lastAntiEntropy.differing} leaves differed, ${status.lastAntiEntropy.pushed} sent, ${status.lastAntiEntropy.pulled} fetched in ${status.lastAntiEntropy.ms} ms`],
      ...(status.bans ?? []).map((b, i): [string, string] => [i === 0 ? 'banned peers' : '', `${b.peerId} until ${b.until}: ${b.reason} (score ${b.score})`]),
      ...status.multiaddrs.map((ma, i): [string, string] => [i === 0 ? 'addresses' : '', ma]),
      ...(status.dataDir == null ? [] : [['data dir', status.dataDir] as [string, string]])
    ])
  })
  return 0
}

/**
 * The daemon's health: `GET /v1/health`, or — from a daemon without that route (404) — a verdict
 * derived from `/v1/status` and `/v1/peers`, marked `derived` (members only: key safety unknown).
 */
export async function healthOf (client: Client, options: AbortOptions = {}): Promise<HealthJson> {
  try {
    return await client.health(options)
  } catch (err) {
    if ((err as Error).name !== 'NotFoundError') throw err
  }
  const [status, peers] = await Promise.all([client.status(options), client.peers(options)])
  return deriveHealth(status, peers.filter(p => p.state === 'dead' || p.state === 'suspect').map(p => ({ peerId: p.peerId, state: p.state })))
}

/**
 * A verdict from membership alone, for daemons without `/v1/health`: dead or suspect members make
 * it degraded; being the only live member of a network that had others makes it at risk (every
 * key it holds has one live copy).
 */
export function deriveHealth (status: PeerStatus, problems: Array<{ peerId: string, state: string }>): HealthJson {
  const { alive, suspect, dead, left } = status.peers
  const reasons: HealthReason[] = []
  const n = status.placement?.n ?? 3
  const deadIds = problems.filter(p => p.state === 'dead').map(p => p.peerId)
  const suspectIds = problems.filter(p => p.state === 'suspect').map(p => p.peerId)
  if (alive + suspect === 0 && dead > 0) {
    reasons.push({ severity: 'at-risk', cause: `every other member is dead (${dead})`, effect: 'keys held here have a single live copy', peers: deadIds })
  } else if (dead > 0) {
    reasons.push({ severity: 'degraded', cause: `${dead} member${dead === 1 ? '' : 's'} dead: ${deadIds.map(peerIdTail).join(', ')}`, effect: `keys they held may have fewer than ${n} copies until re-replication`, peers: deadIds })
  }
  if (suspect > 0) {
    reasons.push({ severity: 'degraded', cause: `${suspect} member${suspect === 1 ? '' : 's'} suspect: ${suspectIds.map(peerIdTail).join(', ')}`, effect: 'writes to them go to fallbacks with hints', peers: suspectIds })
  }
  const verdict: Verdict = reasons.some(r => r.severity === 'at-risk') ? 'at-risk' : reasons.length > 0 ? 'degraded' : 'healthy'
  return {
    verdict,
    peerId: status.peerId,
    serving: true,
    checkedAt: new Date().toISOString(),
    members: { alive: alive + 1, suspect, dead, left, total: status.peers.known + 1 },
    reasons,
    derived: true
  }
}

/**
 * `status --check`: one verdict, as monitoring plugins exit (CHECK_EXIT: 0 healthy, 1 degraded,
 * 2 at risk, 3 unavailable — also when the daemon cannot be asked at all). Prints the verdict and
 * its reasons, cause first, in one short block; `--json` prints the health body.
 */
async function checkCommand (ctx: CommandContext): Promise<number> {
  let health: HealthJson
  try {
    health = await healthOf(await ctx.client(), { signal: ctx.signal })
  } catch (err) {
    // cancelled or a closed stdout: the usual exit code of that
    if (ctx.signal.aborted) throw err
    const described = describeError(err)
    const body = { verdict: 'unavailable' as const, serving: false, checkedAt: new Date().toISOString(), reasons: [{ severity: 'unavailable' as const, cause: described.message, effect: described.hint }], error: described.name }
    ctx.out.result(body, () => {
      ctx.out.line(`UNAVAILABLE: ${described.message}`)
      ctx.out.line(`  next: ${described.hint}`)
    })
    return CHECK_EXIT.unavailable
  }
  ctx.out.result(health, () => { for (const line of verdictBlock(health)) ctx.out.line(line) })
  return CHECK_EXIT[health.verdict]
}

/** `DEGRADED (…a1b2's view, …)` then one line per reason, cause → effect, then the counts. */
export function verdictBlock (health: HealthJson): string[] {
  const lines = [`${health.verdict.toUpperCase()} (the view of ${peerIdTail(health.peerId)}${health.derived === true ? ', from /v1/status: this daemon has no /v1/health' : ''})`]
  for (const r of health.reasons) lines.push(`  ${r.cause}${r.effect == null ? '' : ` → ${r.effect}`}`)
  for (const n of health.notes ?? []) lines.push(`  note: ${n.cause} → ${n.effect}`)
  const counts: string[] = []
  if (health.members != null) counts.push(`members ${health.members.alive} alive, ${health.members.suspect} suspect, ${health.members.dead} dead`)
  if (health.keys != null) counts.push(`keys ${health.keys.primary} primary, ${health.keys.underReplicated} under-replicated, ${health.keys.singleCopy} single-copy, ${health.keys.writeUnavailable} write- and ${health.keys.readUnavailable} read-unavailable`)
  if (health.rereplication != null && health.rereplication.active) counts.push(`re-replication ${Math.round(100 * health.rereplication.progress)} %${health.rereplication.etaSeconds == null ? '' : `, ETA ${health.rereplication.etaSeconds} s`}`)
  if (health.view != null && health.view.disagreeing > 0) counts.push(`${health.view.disagreeing} peer(s) see other members than this one`)
  if (counts.length > 0) lines.push(`  ${counts.join('; ')}`)
  return lines
}

/** One state of the network as `--watch` shows it. */
export interface WatchSnapshot {
  at: string
  /** the daemon's verdict (`unavailable` when it cannot be asked) */
  verdict: Verdict
  peerId?: string
  reasons: HealthReason[]
  /** what does not count against the verdict (a repaired death); absent when there is none */
  notes?: HealthNote[]
  /** the verdict was derived from /v1/status (no /v1/health on this daemon) */
  derived?: true
  members: MemberRow[]
  /** keys this daemon holds, and the health counts when the daemon has /v1/health */
  keys?: Partial<NonNullable<HealthJson['keys']>> & { held: number }
  traffic?: {
    connections: number
    pendingHints: number
    /** requests per second by operation since the previous snapshot (from `/metrics`; absent without it) */
    requestsPerSecond?: Record<string, number>
    /** of those, failed per second: outcomes other than ok, not found and siblings */
    failedPerSecond?: number
  }
  /** why the daemon could not be asked */
  error?: string
}

/**
 * What a change is: verdict, reasons' severities and peers, members' states, the health's key
 * counts — not the seconds in a reason's text, nor the keys held or the traffic, which move with
 * every write.
 */
function signature (s: WatchSnapshot): string {
  const { held: _held, ...health } = s.keys ?? { held: 0 }
  return JSON.stringify([s.verdict, s.error, s.reasons.map(r => [r.severity, [...(r.peers ?? [])].sort()]), s.members.map(m => [m.peerId, m.state]), health])
}

async function snapshot (client: Client, traffic: RequestRates, options: AbortOptions): Promise<WatchSnapshot> {
  const [health, members, status, rates] = await Promise.all([healthOf(client, options), memberRows(client, options), client.status(options), traffic.sample(client, options)])
  return {
    at: new Date().toISOString(),
    verdict: health.verdict,
    peerId: health.peerId,
    reasons: health.reasons,
    ...(health.notes != null && health.notes.length > 0 ? { notes: health.notes } : {}),
    ...(health.derived === true ? { derived: true as const } : {}),
    members,
    keys: { ...health.keys, held: status.keys },
    traffic: { connections: status.connections, pendingHints: status.pendingHints, ...rates }
  }
}

/** Outcomes of `p2pstore_requests_total` that are answers, not failures. */
const ANSWERED = new Set(['ok', 'not_found', 'notfound', 'not-found', 'siblings'])

/**
 * Requests served, summed by operation, from the `p2pstore_requests_total{op,outcome}` counters
 * of a Prometheus text exposition (plus `failed`: outcomes other than ok, not found, siblings).
 */
export function requestCounts (text: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^p2pstore_requests_total\{([^}]*)\}\s+(\S+)/.exec(line)
    if (match == null) continue
    const value = Number(match[2])
    if (!Number.isFinite(value)) continue
    const labels = new Map([...(match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(m => [m[1] ?? '', m[2] ?? '']))
    const op = labels.get('op') ?? 'other'
    counts.set(op, (counts.get(op) ?? 0) + value)
    if (!ANSWERED.has(labels.get('outcome') ?? 'ok')) counts.set('failed', (counts.get('failed') ?? 0) + value)
  }
  return counts
}

/**
 * Request rates between two scrapes of the daemon's `/metrics`. A daemon without it (404), or a
 * token that may not read it (403), is not asked again.
 */
class RequestRates {
  private previous?: { at: number, counts: Map<string, number> }
  private unavailable = false

  async sample (client: Client, options: AbortOptions): Promise<{ requestsPerSecond?: Record<string, number>, failedPerSecond?: number }> {
    if (this.unavailable || client.metrics == null) return {}
    let text: string | undefined
    try {
      text = await client.metrics(options)
    } catch (err) {
      const name = (err as Error).name
      if (name === 'NotFoundError' || name === 'ForbiddenError' || name === 'NotADaemonError') this.unavailable = true
      return {}
    }
    if (typeof text !== 'string') return {}
    const now = { at: Date.now(), counts: requestCounts(text) }
    const before = this.previous
    this.previous = now
    const seconds = before == null ? 0 : (now.at - before.at) / 1000
    if (before == null || seconds <= 0) return {}
    const rate = (name: string): number => Math.max(0, Math.round(10 * ((now.counts.get(name) ?? 0) - (before.counts.get(name) ?? 0)) / seconds) / 10)
    const ops = [...now.counts.keys()].filter(k => k !== 'failed').sort()
    return { requestsPerSecond: Object.fromEntries(ops.map(op => [op, rate(op)])), failedPerSecond: rate('failed') }
  }
}

/**
 * `status --watch`: asks the daemon every `interval` ms (polling `/v1/health`, `/v1/ring`,
 * `/v1/peers` and `/v1/status`) until Ctrl-C. While the daemon's event stream (`/v1/events`) is
 * live, an event asks again at once (but never sooner than `interval` after the last time) and
 * polling slows to STATUS_WATCH_EVENTS_INTERVAL. On a terminal it clears and redraws the view when
 * it changed; otherwise (a pipe, or `--json`) it prints one JSON line per change. A daemon that
 * stops answering shows as `unavailable` and is asked again. Ends with 0 on Ctrl-C (as `testnet`
 * does), 141 when stdout closes.
 */
async function watchCommand (ctx: CommandContext, interval: number): Promise<number> {
  const client = await ctx.client()
  const events = new WatchEvents(client, ctx.signal)
  const traffic = new RequestRates()
  let last: string | undefined
  let lastScreen: string | undefined
  try {
    while (!ctx.signal.aborted) {
      const started = Date.now()
      let snap: WatchSnapshot
      try {
        snap = await snapshot(client, traffic, { signal: ctx.signal })
      } catch (err) {
        if (ctx.signal.aborted) break
        const described = describeError(err)
        snap = { at: new Date().toISOString(), verdict: 'unavailable', reasons: [{ severity: 'unavailable', cause: described.message, effect: described.hint }], members: [], error: described.name }
      }
      if (ctx.out.interactive) {
        const screen = watchScreen(snap)
        if (screen !== lastScreen) {
          // home, clear to the end: one redraw without scrolling
          ctx.out.stdout(`\x1b[H\x1b[2J${screen}`)
          lastScreen = screen
        }
      } else {
        const sig = signature(snap)
        if (sig !== last) ctx.out.data(snap)
        last = sig
      }
      try {
        // at most one snapshot per interval; while events flow, the next one waits for an event
        await sleep(Math.max(0, started + interval - Date.now()), undefined, { signal: ctx.signal })
        if (events.live) await events.next(STATUS_WATCH_EVENTS_INTERVAL - interval)
      } catch {
        break
      }
    }
  } finally {
    events.close()
  }
  return 0
}

/**
 * The daemon's `/v1/events`, followed in the background while a watch runs: `live` while the
 * stream is open, `next()` resolves at the next event (or after `ms`). A daemon without the route
 * (404), or a stream that fails, leaves the watch polling.
 */
class WatchEvents {
  live = false
  private readonly controller = new AbortController()
  /** the watch's signal and `close()` */
  private readonly signal: AbortSignal
  private wake?: () => void
  private pending = false

  constructor (client: Client, signal: AbortSignal) {
    this.signal = AbortSignal.any([signal, this.controller.signal])
    const stream = client.events?.({ signal: this.signal })
    if (stream == null || typeof (stream as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function') return
    void (async () => {
      try {
        for await (const event of stream) this.onEvent(event)
      } catch {
        // no /v1/events (an older daemon), or the stream broke: polling goes on
      } finally {
        this.live = false
        this.wake?.()
      }
    })()
  }

  /** Any event (health, member, heartbeat) is a reason to look again. */
  private onEvent (_event: ServerEvent): void {
    this.live = true
    this.pending = true
    this.wake?.()
  }

  /** Resolves at the next event since the last call, or after `ms`; rejects when the watch stops. */
  async next (ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false
      return
    }
    const done = new AbortController()
    const signal = AbortSignal.any([this.signal, done.signal])
    try {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve
        sleep(ms, undefined, { signal }).then(() => { resolve() }, (err: unknown) => { if (done.signal.aborted) resolve(); else reject(err) })
      })
    } finally {
      done.abort()
      this.wake = undefined
      this.pending = false
    }
  }

  close (): void {
    this.controller.abort()
  }
}

/** The terminal view: verdict and reasons, key counts, traffic, the members table. */
export function watchScreen (snap: WatchSnapshot): string {
  const lines: string[] = []
  if (snap.error != null) {
    lines.push(`UNAVAILABLE: ${snap.reasons[0]?.cause ?? snap.error}`)
    lines.push(`  next: ${snap.reasons[0]?.effect ?? ''}`)
    lines.push('  (asking again every second; Ctrl-C stops)')
    return `${lines.join('\n')}\n`
  }
  lines.push(...verdictBlock({ verdict: snap.verdict, peerId: snap.peerId ?? '', reasons: snap.reasons, notes: snap.notes, derived: snap.derived }))
  if (snap.keys != null) lines.push(`keys     ${snap.keys.held} held here${snap.keys.primary == null ? '' : `; of those it is first live home replica of: ${snap.keys.primary}, ${snap.keys.underReplicated ?? 0} under-replicated, ${snap.keys.singleCopy ?? 0} single-copy`}`)
  if (snap.traffic != null) {
    const rates = snap.traffic.requestsPerSecond
    const requests = rates == null ? '' : `; requests/s: ${Object.entries(rates).map(([op, r]) => `${op} ${r.toFixed(1)}`).join(', ') || 'none'} (${(snap.traffic.failedPerSecond ?? 0).toFixed(1)} failed)`
    lines.push(`traffic  ${snap.traffic.connections} connections, ${snap.traffic.pendingHints} pending hints${requests}`)
  }
  lines.push('')
  const { header, cells } = memberTable(snap.members)
  lines.push(...columnLines(header, cells))
  lines.push(membersSummary(snap.members))
  lines.push('Ctrl-C stops')
  return `${lines.join('\n')}\n`
}

function joinedText (status: PeerStatus): string {
  if (status.joined) return 'yes'
  if (status.bootstrapPeers === 0) return 'not yet (no bootstrap peers configured: others join through this peer)'
  return `not yet (retrying ${status.bootstrapPeers} bootstrap peer(s); see the daemon's log)`
}

/** `3725` → `1h 2m 5s` */
export function formatDuration (seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return [h > 0 ? `${h}h` : '', h > 0 || m > 0 ? `${m}m` : '', `${s}s`].filter(Boolean).join(' ')
}
