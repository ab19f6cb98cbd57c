import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface MemberUpdate {
  peerId: string
  state: MemberUpdate.State
  incarnation: bigint
  addrs: Uint8Array<ArrayBuffer>[]
  accuser: string
  capacity: number
  zone: string
  keys: bigint
  viewDigest: Uint8Array<ArrayBuffer>
}

export namespace MemberUpdate {
  export enum State {
    ALIVE = 'ALIVE',
    SUSPECT = 'SUSPECT',
    DEAD = 'DEAD',
    LEFT = 'LEFT'
  }

  enum __StateValues {
    ALIVE = 0,
    SUSPECT = 1,
    DEAD = 2,
    LEFT = 3
  }

  export namespace State {
    export const codec = (): Codec<State> => {
      return enumeration<State>(__StateValues)
    }
  }

  let _codec: Codec<MemberUpdate>

  export const codec = (): Codec<MemberUpdate> => {
    if (_codec == null) {
      _codec = message<MemberUpdate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if (obj.state != null && __StateValues[obj.state] !== 0) {
          w.uint32(16)
          MemberUpdate.State.codec().encode(obj.state, w)
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(24)
          w.uint64(obj.incarnation)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.accuser != null && obj.accuser !== '')) {
          w.uint32(42)
          w.string(obj.accuser)
        }

        if ((obj.capacity != null && obj.capacity !== 0)) {
          w.uint32(49)
          w.double(obj.capacity)
        }

        if ((obj.zone != null && obj.zone !== '')) {
          w.uint32(58)
          w.string(obj.zone)
        }

        if ((obj.keys != null && obj.keys !== 0n)) {
          w.uint32(64)
          w.uint64(obj.keys)
        }

        if ((obj.viewDigest != null && obj.viewDigest.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.viewDigest)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          state: State.ALIVE,
          incarnation: 0n,
          addrs: [],
          accuser: '',
          capacity: 0,
          zone: '',
          keys: 0n,
          viewDigest: uint8ArrayAlloc(0)
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
              obj.state = MemberUpdate.State.codec().decode(reader)
              break
            }
            case 3: {
              obj.incarnation = reader.uint64()
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 5: {
              obj.accuser = reader.string()
              break
            }
            case 6: {
              obj.capacity = reader.double()
              break
            }
            case 7: {
              obj.zone = reader.string()
              break
            }
            case 8: {
              obj.keys = reader.uint64()
              break
            }
            case 9: {
              obj.viewDigest = reader.bytes()
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
          addrs: 0
        }

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
                field: `${prefix}.state`,
                value: MemberUpdate.State.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.accuser`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.capacity`,
                value: reader.double()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.zone`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.keys`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.viewDigest`,
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

  export interface MemberUpdatePeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface MemberUpdateStateFieldEvent {
    field: '$.state'
    value: MemberUpdate.State
  }

  export interface MemberUpdateIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface MemberUpdateAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MemberUpdateAccuserFieldEvent {
    field: '$.accuser'
    value: string
  }

  export interface MemberUpdateCapacityFieldEvent {
    field: '$.capacity'
    value: number
  }

  export interface MemberUpdateZoneFieldEvent {
    field: '$.zone'
    value: string
  }

  export interface MemberUpdateKeysFieldEvent {
    field: '$.keys'
    value: bigint
  }

  export interface MemberUpdateViewDigestFieldEvent {
    field: '$.viewDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<MemberUpdate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MemberUpdate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberUpdate>): MemberUpdate {
    return decodeMessage(buf, MemberUpdate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberUpdate>): Generator<MemberUpdatePeerIdFieldEvent | MemberUpdateStateFieldEvent | MemberUpdateIncarnationFieldEvent | MemberUpdateAddrsFieldEvent | MemberUpdateAccuserFieldEvent | MemberUpdateCapacityFieldEvent | MemberUpdateZoneFieldEvent | MemberUpdateKeysFieldEvent | MemberUpdateViewDigestFieldEvent> {
    return streamMessage(buf, MemberUpdate.codec(), opts)
  }
}

export interface MembershipMessage {
  type: MembershipMessage.Type
  target: string
  updates: MemberUpdate[]
  id: number
  buckets: number
  digests: Uint8Array<ArrayBuffer>
  differing: number[]
}

export namespace MembershipMessage {
  export enum Type {
    PING = 'PING',
    PING_REQ = 'PING_REQ',
    ACK = 'ACK',
    NACK = 'NACK',
    SYNC = 'SYNC',
    SYNC_REPLY = 'SYNC_REPLY',
    LEAVE = 'LEAVE',
    GOSSIP = 'GOSSIP',
    SYNC_DIGEST = 'SYNC_DIGEST',
    SYNC_DIGEST_REPLY = 'SYNC_DIGEST_REPLY',
    SYNC_PUSH = 'SYNC_PUSH'
  }

  enum __TypeValues {
    PING = 0,
    PING_REQ = 1,
    ACK = 2,
    NACK = 3,
    SYNC = 4,
    SYNC_REPLY = 5,
    LEAVE = 6,
    GOSSIP = 7,
    SYNC_DIGEST = 8,
    SYNC_DIGEST_REPLY = 9,
    SYNC_PUSH = 10
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<MembershipMessage>

  export const codec = (): Codec<MembershipMessage> => {
    if (_codec == null) {
      _codec = message<MembershipMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          MembershipMessage.Type.codec().encode(obj.type, w)
        }

        if ((obj.target != null && obj.target !== '')) {
          w.uint32(18)
          w.string(obj.target)
        }

        if (obj.updates != null && obj.updates.length > 0) {
          for (const value of obj.updates) {
            w.uint32(26)
            MemberUpdate.codec().encode(value, w)
          }
        }

        if ((obj.id != null && obj.id !== 0)) {
          w.uint32(32)
          w.uint32(obj.id)
        }

        if ((obj.buckets != null && obj.buckets !== 0)) {
          w.uint32(40)
          w.uint32(obj.buckets)
        }

        if ((obj.digests != null && obj.digests.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.digests)
        }

        if (obj.differing != null && obj.differing.length > 0) {
          for (const value of obj.differing) {
            w.uint32(56)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.PING,
          target: '',
          updates: [],
          id: 0,
          buckets: 0,
          digests: uint8ArrayAlloc(0),
          differing: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = MembershipMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.target = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.updates != null && obj.updates.length === opts.limits.updates) {
                throw new MaxLengthError('Decode error - repeated field "updates" had too many elements')
              }

              obj.updates.push(MemberUpdate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.updates$
              }))
              break
            }
            case 4: {
              obj.id = reader.uint32()
              break
            }
            case 5: {
              obj.buckets = reader.uint32()
              break
            }
            case 6: {
              obj.digests = reader.bytes()
              break
            }
            case 7: {
              if (opts.limits?.differing != null && obj.differing.length === opts.limits.differing) {
                throw new MaxLengthError('Decode error - repeated field "differing" had too many elements')
              }

              obj.differing.push(reader.uint32())
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
          updates: 0,
          differing: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: MembershipMessage.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.target`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.updates != null && obj.updates === opts.limits.updates) {
                throw new MaxLengthError('Streaming decode error - repeated field "updates" had too many elements')
              }

              for (const evt of MemberUpdate.codec().stream(reader, reader.uint32(), `${prefix}.updates[]`, {
                limits: opts.limits?.updates$
              })) {
                yield {
                  ...evt,
                  index: obj.updates
                }
              }

              obj.updates++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.id`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.buckets`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.digests`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              if (opts.limits?.differing != null && obj.differing === opts.limits.differing) {
                throw new MaxLengthError('Streaming decode error - repeated field "differing" had too many elements')
              }

              yield {
                field: `${prefix}.differing[]`,
                index: obj.differing,
                value: reader.uint32()
              }

              obj.differing++

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

  export interface MembershipMessageTypeFieldEvent {
    field: '$.type'
    value: MembershipMessage.Type
  }

  export interface MembershipMessageTargetFieldEvent {
    field: '$.target'
    value: string
  }

  export interface MembershipMessageUpdatesPeerIdFieldEvent {
    field: '$.updates[].peerId'
    value: string
    index: number
  }

  export interface MembershipMessageUpdatesStateFieldEvent {
    field: '$.updates[].state'
    value: MemberUpdate.State
    index: number
  }

  export interface MembershipMessageUpdatesIncarnationFieldEvent {
    field: '$.updates[].incarnation'
    value: bigint
    index: number
  }

  export interface MembershipMessageUpdatesAddrsFieldEvent {
    field: '$.updates[].addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageUpdatesAccuserFieldEvent {
    field: '$.updates[].accuser'
    value: string
    index: number
  }

  export interface MembershipMessageUpdatesCapacityFieldEvent {
    field: '$.updates[].capacity'
    value: number
    index: number
  }

  export interface MembershipMessageUpdatesZoneFieldEvent {
    field: '$.updates[].zone'
    value: string
    index: number
  }

  export interface MembershipMessageUpdatesKeysFieldEvent {
    field: '$.updates[].keys'
    value: bigint
    index: number
  }

  export interface MembershipMessageUpdatesViewDigestFieldEvent {
    field: '$.updates[].viewDigest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MembershipMessageIdFieldEvent {
    field: '$.id'
    value: number
  }

  export interface MembershipMessageBucketsFieldEvent {
    field: '$.buckets'
    value: number
  }

  export interface MembershipMessageDigestsFieldEvent {
    field: '$.digests'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageDifferingFieldEvent {
    field: '$.differing[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<MembershipMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MembershipMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MembershipMessage>): MembershipMessage {
    return decodeMessage(buf, MembershipMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MembershipMessage>): Generator<MembershipMessageTypeFieldEvent | MembershipMessageTargetFieldEvent | MembershipMessageUpdatesPeerIdFieldEvent | MembershipMessageUpdatesStateFieldEvent | MembershipMessageUpdatesIncarnationFieldEvent | MembershipMessageUpdatesAddrsFieldEvent | MembershipMessageUpdatesAccuserFieldEvent | MembershipMessageUpdatesCapacityFieldEvent | MembershipMessageUpdatesZoneFieldEvent | MembershipMessageUpdatesKeysFieldEvent | MembershipMessageUpdatesViewDigestFieldEvent | MembershipMessageIdFieldEvent | MembershipMessageBucketsFieldEvent | MembershipMessageDigestsFieldEvent | MembershipMessageDifferingFieldEvent> {
    return streamMessage(buf, MembershipMessage.codec(), opts)
  }
}
