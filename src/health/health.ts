import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { TypedEventEmitter } from 'main-event'
import { DEFAULT_N, DEFAULT_R, DEFAULT_W } from '../constants.ts'
import { shortPeerId } from '../util/index.ts'
import { ago, verdictOf } from './report.ts'
import type { HealthNote, HealthReason, HealthReport, MemberEvent, Rereplication, SafetyCounts, Severity } from './report.ts'
import type { MemberRecord, MembershipEvents } from '../membership/index.ts'
import type { Placement } from '../routing/index.ts'
import type { Engine } from '../storage/index.ts'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** What health reads: the member view, placement and the local store's keys. */
export interface HealthComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Pick<Engine, 'entries' | 'onChange'>
  placement: Pick<Placement, 'fromView'>
  membership: TypedEventTarget<MembershipEvents> & {
    members(): MemberRecord[]
    readonly version: number
    readonly incarnation: number
  }
}

/** Options of health. */
export interface HealthInit {
  /** replicas per key. @default DEFAULT_N (3) */
  n?: number
  /** read quorum. @default DEFAULT_R (2) */
  r?: number
  /** write quorum. @default DEFAULT_W (2) */
  w?: number
  /** whether this peer can serve requests at all. @default () => true */
  serving?: () => boolean
  /** after a change, evaluate this much later (changes arriving meanwhile share the evaluation). @default 200 */
  settle?: number
}

/** Events of health. */
export interface HealthEvents {
  /** the report changed (evaluated only while someone listens, or re-replication is pending) */
  'health:change': CustomEvent<HealthReport>
  /** a member changed state */
  'health:member': CustomEvent<MemberEvent>
  /** a dead member's keys (those this peer is the first live home replica of) have N confirmed copies again */
  'health:rereplication': CustomEvent<{ peerId: string, seconds: number, keys: number }>
  /** this peer declared a member dead this long after it last heard from it */
  'health:detection': CustomEvent<{ peerId: string, seconds: number }>
}

/**
 * What the metrics registry reads (issue #18's contract): the four safety gauges, and the two
 * histograms fed by `health:rereplication` and `health:detection` events.
 */
export interface SafetySource {
  safety(): SafetyCounts
}

/** One local key: its home replicas in the view it was last placed with, and since when each is one. */
interface KeyEntry {
  key: Uint8Array
  homes: string[]
  /** per home: when it became one (0: it was one when the key was first seen here, trusted) */
  since: number[]
}

/** A member that died or left, whose keys are being re-replicated. */
interface Loss {
  peerId: string
  state: 'dead' | 'left'
  at: number
  /** the view has not been re-placed since: the keys it was a home replica of are collected then */
  collecting: boolean
  keys: Set<string>
  affected: number
}

/** Counts from the last per-key pass, with what reasons are made of. */
interface Tally extends SafetyCounts {
  primary: number
  /** cause id → how many of its keys have how many confirmed copies, with samples */
  causes: Map<string, { copies: Map<number, number>, keys: string[], severity: Severity, live: number }>
}

const MAX_SAMPLES = 20
const MAX_EVENTS = 50
const utf8 = new TextDecoder('utf-8', { fatal: false })

/**
 * Replication safety and the health verdict of one peer (issue #18). Over the keys this peer is
 * the first live home replica of — so that a sum over peers counts each key once — it counts keys
 * under-replicated (fewer than N confirmed copies among their live home replicas), write- and
 * read-unavailable (fewer than W or R live home replicas) and down to a single copy.
 *
 * A copy is *confirmed* by evidence: a home replica the key had when this peer first saw it is
 * trusted (the write path sent it there; before any membership change every alive home replica
 * counts), and one that became a home replica through a view change counts once an anti-entropy
 * round with it that began after the change transferred every differing key (`roundDone`).
 *
 * Cheap by construction: the local keys are held in memory (one scan at start, then the engine's
 * change listener), a key is re-placed only when the view changed, and the per-key pass runs only
 * when something changed and somebody asks — a request, an events subscriber, or a pending
 * re-replication whose end is being timed. Nothing runs while the network is idle. A pass over a
 * large store runs at most every ten times its own cost (100 000 keys: ~0.4 s on a loaded 2-core
 * machine, so at most one every 4 s; a cached answer takes ~13 µs).
 */
