/**
 * CPU time of processes from Linux's `/proc/PID/stat`: what the daemon benchmark sums over the
 * server processes before and after each scenario (utime + stime, user and system time).
 *
 * @packageDocumentation
 */

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** User and system CPU time of one process, in clock ticks. */
export interface ProcTicks {
  utime: number
  stime: number
}

/**
 * Parses the text of `/proc/PID/stat`. The second field, the command name, is in parentheses and
 * may itself hold spaces and parentheses, so the fields are counted from the LAST `)`: utime and
 * stime are fields 14 and 15 of proc(5), the 12th and 13th after the name.
 */
export function parseProcStat (text: string): ProcTicks {
  const close = text.lastIndexOf(')')
  if (close < 0) throw new RangeError(`not a /proc/PID/stat line: '${text.slice(0, 60)}'`)
  const fields = text.slice(close + 1).trim().split(/\s+/)
  // fields[0] is field 3 (state): field k is fields[k - 3]
  const utime = Number(fields[14 - 3])
  const stime = Number(fields[15 - 3])
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new RangeError(`no utime/stime in /proc/PID/stat: '${text.slice(0, 60)}'`)
  return { utime, stime }
}

let clockTicks: number | undefined

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on, the fallback). */
export function ticksPerSecond (): number {
  if (clockTicks == null) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** CPU seconds (user + system) process `pid` has used so far; undefined once it is gone. */
export function cpuSeconds (pid: number): number | undefined {
  try {
    const { utime, stime } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    return (utime + stime) / ticksPerSecond()
  } catch {
    return undefined
  }
}

/** CPU seconds summed over `pids` (a process already gone counts 0). */
export function cpuSecondsOf (pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0)
}

/** Read and write system calls of one process so far (`/proc/PID/io`: syscr, syscw). */
export interface ProcIo {
  syscr: number
  syscw: number
}

/** Parses the text of `/proc/PID/io` (`name: value` lines). */
export function parseProcIo (text: string): ProcIo {
  const fields = new Map(text.split('\n').map(line => line.split(':').map(s => s.trim()) as [string, string]))
  const syscr = Number(fields.get('syscr'))
  const syscw = Number(fields.get('syscw'))
  if (!Number.isInteger(syscr) || !Number.isInteger(syscw)) throw new RangeError(`no syscr/syscw in /proc/PID/io: '${text.slice(0, 60)}'`)
  return { syscr, syscw }
}

/**
 * Write system calls (write, writev, sendmsg…: every socket write and every fsync'd log write)
 * `pids` have made so far, summed; a process gone or unreadable counts 0.
 */
export function writeCallsOf (pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8')).syscw
    } catch {
      return sum
    }
  }, 0)
}
