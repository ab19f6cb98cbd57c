/**
 * protons-runtime 7.1.2 writes uint64 values from 2^31 to 2^32 − 1 wrongly: `LongBits` keeps the
 * low word as a signed int, so `writeVarint64` emits zero bytes and the frame no longer parses
 * (a counter, timestamp, incarnation or request id in that band broke its message). Every protons
 * writer shares one prototype; its `uint64` is replaced once, here, by one that writes those
 * values as the exact number they are (`uint64Number`, correct up to 2^53) and passes every other
 * value to the original. Each codec imports this file (through `decode.ts`) before it encodes.
 */

import { writer } from 'protons-runtime'

const LOW = 2n ** 31n
const HIGH = 2n ** 32n

interface Uint64Writer {
  uint64(value: bigint): unknown
  uint64Number(value: number): unknown
}

const prototype = Object.getPrototypeOf(writer()) as Uint64Writer
const original = prototype.uint64

if ((original as { fixedBand?: boolean }).fixedBand !== true) {
  const fixed = function (this: Uint64Writer, value: bigint): unknown {
    return value >= LOW && value < HIGH ? this.uint64Number(Number(value)) : original.call(this, value)
  }
  Object.assign(fixed, { fixedBand: true })
  prototype.uint64 = fixed
}

/** Whether uint64 writes are fixed (always true once this module has loaded). */
export const UINT64_WRITER_FIXED = (prototype.uint64 as { fixedBand?: boolean }).fixedBand === true
