import { setTimeout as sleep } from 'node:timers/promises'
import { GOSSIP_TESTNET } from '../constants.ts'
import type { Random } from './random.ts'
import type { ProcessTestnet } from '../testnet/index.ts'

/** The scenarios `p2pstore check --scenario` knows. */
export const SCENARIOS = ['kill', 'partition', 'concurrent', 'pause', 'wipe', 'flap'] as const

export type ScenarioName = typeof SCENARIOS[number]

/** What a scenario's fault schedule (its nemesis) may use. */
export interface NemesisContext {
  net: ProcessTestnet
  random: Random
  /** peer indexes 0…peers-1 */
  peers: number[]
  /** the workload's length in ms; faults end by then */
  duration: number
  signal: AbortSignal
  /** logs a fault (history and progress) and runs it */
  fault<T>(label: string, action: () => Promise<T> | T): Promise<T>
  /** sleeps until `fraction` of the duration has passed since the workload began */
  at(fraction: number): Promise<void>
  /** routes `share` of the clients' requests to `peer` from now on (0 ends that) */
  prefer(peer: number, share: number): void
}

/** A scenario: the workload's shape and the faults injected while it runs. */
export interface Scenario {
  name: ScenarioName
  summary: string
  /** test-net size, workload seconds, clients, blind-write keys, hot keys, read-modify-write share */
  defaults: { peers: number, duration: number, clients: number, keys: number, hotKeys: number, rmwShare: number }
  nemesis(ctx: NemesisContext): Promise<void>
}

/** Suspicion floor of a 10-peer test net: a pause shorter than this must never make a peer dead. */
const SUSPICION_FLOOR = GOSSIP_TESTNET.suspicionMult * GOSSIP_TESTNET.probeInterval

/** The peers split into two random halves, each sorted by index. */
function randomHalves (ctx: NemesisContext): number[][] {
  const shuffled = ctx.random.shuffle(ctx.peers)
  const half = Math.floor(shuffled.length / 2)
  return [shuffled.slice(0, half).sort((a, b) => a - b), shuffled.slice(half).sort((a, b) => a - b)]
}

/** Every scenario by name. */
export const SCENARIO_TABLE: Record<ScenarioName, Scenario> = {
  kill: {
    name: 'kill',
    summary: '30 % of the peers SIGKILLed one after another during writes (N3/W2), each restarted later',
    defaults: { peers: 10, duration: 60, clients: 8, keys: 100, hotKeys: 4, rmwShare: 0.3 },
    async nemesis (ctx) {
      const victims = ctx.random.shuffle(ctx.peers).slice(0, Math.max(1, Math.round(ctx.peers.length * 0.3)))
      const step = 0.3 / victims.length
      for (const [i, victim] of victims.entries()) {
        await ctx.at(0.1 + i * step)
        await ctx.fault(`kill peer-${victim}`, async () => { await ctx.net.kill(victim) })
      }
      for (const [i, victim] of victims.entries()) {
        await ctx.at(0.45 + i * step)
        await ctx.fault(`restart peer-${victim}`, async () => ctx.net.restart(victim))
      }
    }
  },
  partition: {
    name: 'partition',
    summary: 'the peers split in two halves for 30 s (or 60 % of a shorter run) with writers on both sides, then healed',
    defaults: { peers: 10, duration: 60, clients: 8, keys: 100, hotKeys: 4, rmwShare: 0.3 },
    async nemesis (ctx) {
      const groups = randomHalves(ctx)
      await ctx.at(0.15)
      await ctx.fault(`partition ${groups.map(g => g.join(',')).join(' | ')}`, async () => { await ctx.net.partition(groups) })
      await sleep(Math.min(30_000, ctx.duration * 0.6), undefined, { signal: ctx.signal }).catch(() => {})
      await ctx.fault('heal', async () => { await ctx.net.heal() })
    }
  },
  concurrent: {
    name: 'concurrent',
    summary: '10 clients blind-writing and read-modify-writing one key, no faults: siblings, never lost writes',
    defaults: { peers: 5, duration: 30, clients: 10, keys: 0, hotKeys: 1, rmwShare: 0.5 },
    async nemesis () {}
  },
  pause: {
    name: 'pause',
    summary: 'SIGSTOP shorter than the suspicion timeout (three times), then one far longer, then SIGCONT',
    defaults: { peers: 10, duration: 60, clients: 8, keys: 100, hotKeys: 4, rmwShare: 0.3 },
    async nemesis (ctx) {
      const [short, long] = ctx.random.shuffle(ctx.peers)
      if (short == null || long == null) return
      for (const at of [0.1, 0.15, 0.2]) {
        await ctx.at(at)
        await ctx.fault(`pause peer-${short} for ${SUSPICION_FLOOR / 2} ms`, async () => {
          ctx.net.pause(short)
          await sleep(SUSPICION_FLOOR / 2)
          ctx.net.resume(short)
        })
      }
      await ctx.at(0.3)
      const longMs = Math.min(15_000, ctx.duration * 0.3)
      await ctx.fault(`pause peer-${long} for ${longMs} ms`, async () => {
        ctx.net.pause(long)
        await sleep(longMs)
        ctx.net.resume(long)
      })
    }
  },
  wipe: {
    name: 'wipe',
    summary: "one peer loses its data dir but keeps its identity (Riak's KV679), then coordinates half of all writes",
    defaults: { peers: 10, duration: 60, clients: 8, keys: 100, hotKeys: 4, rmwShare: 0.3 },
    async nemesis (ctx) {
      const victim = ctx.random.pick(ctx.peers)
      await ctx.at(0.3)
      await ctx.fault(`wipe peer-${victim} (identity kept, storage deleted)`, async () => ctx.net.wipe(victim))
      ctx.prefer(victim, 0.5)
    }
  },
  flap: {
    name: 'flap',
    summary: 'a random halves partition every 10 s, healed 10 s later, for most of the run',
    defaults: { peers: 10, duration: 180, clients: 8, keys: 100, hotKeys: 4, rmwShare: 0.3 },
    async nemesis (ctx) {
      const period = Math.min(10_000, ctx.duration / 6)
      await ctx.at(0.05)
      const end = performance.now() + ctx.duration * 0.8
      while (!ctx.signal.aborted && performance.now() + 2 * period < end) {
        const groups = randomHalves(ctx)
        await ctx.fault(`partition ${groups.map(g => g.join(',')).join(' | ')}`, async () => { await ctx.net.partition(groups) })
        await sleep(period, undefined, { signal: ctx.signal }).catch(() => {})
        await ctx.fault('heal', async () => { await ctx.net.heal() })
        await sleep(period, undefined, { signal: ctx.signal }).catch(() => {})
      }
    }
  }
}
