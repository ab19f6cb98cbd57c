import fc from 'fast-check'
import { TokenBucket } from '../../src/quota/index.ts'
import { expect } from '../utils/expect.ts'

describe('quota: token bucket', () => {
  it('starts full, hands out its burst, then says how long until the next token', () => {
    let now = 0
    const bucket = new TokenBucket({ rate: 10, burst: 3, now: () => now })
    expect([bucket.take(1), bucket.take(1), bucket.take(1)]).to.deep.equal([0, 0, 0])
    // 10 tokens a second: one every 100 ms
    expect(bucket.take(1)).to.equal(100)
    now = 50
    expect(bucket.take(1)).to.equal(50)
    now = 100
    expect(bucket.take(1)).to.equal(0)
    expect(bucket.take(1)).to.equal(100)
  })

  it('takes nothing when it answers a wait, and never holds more than its burst', () => {
    let now = 0
    const bucket = new TokenBucket({ rate: 1000, burst: 5, now: () => now })
    expect(bucket.take(5)).to.equal(0)
    expect(bucket.take(2)).to.equal(2)
    now = 1
    expect(bucket.available).to.be.closeTo(1, 1e-9)
    now = 60_000
    expect(bucket.available).to.equal(5)
    expect(bucket.full).to.equal(true)
  })

  it('lets more than its burst through once full, in debt paid back at its rate', () => {
    let now = 0
    const bucket = new TokenBucket({ rate: 100, burst: 10, now: () => now })
    expect(bucket.take(1)).to.equal(0)
    // 9 held: 10 ms until full
    expect(bucket.take(30)).to.equal(10)
    now = 10
    expect(bucket.take(30)).to.equal(0)
    expect(bucket.available).to.be.closeTo(-20, 1e-9)
    // the debt of 20 and the next token: 210 ms
    expect(bucket.take(1)).to.equal(210)
  })

  it('refuses a rate or burst that is not positive', () => {
    expect(() => new TokenBucket({ rate: 0, burst: 1 })).to.throw(RangeError)
    expect(() => new TokenBucket({ rate: 1, burst: -1 })).to.throw(RangeError)
    expect(() => new TokenBucket({ rate: Number.NaN, burst: 1 })).to.throw(RangeError)
  })

  it('hands out at most burst + rate × t (plus one take’s excess over the burst) over any stretch of time (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 500 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 20 })), { maxLength: 300 }),
      (rate, burst, steps) => {
        let now = 0
        const bucket = new TokenBucket({ rate, burst, now: () => now })
        let taken = 0
        for (const [dt, n] of steps) {
          now += dt
          // a caller that always waits what it is told, then takes
          const wait = bucket.take(n)
          if (wait === 0) taken += n
          else {
            now += wait
            expect(bucket.take(n), 'after waiting what it said').to.equal(0)
            taken += n
          }
          // a take above the burst may overshoot by its excess, once
          expect(taken).to.be.at.most(Math.max(burst, 20) + rate * now / 1000 + 1e-6)
        }
      }), { numRuns: 300 })
  })
})
