import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/**
 * Seeded randomness (pure-rand's xoroshiro128+) so that a check's choices — which peers fail,
 * which keys and peers each client uses — replay from `--seed`. Not for anything secret.
 */
export class Random {
  private readonly seed: number
  private readonly rng: RandomGenerator

  constructor (seed: number) {
    this.seed = seed
    this.rng = xoroshiro128plus(seed)
  }

  /** A float in [0, 1). */
  next (): number {
    return uniformFloat64(this.rng)
  }

  /** A whole number in [0, n). */
  int (n: number): number {
    return uniformInt(this.rng, 0, n - 1)
  }

  /** One element of a non-empty list. */
  pick<T> (list: readonly T[]): T {
    const item = list[this.int(list.length)]
    if (item === undefined) throw new RangeError('pick() from an empty list')
    return item
  }

  /** A shuffled copy of `list` (Fisher–Yates). */
  shuffle<T> (list: readonly T[]): T[] {
    const out = [...list]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const a = out[i] as T
      out[i] = out[j] as T
      out[j] = a
    }
    return out
  }

  /** An independent generator derived from this one's seed and `salt` (one per client), whatever was drawn so far. */
  fork (salt: number): Random {
    return new Random((this.seed * 7919 + salt * 104_729 + 1) % 2_147_483_647)
  }
}
