import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'

/**
 * How an operation ended. `ok`: acknowledged. `fail`: certainly not applied (the request never
 * reached a daemon, or was refused before any write). `unknown`: it may or may not have been
 * applied (a timeout, a quorum not reached after some replicas took it, a daemon that died
 * mid-request) — Jepsen's `info`.
 */
export type Outcome = 'ok' | 'fail' | 'unknown'

/** What an operation did. `write`: a blind put of one new element; `rmw`: read, merge, put with context. */
export type OpKind = 'write' | 'rmw' | 'read'

/** One line of the history: an invocation, its completion, or a fault the nemesis injected. */
export type HistoryEntry =
  | { type: 'invoke', time: number, client: number, f: OpKind, key: string, element?: string, peer: number }
  | { type: Outcome, time: number, client: number, f: OpKind, key: string, element?: string, peer: number, latencyMs: number, error?: string, siblings?: number }
  | { type: 'fault', time: number, fault: string }

/**
 * The history of a check: every operation as invoke then ok / fail / unknown, with times in ms
 * since the start, kept in memory for the checker and, when a file is given, written as JSON lines
 * as it happens (so a crashed run still leaves its history behind).
 */
export class History {
  readonly entries: HistoryEntry[] = []
  private readonly start = performance.now()
  private readonly out?: WriteStream

  constructor (file?: string) {
    if (file != null) this.out = createWriteStream(file, { flags: 'w' })
  }

  /** ms since the history started. */
  now (): number {
    return Math.round((performance.now() - this.start) * 10) / 10
  }

  /** Appends an entry (its `time` is set here). */
  add (entry: DistributiveOmit<HistoryEntry, 'time'>): HistoryEntry {
    const full = { ...entry, time: this.now() } as HistoryEntry
    this.entries.push(full)
    this.out?.write(`${JSON.stringify(full)}\n`)
    return full
  }

  /** Flushes and closes the file, if any. */
  async close (): Promise<void> {
    if (this.out == null || this.out.closed) return
    this.out.end()
    await once(this.out, 'close')
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
