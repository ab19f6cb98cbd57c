/**
 * Everything p2pstore puts on the wire: the `.proto` schemas with their protons-generated code,
 * and the codecs that turn them into validated in-memory types. No other folder knows the bytes.
 *
 * @packageDocumentation
 */

export { Request, Response, PutArgs } from './kv/kv.ts'
export {
  DEFAULT_KV_LIMITS,
  contextFromWire,
  contextToWire,
  decodeContext,
  decodeOrThrow,
  decodeSiblingSet,
  encodeContext,
  encodeSiblingSet,
  siblingSetFromWire,
  siblingSetToWire
} from './kv/codec.ts'
export type { KvLimits } from './kv/codec.ts'
