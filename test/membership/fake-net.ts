/**
 * A fake clock and an in-memory transport for unit tests of SwimCore: simulated time that moves
 * only when a test advances it, and requests delivered to the target core's `handle()` after a
 * simulated latency, encoded and decoded on the way (so the wire codec sees every message). Unit
 * tests only: distributed behaviour is tested on real libp2p peers.
 */
import { TimeoutError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { SwimCore } from '../../src/membership/index.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../../src/protocol/index.ts'
import { peerIds } from '../utils/replication.ts'
import type { SwimClock, SwimCoreComponents, SwimCoreInit, SwimTimer } from '../../src/membership/index.ts'
import type { MembershipMessage } from '../../src/protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

interface Pending {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/** Simulated time: timers fire only inside `advance()`, in time order. */
export class FakeClock implements SwimClock {
  private time = 1_000_000
  private seq = 0
  private readonly timers: Pending[] = []

  now (): number {
    return this.time
  }

  setTimeout (fn: () => void, ms: number): SwimTimer {
    const timer: Pending = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.timers.push(timer)
    return { cancel: () => { timer.cancelled = true } }
  }

  /** resolves `ms` of simulated time from now */
  async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => { this.setTimeout(resolve, ms) })
  }

  /** Advances by `ms`, firing every timer due on the way and letting promise callbacks run after each. */
  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await drain()
      let next: Pending | undefined
      for (const t of this.timers) {
        if (t.cancelled || t.at > end) continue
        if (next == null || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t
      }
      if (next == null) break
      this.timers.splice(this.timers.indexOf(next), 1)
      this.time = Math.max(this.time, next.at)
      next.fn()
    }
    this.time = end
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]?.cancelled === true) this.timers.splice(i, 1)
    await drain()
  }
}

/** lets queued promise callbacks run (a real macrotask turn, so that long chains settle too) */
async function drain (): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve))
}

/** One message the fake network carried. */
export interface Carried {
  from: string
  to: string
  request: MembershipMessage
  reply?: MembershipMessage
}

/** A seedable random source (mulberry32). */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Cores on an in-memory network; a peer in `down` never answers (its requests time out). */
export class FakeNet {
  readonly clock = new FakeClock()
  readonly cores = new Map<string, SwimCore>()
  readonly ids: PeerId[] = []
  readonly down = new Set<string>()
  readonly log: Carried[] = []
  /** one-way latency in simulated ms */
  latency = 1
  private seed = 1

  /** Creates `n` cores (not started). */
  async add (n: number, init: SwimCoreInit = {}, components: Partial<SwimCoreComponents> = {}): Promise<SwimCore[]> {
    const ids = await peerIds(n)
    return ids.map(id => {
      const core = new SwimCore({
        logger: defaultLogger(),
        peerId: id,
        clock: this.clock,
        random: seeded(this.seed++),
        transport: { request: async (peer, message, options) => this.request(id, peer, message, options) },
        ...components
      }, init)
      this.cores.set(id.toString(), core)
      this.ids.push(id)
      return core
    })
  }

  private async request (from: PeerId, to: PeerId, message: MembershipMessage, options: { timeout: number, signal: AbortSignal, onSent?(bytes: number): void }): Promise<{ reply: MembershipMessage, bytes: number }> {
    options.signal.throwIfAborted()
    const frame = encodeMembershipMessage(message)
    options.onSent?.(frame.byteLength)
    const carried: Carried = { from: from.toString(), to: to.toString(), request: message }
    this.log.push(carried)
    const target = this.cores.get(to.toString())
    if (target == null || this.down.has(to.toString()) || this.down.has(from.toString())) {
      await this.clock.sleep(options.timeout)
      throw new TimeoutError(`no answer from ${to} within ${options.timeout} ms`)
    }
    await this.clock.sleep(this.latency)
    const reply = await target.handle(from, decodeMembershipMessage(frame), frame.byteLength)
    const out = encodeMembershipMessage(reply)
    target.count('sent', out.byteLength, reply.type)
    carried.reply = reply
    await this.clock.sleep(this.latency)
    options.signal.throwIfAborted()
    return { reply: decodeMembershipMessage(out), bytes: out.byteLength }
  }

  /** Advances simulated time (1 ms at a time) until `work` settles; its result. */
  async run<T> (work: Promise<T>, limit = 60_000): Promise<T> {
    const state = { settled: false }
    const done = work.finally(() => { state.settled = true })
    done.catch(() => {})
    for (let t = 0; !state.settled && t < limit; t++) await this.clock.advance(1)
    return done
  }

  /** what `observer` holds about `subject` */
  state (observer: SwimCore, subject: PeerId): string | undefined {
    return observer.member(subject)?.state
  }

  /** Stops every core (without leaving). */
  async stopAll (): Promise<void> {
    for (const core of this.cores.values()) await core.stop({ leave: false })
  }
}
