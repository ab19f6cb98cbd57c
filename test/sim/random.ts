/**
 * A seeded random source for the simulator (sfc32, Chris Doty-Humphrey's Small Fast Counter): the
 * same seed gives the same network, the same losses and the same churn, so a run can be repeated.
 */

/** A seeded random source: `next()` is uniform in [0, 1). */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    this.a = 0x9e3779b9
    this.b = 0x243f6a88
    this.c = 0xb7e15162
    this.d = seed >>> 0
    // the first outputs of sfc32 are poorly mixed: discard them
    for (let i = 0; i < 15; i++) this.next()
  }

  /** uniform in [0, 1) */
  next (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t / 4294967296
  }

  /** an integer in [0, n) */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /** uniform in [min, max) */
  uniform (min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** exponentially distributed with the given mean */
  exponential (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** `count` random bytes */
  bytes (count: number): Uint8Array {
    const out = new Uint8Array(count)
    for (let i = 0; i < count; i += 4) {
      const word = Math.floor(this.next() * 4294967296)
      for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (word >>> (8 * j)) & 0xff
    }
    return out
  }

  /** a new source derived from this one (for an independent stream, e.g. one per peer) */
  fork (): Random {
    return new Random(Math.floor(this.next() * 4294967296))
  }
}
