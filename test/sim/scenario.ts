/**
 * One simulated run of the membership protocol: `peers` real membership cores on the simulated
 * network, in simulated time — a warm-up, then a measured window with tracked kills and joins,
 * background churn (restarts, some graceful, some crashes) and independent packet loss — and the
 * figures the issue asks for: how fast a death and a join reach 50 / 99 / 100 % of the live peers,
 * false deaths and suspicions, membership bytes per peer per second, and connections per peer.
 */

import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { peerKadId } from '../../src/routing/index.ts'
import { Network } from './network.ts'
import { Random } from './random.ts'
import { Scheduler } from './scheduler.ts'
import { quantile, summary } from './stats.ts'
import type { CoreFactory, GossipTiming, SimCore } from './core.ts'
import type { NetworkInit } from './network.ts'
import type { MemberState } from '../../src/membership/index.ts'
import type { MembershipMessage } from '../../src/protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

/** The simulated clock starts here (a real epoch: incarnations look like a daemon's). */
export const SIM_EPOCH = Date.UTC(2026, 0, 1)

/** A day in ms: the churn rate is restarts per peer per day. */
const DAY = 86_400_000

/** Parameters of one run. */
export interface ScenarioInit {
  /** peers at the start */
  peers: number
  seed: number
  gossip: GossipTiming
  network: NetworkInit
  /** simulated ms before measuring (the view settles, queues drain). @default 30_000 */
  warmup?: number
  /** simulated ms measured after the warm-up. @default 120_000 */
  duration?: number
  /** tracked kills (crashes) in the window. @default 2 */
  kills?: number
  /** tracked joins (new peers) in the window. @default 2 */
  joins?: number
  /** restarts per peer per day. @default 1 */
  churn?: number
  /** fraction of restarts that are crashes (the rest leave gracefully). @default 0.5 */
  churnCrash?: number
  /** how long a restarting peer stays down, ms. @default 10_000 */
  downtime?: number
  /** peers each one keeps connected whatever their use (its XOR neighbourhood). @default 6 */
  protectedPeers?: number
  /** how long a tracked event is followed, ms. @default 60_000 */
  follow?: number
  /** the membership core of each peer */
  createCore: CoreFactory
  /** progress lines for long runs */
  progress?(line: string): void
  /** called with the network once built (tests break it on purpose) */
  onNetwork?(network: Network): void
}

/** How fast one event reached the live peers, in simulated ms. */
export interface Propagation {
  kind: 'death' | 'join'
  /** kill → first peer declares it dead (deaths only) */
  detectedAfter?: number
  /** from when it was declared (deaths) or started (joins) to 50 / 99 / 100 % of live peers (undefined: not reached while followed) */
  p50?: number
  p99?: number
  p100?: number
  /** fraction of live peers reached by the end of the follow window */
  reached: number
  /** live peers it had to reach */
  peers: number
  /** a join only: from its start until the newcomer itself knew 99 % of the live peers */
  newcomerView99?: number
}

/** The figures of one run. */
export interface ScenarioResult {
  peers: number
  loss: number
  latency: { min: number, max: number }
  gossip: GossipTiming
  warmupMs: number
  measuredMs: number
  deaths: Propagation[]
  joins: Propagation[]
  /** distinct (member, incarnation) pairs of live peers declared dead somewhere, and in how many views */
  falseDeaths: { members: number, views: number }
  /** suspicions of live peers: distinct episodes, per peer-hour, and how fast they were refuted (ms) */
  suspicions: { episodes: number, perPeerHour: number, refuted: number, refuteP50?: number, refuteP99?: number, refuteMax?: number, unrefuted: number }
  /** membership bytes (real protobuf sizes) each peer sent per second in the window */
  bytesPerPeerPerSecond: { mean: number, p50: number, max: number }
  messagesPerPeerPerSecond: number
  /** the mean bytes per peer per second by message type */
  bytesByType: Record<string, number>
  connections: { max: number, p50: number, maxConnections: number, idleWindowMs: number, protectedPeers: number, newConnectionShare: number, pruned: number }
  churn: { restarts: number, crashes: number, leaves: number }
  network: { requests: number, lost: number, undeliverable: number }
  /** wall-clock figures: the whole run, the set-up (peer ids, cores, full views) within it */
  wallMs: number
  setupMs: number
  events: number
  /** events per wall-clock second after the set-up */
  eventsPerSecond: number
  heapMiB: number
  /** heap after the set-up per member record held (n²) */
  bytesPerRecord: number
}

