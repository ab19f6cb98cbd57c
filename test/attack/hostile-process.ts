/**
 * Runs one attack of `npm run attack` in a hostile process of its own (./child.ts), at the lowest
 * CPU priority: on a 2-core machine the attacker's CPU would otherwise show in the honest
 * client's latencies, and the table would measure the attacker rather than the daemon's handling
 * of it. Every hostile process still running is killed by `killHostiles()` (on failure, SIGINT).
 */
import { fork } from 'node:child_process'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import type { AttackTarget, Outcome } from './attack.ts'
import type { FromHostile, ToHostile } from './child.ts'
import type { ChildProcess } from 'node:child_process'

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
/** nice 19: the scheduler's lowest priority */
const LOWEST = 19
const running = new Set<ChildProcess>()

/** A started hostile process. */
export interface Hostile {
  pid: number
  /** resolves once the attack's `prepare()` is done and its `run()` starts */
  ready: Promise<void>
  /** asks the run to end; resolves with its outcome, rejects if it failed or did not end within `timeout` ms */
  stop(timeout: number): Promise<Outcome>
  /** kills it (idempotent) */
  kill(): void
}

/**
 * Gives every thread of `pid` the lowest CPU priority: on Linux a nice value belongs to a thread,
 * and node's V8 and libuv threads are there before the parent can renice the main one.
 */
export function lowestPriority (pid: number): void {
  let tids: string[] = [String(pid)]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {}
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), LOWEST)
    } catch {}
  }
}

/** Forks the hostile process of attack `name` against `target`. */
export function startHostile (name: string, target: AttackTarget): Hostile {
  // node's own flags (--import tsx) are inherited: the child runs the TypeScript source too
  const child = fork(CHILD, [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  running.add(child)
  const pid = child.pid ?? -1
  lowestPriority(pid)
  const exited = new Promise<void>(resolve => { child.once('exit', () => { running.delete(child); resolve() }) })
  const messages: FromHostile[] = []
  const waiting = new Set<() => void>()
  child.on('message', (m: FromHostile) => {
    messages.push(m)
    for (const wake of waiting) wake()
  })
  /** the first message of one of `types` (a failure is always one), waiting for it until `signal` fires */
  const next = async (types: Array<FromHostile['type']>, signal: AbortSignal): Promise<FromHostile> => {
    for (;;) {
      const at = messages.findIndex(m => m.type === 'failed' || types.includes(m.type))
      const m = messages.splice(at, at >= 0 ? 1 : 0)[0]
      if (m?.type === 'failed') throw new Error(`the attack failed: ${m.message}`)
      if (m != null) return m
      if (child.exitCode != null || child.signalCode != null) throw new Error(`the hostile process of ${name} exited (${child.exitCode ?? child.signalCode ?? '?'})`)
      if (signal.aborted) throw new Error(`the hostile process of ${name} did not answer in time`)
      let wake = (): void => {}
      await Promise.race([new Promise<void>(resolve => { wake = resolve; waiting.add(wake) }), exited, new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))])
      waiting.delete(wake)
    }
  }
  const kill = (): void => { if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL') }
  child.send({ type: 'run', target } satisfies ToHostile)
  const ready = (async () => {
    await next(['ready'], AbortSignal.timeout(10 * 60_000))
    // threads it started since are renice'd too
    lowestPriority(pid)
  })()
  // a failure before ready shows through `ready` (the caller awaits it)
  ready.catch(() => {})
  return {
    pid,
    ready,
    kill,
    stop: async timeout => {
      try {
        if (child.connected) child.send({ type: 'stop' } satisfies ToHostile)
        const m = await next(['done'], AbortSignal.timeout(timeout))
        if (m.type !== 'done') throw new Error(`the hostile process of ${name}: ${m.type} where done was due`)
        return m.outcome
      } finally {
        kill()
        await exited
      }
    }
  }
}

/** Kills every hostile process still running (the script is failing or interrupted). */
export function killHostiles (): void {
  for (const child of running) child.kill('SIGKILL')
}