export class Health extends TypedEventEmitter<HealthEvents> implements Startable, SafetySource {
  private readonly components: HealthComponents
  private readonly log: Logger
  private readonly self: string
  private readonly n: number
  private readonly r: number
  private readonly w: number
  private readonly serving: () => boolean
  private readonly settle: number
  private readonly entries = new Map<string, KeyEntry>()
  private readonly confirmedAt = new Map<string, number>()
  private readonly losses = new Map<string, Loss>()
  private readonly repaired: Array<{ peerId: string, seconds: number, keys: number }> = []
  private readonly events: MemberEvent[] = []
  private placedVersion = -1
  private changeAt = 0
  /** bumped by every input: a cached tally is good while it is unchanged */
  private inputs = 0
  private tally?: { inputs: number, value: Tally, at: number, ms: number }
  private episode?: { startedAt: number, total: number }
  private digest?: { version: number, incarnation: number, value: Uint8Array, changedAt: number }
  private lastReport?: string
  private timer?: ReturnType<typeof setTimeout>
  private unsubscribe?: () => void
  private loading?: Promise<void>
  private running = false

  private readonly onMember = (evt: CustomEvent<{ record: MemberRecord, previous?: MemberRecord['state'] }>): void => {
    const { record, previous } = evt.detail
    const now = Date.now()
    const id = record.peerId.toString()
    this.changeAt = now
    const event: MemberEvent = { peerId: id, state: record.state, previous, at: new Date(now).toISOString() }
    this.events.push(event)
    if (this.events.length > MAX_EVENTS) this.events.shift()
    if (record.state === 'dead' || record.state === 'left') {
      if (record.state === 'dead' && (previous === 'alive' || previous === 'suspect') && record.lastHeard > 0) {
        this.safeDispatchEvent('health:detection', { detail: { peerId: id, seconds: (now - record.lastHeard) / 1000 } })
      }
      if (!this.losses.has(id)) this.losses.set(id, { peerId: id, state: record.state, at: now, collecting: true, keys: new Set(), affected: 0 })
    } else if (record.state === 'alive') {
      // it came back: whatever it held is placed again, nothing to time
      this.losses.delete(id)
    }
    this.changed()
    this.safeDispatchEvent('health:member', { detail: event })
  }

  constructor (components: HealthComponents, init: HealthInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('p2pstore:health')
    this.self = components.peerId.toString()
    this.n = init.n ?? DEFAULT_N
    this.r = init.r ?? DEFAULT_R
    this.w = init.w ?? DEFAULT_W
    this.serving = init.serving ?? (() => true)
    this.settle = init.settle ?? 200
  }

  /** Follows the store and the member view; indexes the local keys with one scan. */
  start (): void {
    if (this.running) return
    this.running = true
    // subscribe before the scan: a change during the scan wins over what the scan read
    const touched = new Set<string>()
    let scanning = true
    this.unsubscribe = this.components.engine.onChange((key, record) => {
      const id = hex(key)
      if (scanning) touched.add(id)
      this.track(id, key, record != null)
      this.changed()
    })
    this.components.membership.addEventListener('member:update', this.onMember)
    this.loading = (async () => {
      for await (const { key } of this.components.engine.entries()) {
        const id = hex(key)
        if (!touched.has(id)) this.track(id, key, true)
      }
      this.changed()
    })().finally(() => {
      scanning = false
      touched.clear()
    })
    this.loading.catch(err => { this.log.error('indexing the store for health failed - %e', err) })
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.components.membership.removeEventListener('member:update', this.onMember)
    clearTimeout(this.timer)
    this.timer = undefined
    // its failure was logged in start()
    await this.loading?.catch(() => {})
  }

  /**
   * Anti-entropy's hook: a round with `peer` that began at `startedAt` ran to its end; with
   * `complete`, every key the two share was transferred, so its copies there count as confirmed
   * for every view change before `startedAt`.
   */
  roundDone (peer: string, startedAt: number, complete: boolean): void {
    if (!complete) return
    if ((this.confirmedAt.get(peer) ?? -1) >= startedAt) return
    this.confirmedAt.set(peer, startedAt)
    this.changed()
  }

  /** The safety counts for `/metrics` (refreshed if anything changed since the last pass). */
  safety (): SafetyCounts {
    const { underReplicated, writeUnavailable, readUnavailable, singleCopy } = this.count(Date.now())
    return { underReplicated, writeUnavailable, readUnavailable, singleCopy }
  }

