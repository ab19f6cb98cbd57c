/**
 * Fuzzing in `npm test`: every decoder of the table (targets.ts) on a few thousand mutated valid
 * inputs, the round trip of every message that has one, and every regression the campaign saved
 * (test/fuzz/regressions/<target>/*.bin) replayed. `npm run fuzz` runs the long campaign.
 */

import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { expect } from '../utils/expect.ts'
import { Rng, mutate } from './mutate.ts'
import { checkInput, checkRoundTrip } from './oracle.ts'
import { TARGETS } from './targets.ts'

/** mutated inputs per target: enough to reach every mutation on every field kind, under ~30 s for the spec */
const RUNS = Number(process.env.FUZZ_SPEC_RUNS ?? 1500)
const REGRESSIONS = path.join(import.meta.dirname, 'regressions')

describe('fuzz: the mutator', () => {
  it('never changes the bytes it mutates, a Buffer (whose slice() is a view) included', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer(), (bytes, seed) => {
      const buffer = Buffer.from(bytes)
      const before = Buffer.from(bytes)
      mutate(buffer, new Rng(seed), buffer, 8)
      expect(buffer.equals(before)).to.equal(true)
    }), { numRuns: 2000 })
  })

  it('mostly keeps a frame\'s first field tag: structure-aware mutations edit fields, not the frame\'s start', () => {
    const frame = Buffer.from(TARGETS[0] == null ? [] : fc.sample(TARGETS[0].seeds, { numRuns: 1, seed: 3 })[0] ?? [])
    let sameFirstByte = 0
    for (let i = 0; i < 500; i++) if (mutate(frame, new Rng(i), frame, 1)[0] === frame[0]) sameFirstByte++
    expect(sameFirstByte).to.be.greaterThan(250)
  })
})

describe('fuzz: every decoder and parser', function () {
  this.timeout(120_000)

  for (const target of TARGETS) {
    describe(target.name, () => {
      it('returns a value or throws a typed error on mutated valid inputs', async () => {
        await fc.assert(fc.asyncProperty(target.seeds, target.seeds, fc.integer(), async (seed, other, rngSeed) => {
          const input = mutate(seed, new Rng(rngSeed), other)
          const finding = await checkInput(target, input)
          if (finding != null) throw new Error(`${finding.kind}: ${finding.name}: ${finding.message} at ${finding.where} (input ${Buffer.from(input).toString('hex').slice(0, 400)})`)
        }), { numRuns: RUNS })
      })

      it('decodes its valid seeds', async () => {
        await fc.assert(fc.asyncProperty(target.seeds, async seed => {
          const finding = await checkInput(target, seed)
          if (finding != null) throw new Error(`${finding.name}: ${finding.message}`)
          // a valid seed must decode, not merely fail with a typed error
          if (target.invalidSeeds !== true) await target.decode(seed)
        }), { numRuns: 200 })
      })

      if (target.roundTrip != null) {
        it('round-trips: decode(encode(x)) equals x', () => {
          fc.assert(fc.property(target.roundTrip?.values ?? fc.constant(undefined), value => {
            const finding = checkRoundTrip(target, value)
            if (finding != null) throw new Error(finding.message)
          }), { numRuns: 500 })
        })
      }

      it('passes every saved regression', async () => {
        const dir = path.join(REGRESSIONS, target.name)
        let files: string[] = []
        try {
          files = readdirSync(dir).filter(f => f.endsWith('.bin'))
        } catch {
          // no regressions saved for this target
        }
        for (const file of files) {
          const finding = await checkInput(target, readFileSync(path.join(dir, file)))
          expect(finding, `${target.name}/${file}`).to.equal(undefined)
        }
      })
    })
  }
})
