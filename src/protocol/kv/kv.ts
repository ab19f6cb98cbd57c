import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Dot {
  actor: Uint8Array<ArrayBuffer>
  counter: bigint
}

export namespace Dot {
  let _codec: Codec<Dot>

  export const codec = (): Codec<Dot> => {
    if (_codec == null) {
      _codec = message<Dot>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.actor != null && obj.actor.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.actor)
        }

        if ((obj.counter != null && obj.counter !== 0n)) {
          w.uint32(16)
          w.uint64(obj.counter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          actor: uint8ArrayAlloc(0),
          counter: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.actor = reader.bytes()
              break
            }
            case 2: {
              obj.counter = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.actor`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.counter`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DotActorFieldEvent {
    field: '$.actor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DotCounterFieldEvent {
    field: '$.counter'
    value: bigint
  }

  export function encode (obj: Partial<Dot>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Dot.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Dot>): Dot {
    return decodeMessage(buf, Dot.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Dot>): Generator<DotActorFieldEvent | DotCounterFieldEvent> {
    return streamMessage(buf, Dot.codec(), opts)
  }
}

export interface VersionEntry {
  actor: Uint8Array<ArrayBuffer>
  counter: bigint
}

export namespace VersionEntry {
  let _codec: Codec<VersionEntry>

  export const codec = (): Codec<VersionEntry> => {
    if (_codec == null) {
      _codec = message<VersionEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.actor != null && obj.actor.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.actor)
        }

        if ((obj.counter != null && obj.counter !== 0n)) {
          w.uint32(16)
          w.uint64(obj.counter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          actor: uint8ArrayAlloc(0),
          counter: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.actor = reader.bytes()
              break
            }
            case 2: {
              obj.counter = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.actor`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.counter`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface VersionEntryActorFieldEvent {
    field: '$.actor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface VersionEntryCounterFieldEvent {
    field: '$.counter'
    value: bigint
  }

  export function encode (obj: Partial<VersionEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, VersionEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<VersionEntry>): VersionEntry {
    return decodeMessage(buf, VersionEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<VersionEntry>): Generator<VersionEntryActorFieldEvent | VersionEntryCounterFieldEvent> {
    return streamMessage(buf, VersionEntry.codec(), opts)
  }
}

export interface Context {
  vv: VersionEntry[]
  cloud: Dot[]
}

export namespace Context {
  let _codec: Codec<Context>

  export const codec = (): Codec<Context> => {
    if (_codec == null) {
      _codec = message<Context>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.vv != null && obj.vv.length > 0) {
          for (const value of obj.vv) {
            w.uint32(10)
            VersionEntry.codec().encode(value, w)
          }
        }

        if (obj.cloud != null && obj.cloud.length > 0) {
          for (const value of obj.cloud) {
            w.uint32(18)
            Dot.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          vv: [],
          cloud: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.vv != null && obj.vv.length === opts.limits.vv) {
                throw new MaxLengthError('Decode error - repeated field "vv" had too many elements')
              }

              obj.vv.push(VersionEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.vv$
              }))
              break
            }
            case 2: {
              if (opts.limits?.cloud != null && obj.cloud.length === opts.limits.cloud) {
                throw new MaxLengthError('Decode error - repeated field "cloud" had too many elements')
              }

              obj.cloud.push(Dot.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cloud$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          vv: 0,
          cloud: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.vv != null && obj.vv === opts.limits.vv) {
                throw new MaxLengthError('Streaming decode error - repeated field "vv" had too many elements')
              }

              for (const evt of VersionEntry.codec().stream(reader, reader.uint32(), `${prefix}.vv[]`, {
                limits: opts.limits?.vv$
              })) {
                yield {
                  ...evt,
                  index: obj.vv
                }
              }

              obj.vv++

              break
            }
            case 2: {
              if (opts.limits?.cloud != null && obj.cloud === opts.limits.cloud) {
                throw new MaxLengthError('Streaming decode error - repeated field "cloud" had too many elements')
              }

              for (const evt of Dot.codec().stream(reader, reader.uint32(), `${prefix}.cloud[]`, {
                limits: opts.limits?.cloud$
              })) {
                yield {
                  ...evt,
                  index: obj.cloud
                }
              }

              obj.cloud++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ContextVvActorFieldEvent {
    field: '$.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ContextVvCounterFieldEvent {
    field: '$.vv[].counter'
    value: bigint
    index: number
  }

  export interface ContextCloudActorFieldEvent {
    field: '$.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ContextCloudCounterFieldEvent {
    field: '$.cloud[].counter'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<Context>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Context.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Context>): Context {
    return decodeMessage(buf, Context.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Context>): Generator<ContextVvActorFieldEvent | ContextVvCounterFieldEvent | ContextCloudActorFieldEvent | ContextCloudCounterFieldEvent> {
    return streamMessage(buf, Context.codec(), opts)
  }
}

export interface Sibling {
  dot?: Dot
  value: Uint8Array<ArrayBuffer>
  timestamp: bigint
  deleted: boolean
}

export namespace Sibling {
  let _codec: Codec<Sibling>

  export const codec = (): Codec<Sibling> => {
    if (_codec == null) {
      _codec = message<Sibling>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.dot != null) {
          w.uint32(10)
          Dot.codec().encode(obj.dot, w)
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.value)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(24)
          w.uint64(obj.timestamp)
        }

        if ((obj.deleted != null && obj.deleted !== false)) {
          w.uint32(32)
          w.bool(obj.deleted)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          value: uint8ArrayAlloc(0),
          timestamp: 0n,
          deleted: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.dot = Dot.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.dot
              })
              break
            }
            case 2: {
              obj.value = reader.bytes()
              break
            }
            case 3: {
              obj.timestamp = reader.uint64()
              break
            }
            case 4: {
              obj.deleted = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Dot.codec().stream(reader, reader.uint32(), `${prefix}.dot`, {
                limits: opts.limits?.dot
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.value`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.deleted`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SiblingDotActorFieldEvent {
    field: '$.dot.actor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SiblingDotCounterFieldEvent {
    field: '$.dot.counter'
    value: bigint
  }

  export interface SiblingValueFieldEvent {
    field: '$.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SiblingTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface SiblingDeletedFieldEvent {
    field: '$.deleted'
    value: boolean
  }

  export function encode (obj: Partial<Sibling>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Sibling.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Sibling>): Sibling {
    return decodeMessage(buf, Sibling.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Sibling>): Generator<SiblingDotActorFieldEvent | SiblingDotCounterFieldEvent | SiblingValueFieldEvent | SiblingTimestampFieldEvent | SiblingDeletedFieldEvent> {
    return streamMessage(buf, Sibling.codec(), opts)
  }
}

export interface SiblingSet {
  siblings: Sibling[]
  context?: Context
}

export namespace SiblingSet {
  let _codec: Codec<SiblingSet>

  export const codec = (): Codec<SiblingSet> => {
    if (_codec == null) {
      _codec = message<SiblingSet>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.siblings != null && obj.siblings.length > 0) {
          for (const value of obj.siblings) {
            w.uint32(10)
            Sibling.codec().encode(value, w)
          }
        }

        if (obj.context != null) {
          w.uint32(18)
          Context.codec().encode(obj.context, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          siblings: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.siblings != null && obj.siblings.length === opts.limits.siblings) {
                throw new MaxLengthError('Decode error - repeated field "siblings" had too many elements')
              }

              obj.siblings.push(Sibling.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.siblings$
              }))
              break
            }
            case 2: {
              obj.context = Context.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.context
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          siblings: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.siblings != null && obj.siblings === opts.limits.siblings) {
                throw new MaxLengthError('Streaming decode error - repeated field "siblings" had too many elements')
              }

              for (const evt of Sibling.codec().stream(reader, reader.uint32(), `${prefix}.siblings[]`, {
                limits: opts.limits?.siblings$
              })) {
                yield {
                  ...evt,
                  index: obj.siblings
                }
              }

              obj.siblings++

              break
            }
            case 2: {
              yield * Context.codec().stream(reader, reader.uint32(), `${prefix}.context`, {
                limits: opts.limits?.context
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SiblingSetSiblingsDotActorFieldEvent {
    field: '$.siblings[].dot.actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SiblingSetSiblingsDotCounterFieldEvent {
    field: '$.siblings[].dot.counter'
    value: bigint
    index: number
  }

  export interface SiblingSetSiblingsValueFieldEvent {
    field: '$.siblings[].value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SiblingSetSiblingsTimestampFieldEvent {
    field: '$.siblings[].timestamp'
    value: bigint
    index: number
  }

  export interface SiblingSetSiblingsDeletedFieldEvent {
    field: '$.siblings[].deleted'
    value: boolean
    index: number
  }

  export interface SiblingSetContextVvActorFieldEvent {
    field: '$.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SiblingSetContextVvCounterFieldEvent {
    field: '$.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface SiblingSetContextCloudActorFieldEvent {
    field: '$.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SiblingSetContextCloudCounterFieldEvent {
    field: '$.context.cloud[].counter'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<SiblingSet>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SiblingSet.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SiblingSet>): SiblingSet {
    return decodeMessage(buf, SiblingSet.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SiblingSet>): Generator<SiblingSetSiblingsDotActorFieldEvent | SiblingSetSiblingsDotCounterFieldEvent | SiblingSetSiblingsValueFieldEvent | SiblingSetSiblingsTimestampFieldEvent | SiblingSetSiblingsDeletedFieldEvent | SiblingSetContextVvActorFieldEvent | SiblingSetContextVvCounterFieldEvent | SiblingSetContextCloudActorFieldEvent | SiblingSetContextCloudCounterFieldEvent> {
    return streamMessage(buf, SiblingSet.codec(), opts)
  }
}

export enum Condition {
  NONE = 'NONE',
  IF_NONE_MATCH = 'IF_NONE_MATCH',
  IF_MATCH = 'IF_MATCH'
}

enum __ConditionValues {
  NONE = 0,
  IF_NONE_MATCH = 1,
  IF_MATCH = 2
}

export namespace Condition {
  export const codec = (): Codec<Condition> => {
    return enumeration<Condition>(__ConditionValues)
  }
}

export interface PutArgs {
  value: Uint8Array<ArrayBuffer>
  deleted: boolean
  context?: Context
  n: number
  w: number
  strict: boolean
  condition: Condition
}

export namespace PutArgs {
  let _codec: Codec<PutArgs>

  export const codec = (): Codec<PutArgs> => {
    if (_codec == null) {
      _codec = message<PutArgs>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.value)
        }

        if ((obj.deleted != null && obj.deleted !== false)) {
          w.uint32(16)
          w.bool(obj.deleted)
        }

        if (obj.context != null) {
          w.uint32(26)
          Context.codec().encode(obj.context, w)
        }

        if ((obj.n != null && obj.n !== 0)) {
          w.uint32(32)
          w.uint32(obj.n)
        }

        if ((obj.w != null && obj.w !== 0)) {
          w.uint32(40)
          w.uint32(obj.w)
        }

        if ((obj.strict != null && obj.strict !== false)) {
          w.uint32(48)
          w.bool(obj.strict)
        }

        if (obj.condition != null && __ConditionValues[obj.condition] !== 0) {
          w.uint32(56)
          Condition.codec().encode(obj.condition, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          value: uint8ArrayAlloc(0),
          deleted: false,
          n: 0,
          w: 0,
          strict: false,
          condition: Condition.NONE
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.value = reader.bytes()
              break
            }
            case 2: {
              obj.deleted = reader.bool()
              break
            }
            case 3: {
              obj.context = Context.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.context
              })
              break
            }
            case 4: {
              obj.n = reader.uint32()
              break
            }
            case 5: {
              obj.w = reader.uint32()
              break
            }
            case 6: {
              obj.strict = reader.bool()
              break
            }
            case 7: {
              obj.condition = Condition.codec().decode(reader)
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.value`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.deleted`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield * Context.codec().stream(reader, reader.uint32(), `${prefix}.context`, {
                limits: opts.limits?.context
              })

              break
            }
            case 4: {
              yield {
                field: `${prefix}.n`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.w`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.strict`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.condition`,
                value: Condition.codec().decode(reader)
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PutArgsValueFieldEvent {
    field: '$.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PutArgsDeletedFieldEvent {
    field: '$.deleted'
    value: boolean
  }

  export interface PutArgsContextVvActorFieldEvent {
    field: '$.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PutArgsContextVvCounterFieldEvent {
    field: '$.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface PutArgsContextCloudActorFieldEvent {
    field: '$.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PutArgsContextCloudCounterFieldEvent {
    field: '$.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface PutArgsNFieldEvent {
    field: '$.n'
    value: number
  }

  export interface PutArgsWFieldEvent {
    field: '$.w'
    value: number
  }

  export interface PutArgsStrictFieldEvent {
    field: '$.strict'
    value: boolean
  }

  export interface PutArgsConditionFieldEvent {
    field: '$.condition'
    value: Condition
  }

  export function encode (obj: Partial<PutArgs>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PutArgs.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PutArgs>): PutArgs {
    return decodeMessage(buf, PutArgs.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PutArgs>): Generator<PutArgsValueFieldEvent | PutArgsDeletedFieldEvent | PutArgsContextVvActorFieldEvent | PutArgsContextVvCounterFieldEvent | PutArgsContextCloudActorFieldEvent | PutArgsContextCloudCounterFieldEvent | PutArgsNFieldEvent | PutArgsWFieldEvent | PutArgsStrictFieldEvent | PutArgsConditionFieldEvent> {
    return streamMessage(buf, PutArgs.codec(), opts)
  }
}

export interface ScanArgs {
  prefix: Uint8Array<ArrayBuffer>
  after: Uint8Array<ArrayBuffer>
  limit: number
  values: boolean
}

export namespace ScanArgs {
  let _codec: Codec<ScanArgs>

  export const codec = (): Codec<ScanArgs> => {
    if (_codec == null) {
      _codec = message<ScanArgs>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.prefix != null && obj.prefix.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.prefix)
        }

        if ((obj.after != null && obj.after.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.after)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(24)
          w.uint32(obj.limit)
        }

        if ((obj.values != null && obj.values !== false)) {
          w.uint32(32)
          w.bool(obj.values)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          prefix: uint8ArrayAlloc(0),
          after: uint8ArrayAlloc(0),
          limit: 0,
          values: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.prefix = reader.bytes()
              break
            }
            case 2: {
              obj.after = reader.bytes()
              break
            }
            case 3: {
              obj.limit = reader.uint32()
              break
            }
            case 4: {
              obj.values = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.prefix`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.after`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.values`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ScanArgsPrefixFieldEvent {
    field: '$.prefix'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ScanArgsAfterFieldEvent {
    field: '$.after'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ScanArgsLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export interface ScanArgsValuesFieldEvent {
    field: '$.values'
    value: boolean
  }

  export function encode (obj: Partial<ScanArgs>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ScanArgs.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ScanArgs>): ScanArgs {
    return decodeMessage(buf, ScanArgs.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ScanArgs>): Generator<ScanArgsPrefixFieldEvent | ScanArgsAfterFieldEvent | ScanArgsLimitFieldEvent | ScanArgsValuesFieldEvent> {
    return streamMessage(buf, ScanArgs.codec(), opts)
  }
}

export interface Request {
  id: bigint
  type: Request.Type
  key: Uint8Array<ArrayBuffer>
  state?: SiblingSet
  put?: PutArgs
  hintFor: string[]
  buckets: number[]
  scan?: ScanArgs
  condition: Condition
}

export namespace Request {
  export enum Type {
    UNKNOWN = 'UNKNOWN',
    READ = 'READ',
    STORE = 'STORE',
    COORDINATE = 'COORDINATE',
    SUMMARY = 'SUMMARY',
    DIGESTS = 'DIGESTS',
    PURGE = 'PURGE',
    SCAN = 'SCAN'
  }

  enum __TypeValues {
    UNKNOWN = 0,
    READ = 1,
    STORE = 2,
    COORDINATE = 3,
    SUMMARY = 4,
    DIGESTS = 5,
    PURGE = 6,
    SCAN = 7
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<Request>

  export const codec = (): Codec<Request> => {
    if (_codec == null) {
      _codec = message<Request>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== 0n)) {
          w.uint32(8)
          w.uint64(obj.id)
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(16)
          Request.Type.codec().encode(obj.type, w)
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.key)
        }

        if (obj.state != null) {
          w.uint32(34)
          SiblingSet.codec().encode(obj.state, w)
        }

        if (obj.put != null) {
          w.uint32(42)
          PutArgs.codec().encode(obj.put, w)
        }

        if (obj.hintFor != null && obj.hintFor.length > 0) {
          for (const value of obj.hintFor) {
            w.uint32(50)
            w.string(value)
          }
        }

        if (obj.buckets != null && obj.buckets.length > 0) {
          for (const value of obj.buckets) {
            w.uint32(56)
            w.uint32(value)
          }
        }

        if (obj.scan != null) {
          w.uint32(66)
          ScanArgs.codec().encode(obj.scan, w)
        }

        if (obj.condition != null && __ConditionValues[obj.condition] !== 0) {
          w.uint32(160)
          Condition.codec().encode(obj.condition, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: 0n,
          type: Type.UNKNOWN,
          key: uint8ArrayAlloc(0),
          hintFor: [],
          buckets: [],
          condition: Condition.NONE
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.uint64()
              break
            }
            case 2: {
              obj.type = Request.Type.codec().decode(reader)
              break
            }
            case 3: {
              obj.key = reader.bytes()
              break
            }
            case 4: {
              obj.state = SiblingSet.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.state
              })
              break
            }
            case 5: {
              obj.put = PutArgs.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.put
              })
              break
            }
            case 6: {
              if (opts.limits?.hintFor != null && obj.hintFor.length === opts.limits.hintFor) {
                throw new MaxLengthError('Decode error - repeated field "hintFor" had too many elements')
              }

              obj.hintFor.push(reader.string())
              break
            }
            case 7: {
              if (opts.limits?.buckets != null && obj.buckets.length === opts.limits.buckets) {
                throw new MaxLengthError('Decode error - repeated field "buckets" had too many elements')
              }

              obj.buckets.push(reader.uint32())
              break
            }
            case 8: {
              obj.scan = ScanArgs.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.scan
              })
              break
            }
            case 20: {
              obj.condition = Condition.codec().decode(reader)
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          hintFor: 0,
          buckets: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.type`,
                value: Request.Type.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.key`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield * SiblingSet.codec().stream(reader, reader.uint32(), `${prefix}.state`, {
                limits: opts.limits?.state
              })

              break
            }
            case 5: {
              yield * PutArgs.codec().stream(reader, reader.uint32(), `${prefix}.put`, {
                limits: opts.limits?.put
              })

              break
            }
            case 6: {
              if (opts.limits?.hintFor != null && obj.hintFor === opts.limits.hintFor) {
                throw new MaxLengthError('Streaming decode error - repeated field "hintFor" had too many elements')
              }

              yield {
                field: `${prefix}.hintFor[]`,
                index: obj.hintFor,
                value: reader.string()
              }

              obj.hintFor++

              break
            }
            case 7: {
              if (opts.limits?.buckets != null && obj.buckets === opts.limits.buckets) {
                throw new MaxLengthError('Streaming decode error - repeated field "buckets" had too many elements')
              }

              yield {
                field: `${prefix}.buckets[]`,
                index: obj.buckets,
                value: reader.uint32()
              }

              obj.buckets++

              break
            }
            case 8: {
              yield * ScanArgs.codec().stream(reader, reader.uint32(), `${prefix}.scan`, {
                limits: opts.limits?.scan
              })

              break
            }
            case 20: {
              yield {
                field: `${prefix}.condition`,
                value: Condition.codec().decode(reader)
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RequestIdFieldEvent {
    field: '$.id'
    value: bigint
  }

  export interface RequestTypeFieldEvent {
    field: '$.type'
    value: Request.Type
  }

  export interface RequestKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestStateSiblingsDotActorFieldEvent {
    field: '$.state.siblings[].dot.actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestStateSiblingsDotCounterFieldEvent {
    field: '$.state.siblings[].dot.counter'
    value: bigint
    index: number
  }

  export interface RequestStateSiblingsValueFieldEvent {
    field: '$.state.siblings[].value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestStateSiblingsTimestampFieldEvent {
    field: '$.state.siblings[].timestamp'
    value: bigint
    index: number
  }

  export interface RequestStateSiblingsDeletedFieldEvent {
    field: '$.state.siblings[].deleted'
    value: boolean
    index: number
  }

  export interface RequestStateContextVvActorFieldEvent {
    field: '$.state.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestStateContextVvCounterFieldEvent {
    field: '$.state.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface RequestStateContextCloudActorFieldEvent {
    field: '$.state.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestStateContextCloudCounterFieldEvent {
    field: '$.state.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface RequestPutValueFieldEvent {
    field: '$.put.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestPutDeletedFieldEvent {
    field: '$.put.deleted'
    value: boolean
  }

  export interface RequestPutContextVvActorFieldEvent {
    field: '$.put.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestPutContextVvCounterFieldEvent {
    field: '$.put.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface RequestPutContextCloudActorFieldEvent {
    field: '$.put.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestPutContextCloudCounterFieldEvent {
    field: '$.put.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface RequestPutNFieldEvent {
    field: '$.put.n'
    value: number
  }

  export interface RequestPutWFieldEvent {
    field: '$.put.w'
    value: number
  }

  export interface RequestPutStrictFieldEvent {
    field: '$.put.strict'
    value: boolean
  }

  export interface RequestPutConditionFieldEvent {
    field: '$.put.condition'
    value: Condition
  }

  export interface RequestHintForFieldEvent {
    field: '$.hintFor[]'
    index: number
    value: string
  }

  export interface RequestBucketsFieldEvent {
    field: '$.buckets[]'
    index: number
    value: number
  }

  export interface RequestScanPrefixFieldEvent {
    field: '$.scan.prefix'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestScanAfterFieldEvent {
    field: '$.scan.after'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestScanLimitFieldEvent {
    field: '$.scan.limit'
    value: number
  }

  export interface RequestScanValuesFieldEvent {
    field: '$.scan.values'
    value: boolean
  }

  export interface RequestConditionFieldEvent {
    field: '$.condition'
    value: Condition
  }

  export function encode (obj: Partial<Request>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Request.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Request>): Request {
    return decodeMessage(buf, Request.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Request>): Generator<RequestIdFieldEvent | RequestTypeFieldEvent | RequestKeyFieldEvent | RequestStateSiblingsDotActorFieldEvent | RequestStateSiblingsDotCounterFieldEvent | RequestStateSiblingsValueFieldEvent | RequestStateSiblingsTimestampFieldEvent | RequestStateSiblingsDeletedFieldEvent | RequestStateContextVvActorFieldEvent | RequestStateContextVvCounterFieldEvent | RequestStateContextCloudActorFieldEvent | RequestStateContextCloudCounterFieldEvent | RequestPutValueFieldEvent | RequestPutDeletedFieldEvent | RequestPutContextVvActorFieldEvent | RequestPutContextVvCounterFieldEvent | RequestPutContextCloudActorFieldEvent | RequestPutContextCloudCounterFieldEvent | RequestPutNFieldEvent | RequestPutWFieldEvent | RequestPutStrictFieldEvent | RequestPutConditionFieldEvent | RequestHintForFieldEvent | RequestBucketsFieldEvent | RequestScanPrefixFieldEvent | RequestScanAfterFieldEvent | RequestScanLimitFieldEvent | RequestScanValuesFieldEvent | RequestConditionFieldEvent> {
    return streamMessage(buf, Request.codec(), opts)
  }
}

export interface ScanEntry {
  key: Uint8Array<ArrayBuffer>
  state?: SiblingSet
}

export namespace ScanEntry {
  let _codec: Codec<ScanEntry>

  export const codec = (): Codec<ScanEntry> => {
    if (_codec == null) {
      _codec = message<ScanEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.key)
        }

        if (obj.state != null) {
          w.uint32(18)
          SiblingSet.codec().encode(obj.state, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          key: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.key = reader.bytes()
              break
            }
            case 2: {
              obj.state = SiblingSet.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.state
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.key`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield * SiblingSet.codec().stream(reader, reader.uint32(), `${prefix}.state`, {
                limits: opts.limits?.state
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ScanEntryKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ScanEntryStateSiblingsDotActorFieldEvent {
    field: '$.state.siblings[].dot.actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ScanEntryStateSiblingsDotCounterFieldEvent {
    field: '$.state.siblings[].dot.counter'
    value: bigint
    index: number
  }

  export interface ScanEntryStateSiblingsValueFieldEvent {
    field: '$.state.siblings[].value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ScanEntryStateSiblingsTimestampFieldEvent {
    field: '$.state.siblings[].timestamp'
    value: bigint
    index: number
  }

  export interface ScanEntryStateSiblingsDeletedFieldEvent {
    field: '$.state.siblings[].deleted'
    value: boolean
    index: number
  }

  export interface ScanEntryStateContextVvActorFieldEvent {
    field: '$.state.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ScanEntryStateContextVvCounterFieldEvent {
    field: '$.state.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface ScanEntryStateContextCloudActorFieldEvent {
    field: '$.state.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ScanEntryStateContextCloudCounterFieldEvent {
    field: '$.state.context.cloud[].counter'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<ScanEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ScanEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ScanEntry>): ScanEntry {
    return decodeMessage(buf, ScanEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ScanEntry>): Generator<ScanEntryKeyFieldEvent | ScanEntryStateSiblingsDotActorFieldEvent | ScanEntryStateSiblingsDotCounterFieldEvent | ScanEntryStateSiblingsValueFieldEvent | ScanEntryStateSiblingsTimestampFieldEvent | ScanEntryStateSiblingsDeletedFieldEvent | ScanEntryStateContextVvActorFieldEvent | ScanEntryStateContextVvCounterFieldEvent | ScanEntryStateContextCloudActorFieldEvent | ScanEntryStateContextCloudCounterFieldEvent> {
    return streamMessage(buf, ScanEntry.codec(), opts)
  }
}

export interface KeyDigest {
  key: Uint8Array<ArrayBuffer>
  hash: Uint8Array<ArrayBuffer>
}

export namespace KeyDigest {
  let _codec: Codec<KeyDigest>

  export const codec = (): Codec<KeyDigest> => {
    if (_codec == null) {
      _codec = message<KeyDigest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.key != null && obj.key.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.key)
        }

        if ((obj.hash != null && obj.hash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.hash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          key: uint8ArrayAlloc(0),
          hash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.key = reader.bytes()
              break
            }
            case 2: {
              obj.hash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.key`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.hash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface KeyDigestKeyFieldEvent {
    field: '$.key'
    value: Uint8Array<ArrayBuffer>
  }

  export interface KeyDigestHashFieldEvent {
    field: '$.hash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<KeyDigest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, KeyDigest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KeyDigest>): KeyDigest {
    return decodeMessage(buf, KeyDigest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<KeyDigest>): Generator<KeyDigestKeyFieldEvent | KeyDigestHashFieldEvent> {
    return streamMessage(buf, KeyDigest.codec(), opts)
  }
}

export interface Response {
  id: bigint
  status: Response.Status
  state?: SiblingSet
  context?: Context
  errorName: string
  errorMessage: string
  acks: number
  leaves: Uint8Array<ArrayBuffer>[]
  digests: KeyDigest[]
  entries: ScanEntry[]
  more: boolean
}

export namespace Response {
  export enum Status {
    OK = 'OK',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR'
  }

  enum __StatusValues {
    OK = 0,
    NOT_FOUND = 1,
    ERROR = 2
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<Response>

  export const codec = (): Codec<Response> => {
    if (_codec == null) {
      _codec = message<Response>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== 0n)) {
          w.uint32(8)
          w.uint64(obj.id)
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(16)
          Response.Status.codec().encode(obj.status, w)
        }

        if (obj.state != null) {
          w.uint32(26)
          SiblingSet.codec().encode(obj.state, w)
        }

        if (obj.context != null) {
          w.uint32(34)
          Context.codec().encode(obj.context, w)
        }

        if ((obj.errorName != null && obj.errorName !== '')) {
          w.uint32(42)
          w.string(obj.errorName)
        }

        if ((obj.errorMessage != null && obj.errorMessage !== '')) {
          w.uint32(50)
          w.string(obj.errorMessage)
        }

        if ((obj.acks != null && obj.acks !== 0)) {
          w.uint32(56)
          w.uint32(obj.acks)
        }

        if (obj.leaves != null && obj.leaves.length > 0) {
          for (const value of obj.leaves) {
            w.uint32(66)
            w.bytes(value)
          }
        }

        if (obj.digests != null && obj.digests.length > 0) {
          for (const value of obj.digests) {
            w.uint32(74)
            KeyDigest.codec().encode(value, w)
          }
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(82)
            ScanEntry.codec().encode(value, w)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(88)
          w.bool(obj.more)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: 0n,
          status: Status.OK,
          errorName: '',
          errorMessage: '',
          acks: 0,
          leaves: [],
          digests: [],
          entries: [],
          more: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.uint64()
              break
            }
            case 2: {
              obj.status = Response.Status.codec().decode(reader)
              break
            }
            case 3: {
              obj.state = SiblingSet.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.state
              })
              break
            }
            case 4: {
              obj.context = Context.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.context
              })
              break
            }
            case 5: {
              obj.errorName = reader.string()
              break
            }
            case 6: {
              obj.errorMessage = reader.string()
              break
            }
            case 7: {
              obj.acks = reader.uint32()
              break
            }
            case 8: {
              if (opts.limits?.leaves != null && obj.leaves.length === opts.limits.leaves) {
                throw new MaxLengthError('Decode error - repeated field "leaves" had too many elements')
              }

              obj.leaves.push(reader.bytes())
              break
            }
            case 9: {
              if (opts.limits?.digests != null && obj.digests.length === opts.limits.digests) {
                throw new MaxLengthError('Decode error - repeated field "digests" had too many elements')
              }

              obj.digests.push(KeyDigest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.digests$
              }))
              break
            }
            case 10: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(ScanEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            case 11: {
              obj.more = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          leaves: 0,
          digests: 0,
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.status`,
                value: Response.Status.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield * SiblingSet.codec().stream(reader, reader.uint32(), `${prefix}.state`, {
                limits: opts.limits?.state
              })

              break
            }
            case 4: {
              yield * Context.codec().stream(reader, reader.uint32(), `${prefix}.context`, {
                limits: opts.limits?.context
              })

              break
            }
            case 5: {
              yield {
                field: `${prefix}.errorName`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.errorMessage`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.acks`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              if (opts.limits?.leaves != null && obj.leaves === opts.limits.leaves) {
                throw new MaxLengthError('Streaming decode error - repeated field "leaves" had too many elements')
              }

              yield {
                field: `${prefix}.leaves[]`,
                index: obj.leaves,
                value: reader.bytes()
              }

              obj.leaves++

              break
            }
            case 9: {
              if (opts.limits?.digests != null && obj.digests === opts.limits.digests) {
                throw new MaxLengthError('Streaming decode error - repeated field "digests" had too many elements')
              }

              for (const evt of KeyDigest.codec().stream(reader, reader.uint32(), `${prefix}.digests[]`, {
                limits: opts.limits?.digests$
              })) {
                yield {
                  ...evt,
                  index: obj.digests
                }
              }

              obj.digests++

              break
            }
            case 10: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of ScanEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            case 11: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ResponseIdFieldEvent {
    field: '$.id'
    value: bigint
  }

  export interface ResponseStatusFieldEvent {
    field: '$.status'
    value: Response.Status
  }

  export interface ResponseStateSiblingsDotActorFieldEvent {
    field: '$.state.siblings[].dot.actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseStateSiblingsDotCounterFieldEvent {
    field: '$.state.siblings[].dot.counter'
    value: bigint
    index: number
  }

  export interface ResponseStateSiblingsValueFieldEvent {
    field: '$.state.siblings[].value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseStateSiblingsTimestampFieldEvent {
    field: '$.state.siblings[].timestamp'
    value: bigint
    index: number
  }

  export interface ResponseStateSiblingsDeletedFieldEvent {
    field: '$.state.siblings[].deleted'
    value: boolean
    index: number
  }

  export interface ResponseStateContextVvActorFieldEvent {
    field: '$.state.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseStateContextVvCounterFieldEvent {
    field: '$.state.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface ResponseStateContextCloudActorFieldEvent {
    field: '$.state.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseStateContextCloudCounterFieldEvent {
    field: '$.state.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface ResponseContextVvActorFieldEvent {
    field: '$.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseContextVvCounterFieldEvent {
    field: '$.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface ResponseContextCloudActorFieldEvent {
    field: '$.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseContextCloudCounterFieldEvent {
    field: '$.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface ResponseErrorNameFieldEvent {
    field: '$.errorName'
    value: string
  }

  export interface ResponseErrorMessageFieldEvent {
    field: '$.errorMessage'
    value: string
  }

  export interface ResponseAcksFieldEvent {
    field: '$.acks'
    value: number
  }

  export interface ResponseLeavesFieldEvent {
    field: '$.leaves[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseDigestsKeyFieldEvent {
    field: '$.digests[].key'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseDigestsHashFieldEvent {
    field: '$.digests[].hash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesKeyFieldEvent {
    field: '$.entries[].key'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesStateSiblingsDotActorFieldEvent {
    field: '$.entries[].state.siblings[].dot.actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesStateSiblingsDotCounterFieldEvent {
    field: '$.entries[].state.siblings[].dot.counter'
    value: bigint
    index: number
  }

  export interface ResponseEntriesStateSiblingsValueFieldEvent {
    field: '$.entries[].state.siblings[].value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesStateSiblingsTimestampFieldEvent {
    field: '$.entries[].state.siblings[].timestamp'
    value: bigint
    index: number
  }

  export interface ResponseEntriesStateSiblingsDeletedFieldEvent {
    field: '$.entries[].state.siblings[].deleted'
    value: boolean
    index: number
  }

  export interface ResponseEntriesStateContextVvActorFieldEvent {
    field: '$.entries[].state.context.vv[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesStateContextVvCounterFieldEvent {
    field: '$.entries[].state.context.vv[].counter'
    value: bigint
    index: number
  }

  export interface ResponseEntriesStateContextCloudActorFieldEvent {
    field: '$.entries[].state.context.cloud[].actor'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseEntriesStateContextCloudCounterFieldEvent {
    field: '$.entries[].state.context.cloud[].counter'
    value: bigint
    index: number
  }

  export interface ResponseMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export function encode (obj: Partial<Response>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Response.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Response>): Response {
    return decodeMessage(buf, Response.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Response>): Generator<ResponseIdFieldEvent | ResponseStatusFieldEvent | ResponseStateSiblingsDotActorFieldEvent | ResponseStateSiblingsDotCounterFieldEvent | ResponseStateSiblingsValueFieldEvent | ResponseStateSiblingsTimestampFieldEvent | ResponseStateSiblingsDeletedFieldEvent | ResponseStateContextVvActorFieldEvent | ResponseStateContextVvCounterFieldEvent | ResponseStateContextCloudActorFieldEvent | ResponseStateContextCloudCounterFieldEvent | ResponseContextVvActorFieldEvent | ResponseContextVvCounterFieldEvent | ResponseContextCloudActorFieldEvent | ResponseContextCloudCounterFieldEvent | ResponseErrorNameFieldEvent | ResponseErrorMessageFieldEvent | ResponseAcksFieldEvent | ResponseLeavesFieldEvent | ResponseDigestsKeyFieldEvent | ResponseDigestsHashFieldEvent | ResponseEntriesKeyFieldEvent | ResponseEntriesStateSiblingsDotActorFieldEvent | ResponseEntriesStateSiblingsDotCounterFieldEvent | ResponseEntriesStateSiblingsValueFieldEvent | ResponseEntriesStateSiblingsTimestampFieldEvent | ResponseEntriesStateSiblingsDeletedFieldEvent | ResponseEntriesStateContextVvActorFieldEvent | ResponseEntriesStateContextVvCounterFieldEvent | ResponseEntriesStateContextCloudActorFieldEvent | ResponseEntriesStateContextCloudCounterFieldEvent | ResponseMoreFieldEvent> {
    return streamMessage(buf, Response.codec(), opts)
  }
}
