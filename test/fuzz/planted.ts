/**
 * Decoders with planted faults, for the campaign's self-test: the harness must report each of them
 * (a test that cannot fail proves nothing). Never part of `npm run fuzz`.
 */

import { InvalidMessageError } from '@libp2p/interface'
import fc from 'fast-check'
import type { FuzzTarget } from './targets.ts'

const seeds = fc.uint8Array({ minLength: 2, maxLength: 4 })

export const TARGETS: readonly FuzzTarget[] = [
  {
    // a decoder that lets a TypeError out on inputs that start with 0xff
    name: 'planted-crash',
    seeds,
    allowed: ['InvalidMessageError'],
    decode: input => {
      if (input[0] === 0xff) throw new TypeError('planted: cannot read properties of undefined')
      if (input.byteLength === 0) throw new InvalidMessageError('empty')
      return input
    }
  },
  {
    // a decoder that never returns on the empty input
    name: 'planted-hang',
    seeds,
    allowed: ['InvalidMessageError'],
    decode: input => {
      // eslint-disable-next-line no-empty
      while (input.byteLength === 0) {}
      return input
    }
  },
  {
    // a decoder that throws only its typed error: no findings
    name: 'planted-clean',
    seeds,
    allowed: ['InvalidMessageError'],
    decode: input => {
      if (input.byteLength < 3) throw new InvalidMessageError('short')
      return input
    }
  }
]
