/**
 * Yamux (`@chainsafe/libp2p-yamux`) as p2pstore runs it: the library's muxer, with its window
 * updates sent when half of a stream's receive window is used up (as hashicorp/yamux and
 * go-yamux do) rather than after every data frame. The library answered each frame received with
 * a window-update frame of its own: one extra encrypted frame and socket write back for every
 * replica request and every response, about as many frames as the requests themselves (measured
 * on 3 daemons under load, issue #17).
 *
 * A sender still never exceeds the window it was granted; it is only told of new room later, when
 * there is half a window of it (128 KiB at the initial 256 KiB). Updates that carry a flag (the
 * SYN/ACK of a new stream) and those of streams in any other state than established go out as the
 * library sends them. When a release of the library no longer has the shape this expects, the
 * muxer is left as it is (test/protocol/yamux.spec.ts fails then).
 *
 * Limits (issue #19): at most YAMUX_MAX_STREAMS streams each way per connection, windows of at
 * most YAMUX_MAX_STREAM_WINDOW, and a data frame announced longer than that window is refused at
 * its 12-byte header. The library's decoder (8.0.1, decode.ts) buffers a data frame whole, up to
 * the 4 GiB its length field allows, before the stream checks it against its receive window: one
 * header could make a connection hold gigabytes. Here the connection is closed at the header.
 *
 * @packageDocumentation
 */

import { yamux } from '@chainsafe/libp2p-yamux'
import { InvalidMessageError } from '@libp2p/interface'
import { YAMUX_MAX_STREAMS, YAMUX_MAX_STREAM_WINDOW } from '../constants.ts'
import type { YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import type { StreamMuxerFactory } from '@libp2p/interface'

/** The library's `StreamState.Established` (stream.ts): both sides have seen SYN and ACK. */
const ESTABLISHED = 3

/** The parts of the library's stream this module tunes. */
interface TunableStream {
  state?: unknown
  recvWindow?: unknown
  recvWindowCapacity?: unknown
  sendWindowUpdate?: unknown
}

/**
 * Makes an established stream send its window update only once half of its receive window is used
 * up. Returns whether the stream had the expected shape.
 */
export function deferWindowUpdates (stream: unknown): boolean {
  const tunable = stream as TunableStream
  const send = tunable.sendWindowUpdate
  if (typeof send !== 'function' || typeof tunable.recvWindow !== 'number' || typeof tunable.recvWindowCapacity !== 'number') return false
  tunable.sendWindowUpdate = function (this: TunableStream): void {
    if (this.state === ESTABLISHED && (this.recvWindowCapacity as number) * 2 >= (this.recvWindow as number)) return
    send.call(this)
  }
  return true
}

/** What the library's muxer has that this module hooks into (absent in other versions). */
interface TunableMuxer {
  _newStream?: unknown
  decoder?: { buffer?: unknown, readFrame?: unknown }
}

/** A yamux frame header: version, type, flags (2), stream id (4), length (4), big-endian. */
const HEADER_LENGTH = 12
/** The header's type of a data frame. */
const TYPE_DATA = 0

/**
 * Makes a muxer's decoder refuse a data frame whose header announces more than `maxFrame` bytes
 * before buffering its body: it throws, and the library closes the connection. Returns whether
 * the muxer had the expected shape.
 */
export function limitFrameLength (muxer: unknown, maxFrame: number): boolean {
  const decoder = (muxer as TunableMuxer).decoder
  const readFrame = decoder?.readFrame
  const buffer = decoder?.buffer as { byteLength?: unknown, subarray?: unknown } | undefined
  if (decoder == null || typeof readFrame !== 'function' || typeof buffer?.subarray !== 'function') return false
  decoder.readFrame = function (this: { buffer: { byteLength: number, subarray(start: number, end: number): Uint8Array } }): unknown {
    if (this.buffer.byteLength >= HEADER_LENGTH) {
      const header = this.buffer.subarray(0, HEADER_LENGTH)
      const length = new DataView(header.buffer, header.byteOffset, HEADER_LENGTH).getUint32(8)
      if (header[1] === TYPE_DATA && length > maxFrame) {
        throw new InvalidMessageError(`yamux data frame of ${length} bytes announced, over the largest stream window (${maxFrame} bytes)`)
      }
    }
    return readFrame.call(this)
  }
  return true
}

/**
 * The limits p2pstore's muxer runs with: YAMUX_MAX_STREAMS each way, windows of at most
 * YAMUX_MAX_STREAM_WINDOW; `init` overrides them.
 */
export function yamuxLimits (init: YamuxMuxerInit = {}): YamuxMuxerInit {
  return {
    maxInboundStreams: YAMUX_MAX_STREAMS,
    maxOutboundStreams: YAMUX_MAX_STREAMS,
    ...init,
    streamOptions: { maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW, ...init.streamOptions }
  }
}

/**
 * `yamux(init)` with deferred window updates on every stream, p2pstore's limits (`yamuxLimits`)
 * and data frames longer than the largest window refused at their header; a drop-in for
 * `streamMuxers`.
 */
export function deferredWindowYamux (given?: YamuxMuxerInit): () => StreamMuxerFactory {
  const init = yamuxLimits(given)
  const maxFrame = init.streamOptions?.maxStreamWindowSize ?? YAMUX_MAX_STREAM_WINDOW
  const factory = yamux(init)
  return () => {
    const muxers = factory()
    const create = muxers.createStreamMuxer.bind(muxers)
    muxers.createStreamMuxer = (connection) => {
      const muxer = create(connection)
      limitFrameLength(muxer, maxFrame)
      const tunable = muxer as unknown as TunableMuxer
      const newStream = tunable._newStream
      if (typeof newStream === 'function') {
        tunable._newStream = function (this: unknown, ...args: unknown[]): unknown {
          const stream = newStream.apply(this, args)
          deferWindowUpdates(stream)
          return stream
        }
      }
      return muxer
    }
    return muxers
  }
}
