/**
 * A hostile libp2p peer for attack tests (issue #19): its own identity, a plain libp2p node built
 * as a p2pstore peer's is (TCP, Noise, Yamux), speaking p2pstore's protocol ids with whatever it
 * likes to send. Nothing of p2pstore runs on it: it answers nothing, and it sends what an honest
 * peer never would.
 */
import { lpStream } from '@libp2p/utils'
import { MEMBERSHIP_MAX_FRAME, PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { decodeMembershipMessage, encodeMembershipMessage } from '../../src/protocol/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import type { MemberUpdate, MembershipMessage } from '../../src/protocol/index.ts'
import type { FloorServices } from '../bench/nodes.ts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A started hostile peer; `stop()` it (register it with the test's cleanup). */
export interface HostilePeer {
  readonly node: Libp2p<FloorServices>
  readonly peerId: PeerId
  /** dials `addrs` (a target's addresses) */
  dial(addrs: Multiaddr[]): Promise<void>
  /**
   * Sends one membership request to `target` on a stream of its own and resolves with the reply
   * (undefined if the target reset the stream or did not answer within `timeout` ms).
   */
  membership(target: PeerId, message: Omit<MembershipMessage, 'id'>, timeout?: number): Promise<MembershipMessage | undefined>
  /** `updates` in gossip messages of at most `perMessage` updates each, one after the other; how many were answered */
  flood(target: PeerId, updates: MemberUpdate[], perMessage?: number): Promise<number>
  stop(): Promise<void>
}

/** Starts a hostile peer on 127.0.0.1 (any free port). */
export async function createHostilePeer (): Promise<HostilePeer> {
  const node = await createFloorNode()
  const membership = async (target: PeerId, message: Omit<MembershipMessage, 'id'>, timeout = 10_000): Promise<MembershipMessage | undefined> => {
    const signal = AbortSignal.timeout(timeout)
    try {
      const stream = await node.dialProtocol(target, PROTOCOL_MEMBERSHIP, { signal })
      const lp = lpStream(stream, { maxDataLength: MEMBERSHIP_MAX_FRAME })
      await lp.write(encodeMembershipMessage({ ...message, id: 1 }), { signal })
      const reply = decodeMembershipMessage((await lp.read({ signal })).subarray())
      await stream.close().catch(() => {})
      return reply
    } catch {
      return undefined
    }
  }
  return {
    node,
    peerId: node.peerId,
    dial: async addrs => { await node.dial(addrs) },
    membership,
    flood: async (target, updates, perMessage = 200) => {
      let answered = 0
      for (let i = 0; i < updates.length; i += perMessage) {
        const reply = await membership(target, { type: 'gossip', updates: updates.slice(i, i + perMessage) })
        if (reply != null) answered++
      }
      return answered
    },
    stop: async () => { await node.stop() }
  }
}

/**
 * A length-prefixed frame whose body is not a valid message: field 1 with wire type 7, which no
 * protobuf has. Each one makes the receiving handler reset its stream.
 */
export const GARBAGE = new Uint8Array([6, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff])

/**
 * Queues one length-prefixed frame on `stream` without waiting for it to drain (lpStream's write
 * awaits a drain): what the target does not read stays in the hostile side's own write buffer.
 */
export function sendFrame (stream: Stream, frame: Uint8Array): void {
  const prefix = new Uint8Array(5)
  let n = frame.byteLength
  let at = 0
  while (n >= 0x80) {
    prefix[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  prefix[at++] = n
  stream.send(prefix.subarray(0, at))
  stream.send(frame)
}
