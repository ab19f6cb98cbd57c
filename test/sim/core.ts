/**
 * What the simulator needs of a membership peer, and the adapter that makes the project's real
 * membership core (`SwimCore`: no I/O of its own — an injected clock, random source and transport)
 * fit it. Nothing here changes the core's logic: the clock is the scheduler's, the transport is
 * the simulated network, and `handle()` serves inbound requests.
 */

import { SwimCore } from '../../src/membership/index.ts'
import type { SimReply } from './network.ts'
import type { Scheduler } from './scheduler.ts'
import type { MemberState } from '../../src/membership/index.ts'
import type { MembershipMessage } from '../../src/protocol/index.ts'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'

/** SWIM timing, as GOSSIP_DEFAULT and GOSSIP_TESTNET give it. */
export type GossipTiming = Record<string, number>

/** Everything one simulated peer's core is given. */
export interface SimCoreEnv {
  peerId: PeerId
  scheduler: Scheduler
  /** uniform in [0, 1), this peer's own seeded stream */
  random(): number
  /** one request to `to` and its reply within `timeout` ms (rejects with TimeoutError / AbortError) */
  request(to: PeerId, message: MembershipMessage, timeout: number, signal?: AbortSignal, onSent?: (bytes: number) => void): Promise<SimReply>
  /** whether this peer holds a connection to `peer` (the connection model) */
  isConnected(peer: PeerId): boolean
  gossip: GossipTiming
}

/** A membership peer as the simulator drives it. */
export interface SimCore {
  start(): Promise<void>
  /** stops; with `leave`, first tells a few members (graceful), else a crash (nothing is sent) */
  stop(leave: boolean): Promise<void>
  /** joins through `seeds` (a full-state sync with each) */
  join(seeds: PeerId[]): Promise<number>
  /** answers one inbound request of `bytes` on the wire */
  handle(from: PeerId, message: MembershipMessage, bytes: number): Promise<MembershipMessage>
  /** told the size of a reply it sent */
  sent(reply: MembershipMessage, bytes: number): void
  /** this peer's own incarnation */
  readonly incarnation: number
  /** calls `listener` whenever this peer's view of a member changes state (or it learns a member) */
  onUpdate(listener: (member: PeerId, state: MemberState, incarnation: number) => void): void
}

/** Makes one peer's core. */
export type CoreFactory = (env: SimCoreEnv) => SimCore

const silent: Logger = Object.assign(() => {}, {
  enabled: false,
  error: Object.assign(() => {}, { enabled: false }),
  trace: Object.assign(() => {}, { enabled: false }),
  newScope: () => silent
}) as unknown as Logger

/** A logger that drops everything (10 000 cores' debug output would be the simulation's cost). */
const silentLogger: ComponentLogger = { forComponent: () => silent }

/** The project's real membership core, driven by the simulator. */
export const swimCore: CoreFactory = env => {
  const core = new SwimCore({
    logger: silentLogger,
    peerId: env.peerId,
    // Date.now() is whole milliseconds (incarnations start from it): so is the core's clock
    clock: { now: () => Math.floor(env.scheduler.now()), setTimeout: (fn, ms) => env.scheduler.setTimeout(fn, ms) },
    random: env.random,
    transport: {
      request: async (peer, message, options) => env.request(peer, message, options.timeout, options.signal, options.onSent)
    },
    isConnected: peer => env.isConnected(peer)
  }, env.gossip)
  return {
    start: async () => { core.start() },
    stop: async leave => { await core.stop({ leave }) },
    join: async seeds => core.join(seeds),
    handle: async (from, message, bytes) => core.handle(from, message, bytes),
    sent: (reply, bytes) => { core.count('sent', bytes, reply.type) },
    get incarnation () { return core.incarnation },
    onUpdate: listener => {
      core.addEventListener('member:update', evt => {
        const { record } = evt.detail
        listener(record.peerId, record.state, record.incarnation)
      })
    }
  }
}
