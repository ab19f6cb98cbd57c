/**
 * A `MemoryEngine` whose record writes can be held at the gate: the write of a record then waits
 * until the test releases it, or fails when the test says so. It shows what happens between a
 * record being made and being durable (slow disks, failing disks) without timing tricks.
 */
import { MemoryEngine } from '../../src/storage/index.ts'

/** One held write. */
export interface HeldWrite {
  /** resolves when a write arrived at the gate */
  arrived: Promise<void>
  /** lets the write proceed */
  release(): void
  /** fails the write with `err` (nothing is stored) */
  fail(err: Error): void
}

export class GatedEngine extends MemoryEngine {
  private held?: { arrived: PromiseWithResolvers<void>, outcome: PromiseWithResolvers<void> }

  /** Holds the next record write (of any key) until the returned handle decides. */
  holdNextWrite (): HeldWrite {
    const held = { arrived: Promise.withResolvers<void>(), outcome: Promise.withResolvers<void>() }
    this.held = held
    return {
      arrived: held.arrived.promise,
      release: () => { held.outcome.resolve() },
      fail: err => { held.outcome.reject(err) }
    }
  }

  protected override async writeRecord (key: Uint8Array, bytes: Uint8Array): Promise<void> {
    const held = this.held
    if (held != null) {
      this.held = undefined
      held.arrived.resolve()
      await held.outcome.promise
    }
    await super.writeRecord(key, bytes)
  }
}
