/**
 * Noise (`@chainsafe/libp2p-noise`) as p2pstore runs it: the library's encrypter, with two costs of
 * its framing taken off every message (measured on 3 daemons under load, issue #17):
 *
 * - **one socket write per Noise message, not two.** The encrypter hands the transport each
 *   message as a list of its 2-byte length prefix and its ciphertext, and @libp2p/tcp writes every
 *   part with its own `socket.write()`: two syscalls and two TCP segments per muxer frame, the
 *   largest single item of a loaded daemon's profile. The transport here gets one buffer.
 * - **no `RangeError` per incoming chunk.** Noise's length decoder throws a `RangeError` whenever
 *   fewer than 2 bytes are buffered, and @libp2p/utils' `LengthPrefixedDecoder` catches it to mean
 *   "wait for more": after every complete frame, an error with a stack trace is built and thrown.
 *   The decoder here answers a length no 2-byte prefix can have, which makes it wait the same way.
 *
 * Both act on the library's objects without changing what goes on the wire; when a release of the
 * library no longer has the shape they expect they leave it alone (test/protocol/noise.spec.ts
 * fails then, so the workaround is revisited rather than silently lost).
 *
 * @packageDocumentation
 */

import { noise } from '@chainsafe/libp2p-noise'
import { isUint8ArrayList } from 'uint8arraylist'
import type { NoiseComponents, NoiseExtensions, NoiseInit } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * What the length decoder answers for fewer than 2 buffered bytes: longer than any frame a 2-byte
 * prefix can announce (at most 65 535 bytes), and below the decoder's limit on a frame (4 MiB), so
 * the decoder stops and waits for more bytes exactly as after its caught `RangeError`.
 */
export const NOISE_NEED_MORE_BYTES = 0x10000

/** A Noise frame's 2-byte big-endian length, or `NOISE_NEED_MORE_BYTES` while it is incomplete. */
export function noiseFrameLength (data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) return NOISE_NEED_MORE_BYTES
  if (isUint8ArrayList(data)) return data.getUint16(0)
  return (data[0] ?? 0) * 256 + (data[1] ?? 0)
}

/** The parts of the library's decrypting stream this module tunes (absent in other versions). */
interface TunableStream {
  decoder?: { lengthDecoder?: unknown }
}

/** Makes `stream.send()` hand the transport one buffer per call instead of a list of parts. */
export function coalesceSends (stream: MessageStream): void {
  const send = stream.send
  if (typeof send !== 'function') return
  stream.send = function (data: Uint8Array | Uint8ArrayList): boolean {
    // subarray() of a one-part list is that part, uncopied; of several, one copy of the message.
    // isUint8ArrayList, not instanceof: the library brings its own copy of uint8arraylist
    return send.call(this, isUint8ArrayList(data) ? data.subarray() : data)
  }
}

/** Replaces the library's throwing length decoder of a secured stream (see the module comment). */
export function quietLengthDecoder (secured: MessageStream): boolean {
  const decoder = (secured as unknown as TunableStream).decoder
  if (decoder == null || typeof decoder.lengthDecoder !== 'function') return false
  decoder.lengthDecoder = noiseFrameLength
  return true
}

/**
 * `noise(init)` with both workarounds applied to every connection it secures; a drop-in for the
 * `connectionEncrypters` of `createLibp2p`.
 */
export function framedNoise (init?: NoiseInit): (components: NoiseComponents) => ConnectionEncrypter<NoiseExtensions> {
  const factory = noise(init)
  return (components) => {
    const encrypter = factory(components)
    const secureInbound = encrypter.secureInbound.bind(encrypter)
    const secureOutbound = encrypter.secureOutbound.bind(encrypter)
    const tune = async (secure: Promise<SecuredConnection<NoiseExtensions>>): Promise<SecuredConnection<NoiseExtensions>> => {
      const secured = await secure
      quietLengthDecoder(secured.connection)
      return secured
    }
    encrypter.secureInbound = async (connection: MessageStream, options?: SecureConnectionOptions) => {
      coalesceSends(connection)
      return tune(secureInbound(connection, options))
    }
    encrypter.secureOutbound = async (connection: MessageStream, options?: SecureConnectionOptions) => {
      coalesceSends(connection)
      return tune(secureOutbound(connection, options))
    }
    return encrypter
  }
}
