/**
 * Resource figures: this process's RSS (now and peak over a window) and the bytes a directory
 * tree holds on disk.
 *
 * @packageDocumentation
 */

import fs from 'node:fs/promises'
import path from 'node:path'

/** Bytes in a MiB, for the report. */
export const MiB = 1024 * 1024

/** How often the peak RSS is sampled while a window is open. */
const SAMPLE_INTERVAL = 100

/**
 * The peak RSS of this process over one or more windows: `during(fn)` samples every 100 ms while
 * `fn` runs; `peak` is the highest sample of every window so far (0 before the first).
 */
export class RssPeak {
  private max = 0

  /** Runs `fn`, sampling the RSS while it runs. */
  async during<T> (fn: () => Promise<T>): Promise<T> {
    const sample = (): void => { this.max = Math.max(this.max, process.memoryUsage.rss()) }
    sample()
    const timer = setInterval(sample, SAMPLE_INTERVAL)
    timer.unref()
    try {
      return await fn()
    } finally {
      clearInterval(timer)
      sample()
    }
  }

  /** The highest RSS sampled so far, bytes. */
  get peak (): number {
    return this.max
  }
}

/** Sum of the sizes of every regular file under `dir` (0 when it does not exist). */
export async function dirBytes (dir: string): Promise<number> {
  let entries
  try {
    entries = await fs.readdir(dir, { withFileTypes: true, recursive: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
  const sizes = await Promise.all(entries.filter(e => e.isFile()).map(async e => {
    // a LevelDB compaction may remove a file between readdir and stat
    const stat = await fs.stat(path.join(e.parentPath, e.name)).catch(() => undefined)
    return stat?.size ?? 0
  }))
  return sizes.reduce((a, b) => a + b, 0)
}

/** RSS in MiB, 1 decimal. */
export function mib (bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10
}
