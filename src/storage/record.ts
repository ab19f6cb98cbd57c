import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Record {
  set: Uint8Array<ArrayBuffer>
  actor?: Uint8Array<ArrayBuffer>
  hintFor: string[]
  hintFrom?: string
}

export namespace Record {
  let _codec: Codec<Record>

  export const codec = (): Codec<Record> => {
    if (_codec == null) {
      _codec = message<Record>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.set != null && obj.set.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.set)
        }

        if (obj.actor != null) {
          w.uint32(18)
          w.bytes(obj.actor)
        }

        if (obj.hintFor != null && obj.hintFor.length > 0) {
          for (const value of obj.hintFor) {
            w.uint32(26)
            w.string(value)
          }
        }

        if (obj.hintFrom != null) {
          w.uint32(34)
          w.string(obj.hintFrom)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          set: uint8ArrayAlloc(0),
          hintFor: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.set = reader.bytes()
              break
            }
            case 2: {
              obj.actor = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.hintFor != null && obj.hintFor.length === opts.limits.hintFor) {
                throw new MaxLengthError('Decode error - repeated field "hintFor" had too many elements')
              }

              obj.hintFor.push(reader.string())
              break
            }
            case 4: {
              obj.hintFrom = reader.string()
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
          hintFor: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.set`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.actor`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
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
            case 4: {
              yield {
                field: `${prefix}.hintFrom`,
                value: reader.string()
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

  export interface RecordSetFieldEvent {
    field: '$.set'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RecordActorFieldEvent {
    field: '$.actor'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RecordHintForFieldEvent {
    field: '$.hintFor[]'
    index: number
    value: string
  }

  export interface RecordHintFromFieldEvent {
    field: '$.hintFrom'
    value: string
  }

  export function encode (obj: Partial<Record>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Record.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Record>): Record {
    return decodeMessage(buf, Record.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Record>): Generator<RecordSetFieldEvent | RecordActorFieldEvent | RecordHintForFieldEvent | RecordHintFromFieldEvent> {
    return streamMessage(buf, Record.codec(), opts)
  }
}
