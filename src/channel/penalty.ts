import { PENALTY_MALFORMED_FRAME, PENALTY_OVERSIZED_FRAME } from '../constants.ts'
import type { PeerId } from '@libp2p/interface'

/**
 * Where a protocol handler reports a peer's misbehaviour (issue #19): src/standing's `Standing`
 * fits. Declared here, low in the floors, so that replication and membership need not import it.
 */
export interface Penaliser {
  /** `peer` did something an honest peer does not (`reason`, a metric label): it costs `points` */
  penalise(peer: PeerId, reason: PenaltyReason, points: number): void
}

/** Why a peer was penalised: the label of `p2pstore_peer_penalties_total`. */
export type PenaltyReason = 'malformed-frame' | 'oversized-frame' | 'slow-reader' | 'over-quota'

/** lpStream's errors for a length prefix that is malformed or over `maxDataLength` */
const OVERSIZED = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

/**
 * What an error that ended an inbound stream says of its sender: a malformed frame (a decoder's
 * `InvalidMessageError`: bad protobuf, a field out of range, a protocol violation), a frame
 * announced over the size limit, or nothing (the stream closed, timed out, was reset by a budget).
 */
export function frameOffence (err: unknown): { reason: PenaltyReason, points: number } | undefined {
  if (!(err instanceof Error)) return undefined
  if (err.name === 'InvalidMessageError') return { reason: 'malformed-frame', points: PENALTY_MALFORMED_FRAME }
  if (OVERSIZED.has(err.name)) return { reason: 'oversized-frame', points: PENALTY_OVERSIZED_FRAME }
  return undefined
}
