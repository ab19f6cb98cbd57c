/**
 * Everything p2pstore puts on the wire: the `.proto` schemas with their protons-generated code,
 * and the codecs that turn frames into validated in-memory types. No other folder knows the bytes.
 *
 * @packageDocumentation
 */

export {
  DEFAULT_KV_LIMITS,
  decodeContext,
  decodeSiblingSet,
  encodeContext,
  encodeSiblingSet
} from './kv/codec.ts'
export type { KvLimits } from './kv/codec.ts'
export { decodeRequest, decodeResponse, encodeRequest, encodeResponse, validHintOwners } from './kv/messages.ts'
export type { ForwardedPut, KeyDigest, KvRequest, KvResponse, ScanEntry, ScanRange } from './kv/messages.ts'
export { decodeContextToken, encodeContextToken } from './token.ts'
export { DEFAULT_MEMBERSHIP_LIMITS, decodeMembershipMessage, encodeMembershipMessage, memberUpdateSize } from './membership/codec.ts'
export type { MemberUpdate, MembershipDecodeOptions, MembershipLimits, MembershipMessage, WireMemberState } from './membership/codec.ts'
export {
  MAX_ROSTER_BYTES,
  MAX_ROSTER_MEMBERS,
  decodeRosterBody,
  decodeRosterExchange,
  decodeSignedRoster,
  encodeRosterBody,
  encodeRosterExchange,
  encodeSignedRoster
} from './roster/codec.ts'
export type { WireRosterBody, WireRosterMember, WireSignedRoster } from './roster/codec.ts'
export { framedNoise, noiseFrameLength, NOISE_NEED_MORE_BYTES } from './noise.ts'
export { deferredWindowYamux, deferWindowUpdates, limitFrameLength, yamuxLimits } from './yamux.ts'
