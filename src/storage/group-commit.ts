/**
 * Group commit: the record writes that arrive while one synced write runs are committed together
 * as the next one, in one atomic batch with one fsync, as LevelDB-based stores and etcd do. Every
 * write is still acknowledged only once the batch holding it is durable.
 *
 * @packageDocumentation
 */

/** One operation of a group: a put of `value` under `key`, or a delete of `key`. */
export type GroupedOperation =
  | { type: 'put', key: Uint8Array, value: Uint8Array }
  | { type: 'del', key: Uint8Array }

/** Commits one group atomically and durably; resolves once it is. */
export type CommitGroup = (operations: GroupedOperation[]) => Promise<void>

/** Most operations committed in one batch (a larger backlog is committed in several). */
export const MAX_GROUP_OPERATIONS = 1024

interface Waiting {
  operation: GroupedOperation
  resolve(): void
  reject(err: unknown): void
}

/**
 * Serializes commits and groups the writes that wait. A write that finds no commit running starts
 * one at once (no added latency when writes are rare); writes arriving meanwhile queue and go out
 * together when it ends. Each write's promise settles with its own group's commit: it resolves only
 * after that commit resolved, and a failed commit rejects every write of its group (none of them
 * is acknowledged) without touching the groups before or after it.
 *
 * Callers must not queue two operations on one key at once (the engine's per-key lock sees to it):
 * within a group their order would be the batch's.
 */
export class GroupCommit {
  private readonly commit: CommitGroup
  private readonly maxOperations: number
  private queue: Waiting[] = []
  private running = false

  constructor (commit: CommitGroup, maxOperations: number = MAX_GROUP_OPERATIONS) {
    this.commit = commit
    this.maxOperations = maxOperations
  }

  /** Queues `operation`; resolves once the group holding it is durable. */
  async write (operation: GroupedOperation): Promise<void> {
    const acknowledged = new Promise<void>((resolve, reject) => { this.queue.push({ operation, resolve, reject }) })
    if (!this.running) void this.drain()
    return acknowledged
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const group = this.queue.length <= this.maxOperations ? this.queue : this.queue.slice(0, this.maxOperations)
        this.queue = group === this.queue ? [] : this.queue.slice(this.maxOperations)
        try {
          await this.commit(group.map(waiting => waiting.operation))
        } catch (err) {
          for (const waiting of group) waiting.reject(err)
          continue
        }
        for (const waiting of group) waiting.resolve()
      }
    } finally {
      this.running = false
    }
  }
}
