/**
 * An in-memory engine with the semantics of `LevelEngine`, for unit tests only (DESIGN.md
 * section 6). It keeps encoded records, exactly the bytes LevelEngine would write, so callers can
 * never reach into stored state and both engines validate and copy alike. Nothing survives the
 * process; `sync` has no meaning here.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import { toString as uint8ArrayToString } from 'uint8arrays'
import { AbstractEngine } from './abstract-engine.ts'
import { throwIfAborted } from './key-lock.ts'
import { inRange } from './layout.ts'
import type { OpenedStore } from './abstract-engine.ts'
import type { EngineOptions } from './engine.ts'
import type { KeyRange } from './layout.ts'
import type { AbortOptions } from '@libp2p/interface'

interface Slot {
  key: Uint8Array
  bytes: Uint8Array
}

/** Storage in memory: a map from the key's hex (which sorts like the key's bytes) to its record. */
export class MemoryEngine extends AbstractEngine {
  protected readonly location = 'memory'
  private readonly records = new Map<string, Slot>()

  constructor (init: EngineOptions = {}) {
    super(init)
  }

  protected async openStore (): Promise<OpenedStore> {
    return { epoch: uint8ArrayToString(randomBytes(8), 'base16'), incarnation: 0, retiredUpTo: 0 }
  }

  protected async closeStore (): Promise<void> {}

  protected async readRecord (key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.records.get(uint8ArrayToString(key, 'base16'))?.bytes.slice()
  }

  protected async writeRecord (key: Uint8Array, bytes: Uint8Array): Promise<void> {
    this.records.set(uint8ArrayToString(key, 'base16'), { key: key.slice(), bytes: bytes.slice() })
  }

  protected async deleteRecord (key: Uint8Array): Promise<void> {
    this.records.delete(uint8ArrayToString(key, 'base16'))
  }

  protected async * scanRecords (range: KeyRange = {}): AsyncGenerator<[Uint8Array, () => Uint8Array]> {
    // snapshot first, as a LevelDB iterator does; lowercase hex sorts exactly like the bytes
    const snapshot = [...this.records.entries()].filter(([, slot]) => inRange(slot.key, range)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    for (const [, slot] of snapshot) {
      const bytes = slot.bytes.slice()
      yield [slot.key.slice(), () => bytes]
    }
  }

  protected async countRecords (options: AbortOptions): Promise<number> {
    throwIfAborted(options.signal)
    return this.records.size
  }

  protected async storeIncarnation (): Promise<void> {}

  protected async storeRetired (): Promise<void> {}

  protected async markClosedCleanly (): Promise<void> {}
}
