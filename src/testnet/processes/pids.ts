/**
 * The daemons of a process test net as pids: whether one is a live p2pstore daemon, whether it is
 * stopped by a signal, and stopping one that another process started.
 */

import { readFileSync } from 'node:fs'
import { second } from '../../constants.ts'
import { TestnetError } from '../../errors.ts'
import { isAlive, pollUntil } from '../../util/index.ts'

/** How long a daemon gets to exit after SIGTERM before it is killed. */
export const STOP_GRACE = 10 * second

/** Whether `pid` is a live p2pstore daemon (guards against a pid reused by another program). */
export function isDaemon (pid: number): boolean {
  if (!isAlive(pid)) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // a zombie has exited; only its parent has not collected it yet
    if (/\) Z /.test(stat)) return false
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('p2pstore')
  } catch {
    // no /proc (not Linux): trust kill(0)
    return true
  }
}

/** Whether `pid` is stopped by a signal (state T in /proc). */
export function isStoppedProcess (pid: number): boolean {
  try {
    return /\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Resolves once daemon `pid` is gone; throws a `TestnetError` with `message` after `timeout` ms. */
export async function waitGone (pid: number, timeout: number, message: string): Promise<void> {
  await pollUntil(() => !isDaemon(pid), { timeout, error: () => new TestnetError(message) })
}

/** SIGCONT and SIGTERM to daemon `pid` (a paused one must wake to exit), SIGKILL after the grace period. */
export async function stopPid (pid: number): Promise<void> {
  if (!isDaemon(pid)) return
  process.kill(pid, 'SIGCONT')
  process.kill(pid, 'SIGTERM')
  try {
    await waitGone(pid, STOP_GRACE, '')
  } catch {
    if (isDaemon(pid)) process.kill(pid, 'SIGKILL')
  }
}