  /** The recent membership transitions, oldest first (for the page's timeline). */
  recentEvents (): MemberEvent[] {
    return [...this.events]
  }

  /**
   * A digest of this peer's member view: the ids, states and incarnations of every member, itself
   * included, sorted and hashed (8 bytes of sha256). Announced with this peer's alive updates, so
   * that each peer can tell whether the others see what it sees.
   */
  viewDigest (): Uint8Array {
    const { membership } = this.components
    const cached = this.digest
    if (cached?.version === membership.version && cached.incarnation === membership.incarnation) return cached.value
    const lines = [`${this.self}:alive:${membership.incarnation}`, ...membership.members().map(m => `${m.peerId.toString()}:${m.state}:${m.incarnation}`)].sort()
    const value = createHash('sha256').update(lines.join('\n')).digest().subarray(0, 8)
    const changedAt = cached != null && Buffer.compare(cached.value, value) === 0 ? cached.changedAt : Date.now()
    this.digest = { version: membership.version, incarnation: membership.incarnation, value, changedAt }
    return value
  }

  /** The health report (`GET /v1/health`): a per-key pass only if something changed since the last. */
  report (): HealthReport {
    const now = Date.now()
    const serving = this.serving()
    const tally = this.count(now)
    const members = this.components.membership.members()
    const count = (state: string): number => members.filter(m => m.state === state).length
    const reasons: HealthReason[] = []
    const notes: HealthNote[] = []
    const rereplication = this.rereplication(now, tally.underReplicated)

    if (!serving) reasons.push({ severity: 'unavailable', cause: 'this peer is not running', effect: 'it serves no requests', peers: [this.self], keys: [] })
    for (const [cause, c] of tally.causes) {
      const record = members.find(m => m.peerId.toString() === cause)
      const parts = [...c.copies.entries()].sort((a, b) => b[0] - a[0]).map(([copies, keys]) => `${keys} ${plural(keys, 'key')} ${keys === 1 ? 'has' : 'have'} ${copies} of ${this.n} copies`)
      let effect = parts.join(', ')
      if (c.live < this.w || c.live < this.r) effect += `; only ${c.live} live home ${plural(c.live, 'replica')}: ${c.live < this.w ? 'writes' : 'reads'} cannot reach quorum`
      if (rereplication != null && record?.state !== 'suspect') {
        effect += `; re-replication ${Math.floor(rereplication.progress * 100)} %${rereplication.etaSeconds == null ? '' : `, ETA ${Math.ceil(rereplication.etaSeconds)} s`}`
      }
      reasons.push({ severity: c.severity, cause: this.describeCause(cause, record, now), effect, peers: record == null ? [] : [cause], keys: c.keys })
    }
    // members in trouble whose keys are not (or no longer) this peer's concern
    for (const m of members) {
      const id = m.peerId.toString()
      if (tally.causes.has(id)) continue
      if (m.state === 'suspect') {
        reasons.push({ severity: 'degraded', cause: `peer ${shortPeerId(id)} suspect ${ago(now - m.stateSince)}`, effect: 'it is probed; none of the keys this peer is first replica of lack a copy because of it', peers: [id], keys: [] })
      } else if (m.state === 'dead') {
        const loss = this.losses.get(id)
        const repair = this.repaired.find(r => r.peerId === id)
        if (loss != null && (loss.collecting || loss.keys.size > 0)) {
          reasons.push({ severity: 'degraded', cause: `peer ${shortPeerId(id)} dead ${ago(now - m.stateSince)}`, effect: 'its keys are being placed on the next replicas', peers: [id], keys: [] })
        } else {
          notes.push({
            cause: `peer ${shortPeerId(id)} dead ${ago(now - m.stateSince)}`,
            effect: repair == null
              ? 'no key this peer is first replica of lacks a copy because of it'
              : `its ${repair.keys} ${plural(repair.keys, 'key')} here had ${this.n} copies again after ${repair.seconds.toFixed(1)} s`,
            peers: [id]
          })
        }
      }
    }
    const view = this.viewAgreement(members)
    if (view.disagreeing > 0) {
      notes.push({ cause: `${view.disagreeing} ${plural(view.disagreeing, 'peer')} announced another member view`, effect: 'views converge through gossip within a few push-pull rounds; a lasting difference is a split view', peers: view.disagreeingPeers })
    }
    const report: HealthReport = {
      verdict: verdictOf(serving, reasons),
      peerId: this.self,
      serving,
      checkedAt: new Date(now).toISOString(),
      members: { alive: count('alive') + 1, suspect: count('suspect'), dead: count('dead'), left: count('left'), total: members.length + 1 },
      view,
      keys: { primary: tally.primary, underReplicated: tally.underReplicated, writeUnavailable: tally.writeUnavailable, readUnavailable: tally.readUnavailable, singleCopy: tally.singleCopy },
      rereplication,
      reasons,
      notes,
      replication: { n: this.n, r: this.r, w: this.w }
    }
    // no quorum for any key this peer answers for: it cannot serve them
    if (serving && tally.primary > 0 && tally.readUnavailable === tally.primary && tally.writeUnavailable === tally.primary) report.verdict = 'unavailable'
    return report
  }

