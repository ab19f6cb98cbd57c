/**
 * What every wire decoder shares: protons decoders throw plain `Error`s (`invalid varint
 * encoding`, a limit's `MaxLengthError`), and p2pstore's decoders raise only typed errors.
 */

import { InvalidMessageError } from '@libp2p/interface'
import { MaxLengthError } from 'protons-runtime'
// fixes protons' uint64 writer before any codec encodes (see uint64.ts)
import './uint64.ts'

/** Runs a protons decode, turning any failure (truncation, bad wire type, limits) into `InvalidMessageError`. */
export function decodeOrThrow<T> (decode: () => T, what: string): T {
  try {
    return decode()
  } catch (err) {
    if (err instanceof InvalidMessageError) throw err
    const reason = err instanceof MaxLengthError ? 'a repeated field is over its limit' : (err as Error).message
    throw new InvalidMessageError(`malformed ${what}: ${reason}`)
  }
}
