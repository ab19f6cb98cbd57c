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
 * @packageDocumentation
 */

import { yamux } from '@chainsafe/libp2p-yamux'
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
}

/** `yamux(init)` with deferred window updates on every stream; a drop-in for `streamMuxers`. */
export function deferredWindowYamux (init?: YamuxMuxerInit): () => StreamMuxerFactory {
  const factory = yamux(init)
  return () => {
    const muxers = factory()
    const create = muxers.createStreamMuxer.bind(muxers)
    muxers.createStreamMuxer = (connection) => {
      const muxer = create(connection)
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