interface Life {
  core: SimCore
  startedAt: number
  firstIncarnation: number
}

interface Slot {
  peerId: PeerId
  index: number
  random: Random
  life?: Life
  /** a tracked kill or join: churn leaves it alone */
  tracked: boolean
  restarting: boolean
}

interface Tracked {
  kind: 'death' | 'join'
  subject: number
  start: number
  /** joins: the newcomer's incarnation; views at or above it count */
  incarnation: number
  declaredAt?: number
  seen: Map<number, number>
  /** joins: when the newcomer learned each member */
  learned: Map<number, number>
}

interface Episode {
  start: number
  refutedAt?: number
}

/** Runs one scenario; see ScenarioInit. */
export async function runScenario (init: ScenarioInit): Promise<ScenarioResult> {
  const wallStart = performance.now()
  const random = new Random(init.seed)
  const scheduler = new Scheduler(SIM_EPOCH)
  const network = new Network(scheduler, random.fork(), init.network)
  init.onNetwork?.(network)
  const warmup = init.warmup ?? 30_000
  const duration = init.duration ?? 120_000
  const follow = init.follow ?? 60_000
  const kills = init.kills ?? 2
  const joins = init.joins ?? 2
  const churn = init.churn ?? 1
  const churnCrash = init.churnCrash ?? 0.5
  const downtime = init.downtime ?? 10_000
  const protectedPeers = init.protectedPeers ?? 6
  const progress = init.progress ?? (() => {})
  const probeInterval = init.gossip.probeInterval ?? 1_000

  const slots: Slot[] = []
  const byId = new Map<string, number>()
  const newSlot = async (): Promise<Slot> => {
    const slotRandom = random.fork()
    const key = await generateKeyPairFromSeed('Ed25519', slotRandom.bytes(32))
    const peerId = peerIdFromPrivateKey(key)
    const slot: Slot = { peerId, index: network.add(), random: slotRandom, tracked: false, restarting: false }
    slots.push(slot)
    byId.set(peerId.toString(), slot.index)
    return slot
  }
  for (let i = 0; i < init.peers; i++) await newSlot()
  progress(`${init.peers} peer ids made`)

  // ground truth and what the views say
  const tracked = new Map<number, Tracked>()
  const falseDeaths = new Set<string>()
  let falseDeathViews = 0
  const episodes = new Map<string, Episode>()
  const openEpisodes = new Map<number, Set<string>>()
  let measuring = false

  const onUpdate = (observer: number, member: PeerId, state: MemberState, incarnation: number): void => {
    const now = scheduler.now()
    const subject = byId.get(member.toString())
    if (subject == null) return
    const slot = slots[subject] as Slot
    const life = slot.life
    const t = tracked.get(subject)
    if (t != null) {
      if (t.kind === 'death' && (state === 'dead' || state === 'left')) {
        t.declaredAt ??= now
        if (!t.seen.has(observer)) t.seen.set(observer, now)
      } else if (t.kind === 'join' && state === 'alive' && incarnation >= t.incarnation && !t.seen.has(observer)) {
        t.seen.set(observer, now)
      }
    }
    const o = tracked.get(observer)
    if (o?.kind === 'join' && (state === 'alive' || state === 'suspect') && !o.learned.has(subject)) o.learned.set(subject, now)
    // a view about the member's current life (its incarnations start at firstIncarnation)
    const current = life != null && network.isUp(subject) && incarnation >= life.firstIncarnation
    if (!current) return
    if (state === 'dead' && measuring) {
      const key = `${subject}:${incarnation}`
      falseDeaths.add(key)
      falseDeathViews++
    } else if (state === 'suspect' && measuring) {
      const key = `${subject}:${incarnation}`
      if (!episodes.has(key)) {
        episodes.set(key, { start: now })
        let open = openEpisodes.get(subject)
        if (open == null) openEpisodes.set(subject, open = new Set())
        open.add(key)
      }
    } else if (state === 'alive') {
      const open = openEpisodes.get(subject)
      if (open != null) {
        for (const key of open) {
          const e = episodes.get(key) as Episode
          if (Number(key.slice(key.indexOf(':') + 1)) < incarnation) {
            e.refutedAt = now
            open.delete(key)
          }
        }
      }
    }
  }

  const startLife = async (slot: Slot): Promise<Life> => {
    const core = init.createCore({
      peerId: slot.peerId,
      scheduler,
      random: () => slot.random.next(),
      request: async (to: PeerId, message: MembershipMessage, timeout: number, signal?: AbortSignal, onSent?: (bytes: number) => void) => {
        const target = byId.get(to.toString())
        if (target == null) throw new RangeError(`the simulated network has no peer ${to.toString()}`)
        return network.request(slot.index, target, message, timeout, signal, onSent)
      },
      isConnected: (peer: PeerId) => {
        const other = byId.get(peer.toString())
        return other != null && network.isConnected(slot.index, other)
      },
      gossip: init.gossip
    })
    core.onUpdate((member, state, incarnation) => { onUpdate(slot.index, member, state, incarnation) })
    network.up(slot.index, {
      handle: async (from, message, bytes) => core.handle((slots[from] as Slot).peerId, message, bytes),
      sent: (reply, bytes) => { core.sent(reply, bytes) }
    })
    await core.start()
    const life: Life = { core, startedAt: scheduler.now(), firstIncarnation: core.incarnation }
    slot.life = life
    // a restarted observer learns everything anew
    for (const t of tracked.values()) t.seen.delete(slot.index)
    return life
  }

  const upSlots = (): Slot[] => slots.filter(s => s.life != null && network.isUp(s.index))
  const randomUp = (except: number): Slot | undefined => {
    const up = upSlots().filter(s => s.index !== except && !s.restarting)
    return up[random.int(up.length)]
  }

  // the initial network: every peer started at a random point of the first protocol period,
  // knowing the whole group (as after a long-settled bootstrap) through the second half of a
  // push-pull (`sync-push`, records merged as push-pull records: no news to gossip), which unlike
  // a join's `sync` does not build a full-state reply for each of the n peers
  const seedUpdates: MembershipMessage['updates'] = []
  const starting: Array<Promise<void>> = []
  for (const slot of slots) {
    starting.push(new Promise<void>((resolve, reject) => {
      scheduler.setTimeout(() => { startLife(slot).then(() => { resolve() }, reject) }, random.uniform(0, probeInterval))
    }))
  }
  await scheduler.run(SIM_EPOCH + probeInterval)
  await Promise.all(starting)
  for (const slot of slots) seedUpdates.push({ peerId: slot.peerId, state: 'alive', incarnation: (slot.life as Life).core.incarnation, addrs: [] })
  for (const slot of slots) {
    const life = slot.life as Life
    const others = slots[(slot.index + 1) % slots.length] as Slot
    await life.core.handle(others.peerId, { type: 'sync-push', updates: seedUpdates }, 0)
  }
  const setupMs = performance.now() - wallStart
  const eventsAtSetup = scheduler.events
  const heapAfterSetup = process.memoryUsage().heapUsed
  progress(`${init.peers} cores started, each with the full view (${(setupMs / 1000).toFixed(1)} s, heap ${Math.round(heapAfterSetup / 2 ** 20)} MiB)`)
  protect(slots, network, protectedPeers)

  // background churn: a Poisson process of restarts, `churn` per peer per day
  const counts = { restarts: 0, crashes: 0, leaves: 0 }
  const rate = churn * init.peers / DAY
  const restart = async (slot: Slot): Promise<void> => {
    const life = slot.life
    if (life == null) return
    slot.restarting = true
    counts.restarts++
    if (random.next() < churnCrash) {
      counts.crashes++
      network.down(slot.index)
      await life.core.stop(false)
    } else {
      counts.leaves++
      await life.core.stop(true)
      network.down(slot.index)
    }
    await new Promise<void>(resolve => { scheduler.setTimeout(resolve, downtime) })
    const next = await startLife(slot)
    const seed = randomUp(slot.index)
    slot.restarting = false
    if (seed != null) await next.core.join([seed.peerId]).catch(() => 0)
  }
  const background: Array<Promise<void>> = []
  if (rate > 0) {
    const tick = (): void => {
      const candidates = upSlots().filter(s => !s.tracked && !s.restarting)
      const pick = candidates[random.int(candidates.length)]
      if (pick != null) background.push(restart(pick))
      scheduler.setTimeout(tick, random.exponential(1 / rate))
    }
    scheduler.setTimeout(tick, random.exponential(1 / rate))
  }

  const end = SIM_EPOCH + probeInterval + warmup + duration
  const onProgress = (now: number): void => {
    const wall = (performance.now() - wallStart) / 1000
    progress(`simulated ${((now - SIM_EPOCH) / 1000).toFixed(0)} s of ${((end - SIM_EPOCH) / 1000).toFixed(0)} s; ${scheduler.events} events, ${((scheduler.events - eventsAtSetup) / (wall - setupMs / 1000)).toFixed(0)} events/s, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`)
  }
  await scheduler.run(SIM_EPOCH + probeInterval + warmup, { onProgress })

  // the measured window
  measuring = true
  const windowStart = scheduler.now()
  const trafficAtStart = slots.map(s => ({ ...network.traffic(s.index) }))
  const countersAtStart = { ...network.counters, bytesByType: { ...network.counters.bytesByType } }
  const connectionSamples: number[][] = []
  const sample = (): void => {
    connectionSamples.push(network.connectionCounts())
    if (scheduler.now() + 10_000 < end) scheduler.setTimeout(sample, 10_000)
  }
  scheduler.setTimeout(sample, 10_000)

  const events = kills + joins
  const spacing = Math.max(1, duration - follow) / Math.max(1, events)
  const trackedOrder: Tracked[] = []
  for (let e = 0; e < events; e++) {
    const kind: 'death' | 'join' = e % 2 === 0 ? (kills > e / 2 ? 'death' : 'join') : (joins > (e - 1) / 2 ? 'join' : 'death')
    scheduler.setTimeout(() => {
      if (kind === 'death') {
        const victim = randomUp(-1)
        if (victim == null) return
        victim.tracked = true
        const t: Tracked = { kind, subject: victim.index, start: scheduler.now(), incarnation: 0, seen: new Map(), learned: new Map() }
        tracked.set(victim.index, t)
        trackedOrder.push(t)
        network.down(victim.index)
        background.push((victim.life as Life).core.stop(false))
      } else {
        background.push((async () => {
          const slot = await newSlot()
          slot.tracked = true
          const t: Tracked = { kind, subject: slot.index, start: scheduler.now(), incarnation: Infinity, seen: new Map(), learned: new Map() }
          tracked.set(slot.index, t)
          trackedOrder.push(t)
          const life = await startLife(slot)
          t.incarnation = life.core.incarnation
          protect([slot], network, protectedPeers, slots)
          const seed = randomUp(slot.index)
          if (seed != null) await life.core.join([seed.peerId]).catch(() => 0)
        })())
      }
    }, spacing * (e + 0.5))
  }
  await scheduler.run(end, { onProgress })
  const windowMs = scheduler.now() - windowStart

  // the figures
  const liveAtEnd = upSlots()
  const propagation = (t: Tracked): Propagation => {
    // the peers that were up throughout: one that restarted meanwhile learns it with its join
    const observers = liveAtEnd.filter(s => s.index !== t.subject && (s.life as Life).startedAt <= t.start)
    const from = t.kind === 'death' ? t.declaredAt : t.start
    const times = observers.map(s => t.seen.get(s.index)).filter((x): x is number => x != null).map(x => x - (from ?? t.start)).sort((a, b) => a - b)
    const at = (q: number): number | undefined => {
      const needed = Math.max(1, Math.ceil(q * observers.length))
      return times.length >= needed ? times[needed - 1] : undefined
    }
    const result: Propagation = {
      kind: t.kind,
      p50: from == null ? undefined : at(0.5),
      p99: from == null ? undefined : at(0.99),
      p100: from == null ? undefined : at(1),
      reached: observers.length === 0 ? 0 : times.length / observers.length,
      peers: observers.length
    }
    if (t.kind === 'death') result.detectedAfter = t.declaredAt == null ? undefined : t.declaredAt - t.start
    else {
      const learned = [...t.learned.values()].map(x => x - t.start).sort((a, b) => a - b)
      const needed = Math.ceil(0.99 * observers.length)
      result.newcomerView99 = learned.length >= needed ? learned[needed - 1] : undefined
    }
    return result
  }

  const bytes = liveAtEnd.filter(s => trafficAtStart[s.index] != null).map(s => {
    const before = trafficAtStart[s.index] as { bytesSent: number }
    return (network.traffic(s.index).bytesSent - before.bytesSent) / (windowMs / 1000)
  })
  const messages = liveAtEnd.filter(s => trafficAtStart[s.index] != null).map(s => {
    const before = trafficAtStart[s.index] as { messagesSent: number }
    return (network.traffic(s.index).messagesSent - before.messagesSent) / (windowMs / 1000)
  })
  const refuteTimes = [...episodes.values()].filter(e => e.refutedAt != null).map(e => (e.refutedAt as number) - e.start)
  const conn = connectionSamples.length > 0 ? connectionSamples : [network.connectionCounts()]
  const requests = network.counters.requests - countersAtStart.requests
  const b = summary(bytes)
  const wallMs = performance.now() - wallStart
  const result: ScenarioResult = {
    peers: init.peers,
    loss: network.loss,
    latency: network.latency,
    gossip: init.gossip,
    warmupMs: warmup,
    measuredMs: windowMs,
    deaths: trackedOrder.filter(t => t.kind === 'death').map(propagation),
    joins: trackedOrder.filter(t => t.kind === 'join').map(propagation),
    falseDeaths: { members: falseDeaths.size, views: falseDeathViews },
    suspicions: {
      episodes: episodes.size,
      perPeerHour: episodes.size / (init.peers * windowMs / 3_600_000),
      refuted: refuteTimes.length,
      refuteP50: quantile(refuteTimes, 0.5),
      refuteP99: quantile(refuteTimes, 0.99),
      refuteMax: quantile(refuteTimes, 1),
      unrefuted: episodes.size - refuteTimes.length
    },
    bytesPerPeerPerSecond: { mean: b.mean, p50: b.p50, max: b.max },
    messagesPerPeerPerSecond: summary(messages).mean,
    bytesByType: Object.fromEntries(Object.entries(network.counters.bytesByType).map(([type, total]) => {
      const before = countersAtStart.bytesByType[type as MembershipMessage['type']] ?? 0
      return [type, ((total ?? 0) - before) / (liveAtEnd.length * windowMs / 1000)]
    })),
    connections: {
      max: Math.max(...conn.map(c => summary(c).max)),
      p50: quantile(conn.map(c => summary(c).p50), 0.5) ?? 0,
      maxConnections: network.maxConnections,
      idleWindowMs: network.idleWindow,
      protectedPeers,
      newConnectionShare: requests === 0 ? 0 : (network.counters.newConnections - countersAtStart.newConnections) / requests,
      pruned: network.counters.pruned - countersAtStart.pruned
    },
    churn: counts,
    network: { requests, lost: network.counters.lost - countersAtStart.lost, undeliverable: network.counters.undeliverable - countersAtStart.undeliverable },
    wallMs,
    setupMs,
    events: scheduler.events,
    eventsPerSecond: (scheduler.events - eventsAtSetup) / ((wallMs - setupMs) / 1000),
    heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
    bytesPerRecord: heapAfterSetup / (init.peers * init.peers)
  }

  // stop every core (timers cleared; nothing is sent) so that nothing outlives the run
  for (const slot of upSlots()) {
    network.down(slot.index)
    await slot.life?.core.stop(false).catch(() => {})
  }
  void Promise.allSettled(background)
  // let the next run have the heap: nothing of this one is needed any more
  slots.length = 0
  tracked.clear()
  episodes.clear()
  return result
}

