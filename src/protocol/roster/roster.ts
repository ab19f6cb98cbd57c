import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface RosterMember {
  peerId: string
  label: string
}

export namespace RosterMember {
  let _codec: Codec<RosterMember>

  export const codec = (): Codec<RosterMember> => {
    if (_codec == null) {
      _codec = message<RosterMember>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if ((obj.label != null && obj.label !== '')) {
          w.uint32(18)
          w.string(obj.label)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          label: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 2: {
              obj.label = reader.string()
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
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.label`,
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

  export interface RosterMemberPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface RosterMemberLabelFieldEvent {
    field: '$.label'
    value: string
  }

  export function encode (obj: Partial<RosterMember>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterMember.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterMember>): RosterMember {
    return decodeMessage(buf, RosterMember.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterMember>): Generator<RosterMemberPeerIdFieldEvent | RosterMemberLabelFieldEvent> {
    return streamMessage(buf, RosterMember.codec(), opts)
  }
}

export interface RosterBody {
  network: Uint8Array<ArrayBuffer>
  sequence: bigint
  members: RosterMember[]
  issuedAt: bigint
}

export namespace RosterBody {
  let _codec: Codec<RosterBody>

  export const codec = (): Codec<RosterBody> => {
    if (_codec == null) {
      _codec = message<RosterBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.network != null && obj.network.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.network)
        }

        if ((obj.sequence != null && obj.sequence !== 0n)) {
          w.uint32(16)
          w.uint64(obj.sequence)
        }

        if (obj.members != null && obj.members.length > 0) {
          for (const value of obj.members) {
            w.uint32(26)
            RosterMember.codec().encode(value, w)
          }
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          network: uint8ArrayAlloc(0),
          sequence: 0n,
          members: [],
          issuedAt: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.network = reader.bytes()
              break
            }
            case 2: {
              obj.sequence = reader.uint64()
              break
            }
            case 3: {
              if (opts.limits?.members != null && obj.members.length === opts.limits.members) {
                throw new MaxLengthError('Decode error - repeated field "members" had too many elements')
              }

              obj.members.push(RosterMember.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.members$
              }))
              break
            }
            case 4: {
              obj.issuedAt = reader.uint64()
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
          members: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.network`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.sequence`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              if (opts.limits?.members != null && obj.members === opts.limits.members) {
                throw new MaxLengthError('Streaming decode error - repeated field "members" had too many elements')
              }

              for (const evt of RosterMember.codec().stream(reader, reader.uint32(), `${prefix}.members[]`, {
                limits: opts.limits?.members$
              })) {
                yield {
                  ...evt,
                  index: obj.members
                }
              }

              obj.members++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuedAt`,
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

  export interface RosterBodyNetworkFieldEvent {
    field: '$.network'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RosterBodySequenceFieldEvent {
    field: '$.sequence'
    value: bigint
  }

  export interface RosterBodyMembersPeerIdFieldEvent {
    field: '$.members[].peerId'
    value: string
    index: number
  }

  export interface RosterBodyMembersLabelFieldEvent {
    field: '$.members[].label'
    value: string
    index: number
  }

  export interface RosterBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export function encode (obj: Partial<RosterBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterBody>): RosterBody {
    return decodeMessage(buf, RosterBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterBody>): Generator<RosterBodyNetworkFieldEvent | RosterBodySequenceFieldEvent | RosterBodyMembersPeerIdFieldEvent | RosterBodyMembersLabelFieldEvent | RosterBodyIssuedAtFieldEvent> {
    return streamMessage(buf, RosterBody.codec(), opts)
  }
}

export interface SignedRoster {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedRoster {
  let _codec: Codec<SignedRoster>

  export const codec = (): Codec<SignedRoster> => {
    if (_codec == null) {
      _codec = message<SignedRoster>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
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

  export interface SignedRosterBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedRosterSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedRoster>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedRoster.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedRoster>): SignedRoster {
    return decodeMessage(buf, SignedRoster.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedRoster>): Generator<SignedRosterBodyFieldEvent | SignedRosterSignatureFieldEvent> {
    return streamMessage(buf, SignedRoster.codec(), opts)
  }
}

export interface RosterExchange {
  roster: Uint8Array<ArrayBuffer>
}

export namespace RosterExchange {
  let _codec: Codec<RosterExchange>

  export const codec = (): Codec<RosterExchange> => {
    if (_codec == null) {
      _codec = message<RosterExchange>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.roster != null && obj.roster.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.roster)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          roster: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.roster = reader.bytes()
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
                field: `${prefix}.roster`,
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

  export interface RosterExchangeRosterFieldEvent {
    field: '$.roster'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<RosterExchange>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterExchange.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterExchange>): RosterExchange {
    return decodeMessage(buf, RosterExchange.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterExchange>): Generator<RosterExchangeRosterFieldEvent> {
    return streamMessage(buf, RosterExchange.codec(), opts)
  }
}
