import type { Engine } from '../storage/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Hex lengths of an actor id: the 8-byte storage epoch, then a big-endian uint32 incarnation. */
const EPOCH_HEX_LENGTH = 16
const INCARNATION_HEX_LENGTH = 8
const ACTOR_HEX_LENGTH = EPOCH_HEX_LENGTH + INCARNATION_HEX_LENGTH

/**
 * Actor bookkeeping of a coordinator. An actor id is this store's epoch and an incarnation the
 * engine hands out durably, once each. A key's actor is ours to issue dots with only while we keep
 * its record and the engine has not retired it (a write of it may have left without being stored
 * here), so no dot is ever issued twice (Riak KV679).
 */
export class Actors {
  private readonly engine: Pick<Engine, 'epoch' | 'retiredUpTo' | 'nextIncarnation'>

  constructor (engine: Pick<Engine, 'epoch' | 'retiredUpTo' | 'nextIncarnation'>) {
    this.engine = engine
  }

  /** Whether `actor`, this peer's actor of some key, may issue the key's next dot. */
  mayIssue (actor: string): boolean {
    if (actor.length !== ACTOR_HEX_LENGTH || !actor.startsWith(this.engine.epoch)) return false
    return Number.parseInt(actor.slice(EPOCH_HEX_LENGTH), 16) > this.engine.retiredUpTo
  }

  /** The actor of a key this peer holds anew, or whose actor it may no longer issue with. */
  async next (options: AbortOptions = {}): Promise<string> {
    const incarnation = await this.engine.nextIncarnation(options)
    return `${this.engine.epoch}${incarnation.toString(16).padStart(INCARNATION_HEX_LENGTH, '0')}`
  }

  /** `current` when it may still issue dots, else a fresh one. */
  async for (current: string | undefined, options: AbortOptions = {}): Promise<string> {
    return current != null && this.mayIssue(current) ? current : this.next(options)
  }
}