/**
 * Each of `who` protects its neighbourhood: the `count` members whose kad ids are nearest its own
 * (by the first 48 bits of the kad id, on a sorted ring: the XOR neighbourhood up to trie
 * boundaries, and O(n log n) to compute).
 */
function protect (who: Slot[], network: Network, count: number, all: Slot[] = who): void {
  if (count <= 0) return
  const ring = all.map(s => ({ index: s.index, prefix: prefix48(s.peerId) })).sort((a, b) => a.prefix - b.prefix)
  const at = new Map(ring.map((x, i) => [x.index, i]))
  for (const slot of who) {
    const me = prefix48(slot.peerId)
    const i = at.get(slot.index) ?? 0
    const window: Array<{ index: number, d: number }> = []
    for (let k = -count; k <= count; k++) {
      if (k === 0 || ring.length < 2) continue
      const x = ring[(((i + k) % ring.length) + ring.length) % ring.length] as { index: number, prefix: number }
      if (x.index === slot.index || window.some(w => w.index === x.index)) continue
      window.push({ index: x.index, d: Math.min(Math.abs(x.prefix - me), 2 ** 48 - Math.abs(x.prefix - me)) })
    }
    network.protect(slot.index, window.sort((a, b) => a.d - b.d).slice(0, count).map(w => w.index))
  }
}

const kadPrefix = new WeakMap<PeerId, number>()

/** the first 48 bits of the peer's kad id (sha256 of its multihash), as a number */
function prefix48 (peerId: PeerId): number {
  const hit = kadPrefix.get(peerId)
  if (hit != null) return hit
  const digest = peerKadId(peerId)
  let v = 0
  for (let i = 0; i < 6; i++) v = v * 256 + (digest[i] ?? 0)
  kadPrefix.set(peerId, v)
  return v
}