  private describeCause (cause: string, record: MemberRecord | undefined, now: number): string {
    if (record != null) return `peer ${shortPeerId(cause)} ${record.state} ${ago(now - record.stateSince)}`
    if (cause === 'view') return `the member view changed ${ago(now - this.changeAt)} ago`
    return `too few members for ${this.n} copies`
  }

  private viewAgreement (members: MemberRecord[]): HealthReport['view'] {
    const mine = this.viewDigest()
    const since = this.digest?.changedAt ?? 0
    let agreeing = 0
    let unknown = 0
    const disagreeingPeers: string[] = []
    for (const m of members) {
      if (m.state !== 'alive' && m.state !== 'suspect') continue
      if (m.viewDigest == null) unknown++
      else if (Buffer.compare(m.viewDigest.digest, mine) === 0) agreeing++
      // announced before our own view last changed: it says nothing about the view we hold now
      else if (m.viewDigest.at < since) unknown++
      else disagreeingPeers.push(m.peerId.toString())
    }
    return { digest: Buffer.from(mine).toString('hex'), agreeing, disagreeing: disagreeingPeers.length, unknown, disagreeingPeers }
  }

  private rereplication (now: number, under: number): Rereplication | null {
    if (under === 0) {
      this.episode = undefined
      return null
    }
    this.episode ??= { startedAt: now, total: under }
    this.episode.total = Math.max(this.episode.total, under)
    const { startedAt, total } = this.episode
    const done = total - under
    const seconds = (now - startedAt) / 1000
    const rate = seconds > 0 ? done / seconds : 0
    return { active: true, done, total, progress: total === 0 ? 0 : done / total, rate, etaSeconds: rate > 0 ? under / rate : null }
  }

  /** Something changed: the next ask re-counts; with listeners or a re-replication being timed, evaluate soon. */
  private changed (): void {
    this.inputs++
    if (!this.running || this.timer != null) return
    if (this.listenerCount('health:change') === 0 && this.losses.size === 0) return
    const wait = Math.max(this.settle, 10 * (this.tally?.ms ?? 0))
    this.timer = setTimeout(() => {
      this.timer = undefined
      try {
        const report = this.report()
        const { checkedAt, ...rest } = report
        const text = JSON.stringify(rest)
        if (text !== this.lastReport) {
          this.lastReport = text
          this.safeDispatchEvent('health:change', { detail: report })
        }
      } catch (err) {
        this.log.error('evaluating health failed - %e', err)
      }
    }, wait)
    this.timer.unref()
  }

  /** The per-key pass, or the cached one while no input changed. */
  private count (now: number): Tally {
    const last = this.tally
    if (last?.inputs === this.inputs) return last.value
    // a pass over a large store (tens of ms and up) runs at most every ten times its own cost, so
    // that a stream of changes (re-replication, churn) cannot keep the event loop busy with it
    if (last != null && last.ms >= 20 && now - last.at < 10 * last.ms) return last.value
    const inputs = this.inputs
    const begin = performance.now()
    const states = new Map<string, string>([[this.self, 'alive']])
    for (const m of this.components.membership.members()) states.set(m.peerId.toString(), m.state)
    this.place(states)
    const tally: Tally = { primary: 0, underReplicated: 0, writeUnavailable: 0, readUnavailable: 0, singleCopy: 0, causes: new Map() }
    const short = new Set<string>()
    for (const [id, entry] of this.entries) {
      const first = entry.homes.find(h => states.get(h) === 'alive')
      if (first !== this.self) continue
      tally.primary++
      let live = 0
      let confirmed = 0
      let unconfirmed: string | undefined
      let missing: string | undefined
      entry.homes.forEach((home, i) => {
        if (states.get(home) !== 'alive') {
          missing ??= home
          return
        }
        live++
        const since = entry.since[i] ?? 0
        if (home === this.self || since === 0 || (this.confirmedAt.get(home) ?? -1) >= since) confirmed++
        else unconfirmed ??= home
      })
      if (live < this.w) tally.writeUnavailable++
      if (live < this.r) tally.readUnavailable++
      if (confirmed <= 1) tally.singleCopy++
      if (confirmed >= this.n) continue
      tally.underReplicated++
      short.add(id)
      // cause first: the loss that moved the key, else a member in doubt, else the view change
      let cause: string | undefined
      for (const loss of this.losses.values()) if (loss.keys.has(id)) { cause = loss.peerId; break }
      cause ??= missing ?? (unconfirmed != null ? 'view' : 'members')
      let c = tally.causes.get(cause)
      if (c == null) {
        c = { copies: new Map(), keys: [], severity: 'degraded', live }
        tally.causes.set(cause, c)
      }
      c.copies.set(confirmed, (c.copies.get(confirmed) ?? 0) + 1)
      c.live = Math.min(c.live, live)
      if (c.keys.length < MAX_SAMPLES) c.keys.push(utf8.decode(entry.key))
      if (confirmed <= 1 || live < this.w || live < this.r) c.severity = 'at-risk'
    }
    // a loss is repaired when none of its keys this peer answers for is short of copies
    for (const loss of this.losses.values()) {
      if (loss.collecting) continue
      for (const id of loss.keys) if (!short.has(id)) loss.keys.delete(id)
      if (loss.keys.size > 0) continue
      this.losses.delete(loss.peerId)
      if (loss.affected === 0 || loss.state !== 'dead') continue
      const seconds = (now - loss.at) / 1000
      this.repaired.unshift({ peerId: loss.peerId, seconds, keys: loss.affected })
      this.repaired.length = Math.min(this.repaired.length, MAX_EVENTS)
      this.log('the %d keys of dead %s here have %d copies again after %d s', loss.affected, loss.peerId, this.n, seconds)
      this.safeDispatchEvent('health:rereplication', { detail: { peerId: loss.peerId, seconds, keys: loss.affected } })
    }
    this.tally = { inputs, value: tally, at: now, ms: performance.now() - begin }
    return tally
  }

  /** Brings the key index up to the store and the view: new keys placed, every key re-placed after a view change. */
  private place (states: Map<string, string>): void {
    const version = this.components.membership.version
    if (version !== this.placedVersion) {
      this.placedVersion = version
      const collecting = [...this.losses.values()].filter(l => l.collecting)
      for (const [id, entry] of this.entries) {
        const homes = this.homesOf(entry.key)
        const since = homes.map(h => {
          const i = entry.homes.indexOf(h)
          return i >= 0 ? entry.since[i] ?? 0 : this.changeAt
        })
        for (const loss of collecting) {
          if (entry.homes.includes(loss.peerId) && !homes.includes(loss.peerId) && homes.find(h => states.get(h) === 'alive') === this.self) loss.keys.add(id)
        }
        entry.homes = homes
        entry.since = since
      }
      for (const loss of collecting) {
        loss.collecting = false
        loss.affected = loss.keys.size
      }
    }
  }

  /**
   * A key appeared or went away. A new key is placed at once, in the view it was written under
   * (one lookup in placement's cached table, as the write itself made): its home replicas then are
   * trusted, and only those a later view change brings need evidence.
   */
  private track (id: string, key: Uint8Array, present: boolean): void {
    if (!present) {
      this.entries.delete(id)
      return
    }
    if (this.entries.has(id)) return
    const homes = this.homesOf(key)
    this.entries.set(id, { key, homes, since: homes.map(() => 0) })
  }

  private homesOf (key: Uint8Array): string[] {
    return this.components.placement.fromView(key, this.n).map(p => p.peerId.toString())
  }
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function plural (count: number, word: string): string {
  return count === 1 ? word : `${word}s`
}
