import type { KvRequest } from '../../protocol/index.ts'

/** Room for a varint length prefix: a frame is its body and at most this many bytes more. */
const PREFIX_BYTES = 10

/**
 * What the answers of one inbound kv stream are expected to weigh, by request type: the room each
 * takes in the stream's write guard before it is made (issue #19). An answer's size is not known
 * before its handler ran (a read's is the value stored), so the room is the largest answer of its
 * type the stream made so far; before the first, `first` — the stream's whole bound — so that the
 * first answer of each type is made alone and measured before others of its type are made beside
 * it. A stream of small answers thus keeps full pipelining, and a stream asking again and again for
 * a large value has as many made at once as fit in its bound.
 */
export class AnswerSizes {
  private readonly first: number
  private readonly largest = new Map<KvRequest['type'], number>()

  constructor (first: number) {
    this.first = first
  }

  /** the room an answer to a request of `type` takes before it is made */
  expect (type: KvRequest['type']): number {
    return this.largest.get(type) ?? this.first
  }

  /** an answer of `bytes` (its body) to a request of `type` was made */
  made (type: KvRequest['type'], bytes: number): void {
    const frame = bytes + PREFIX_BYTES
    if (frame > (this.largest.get(type) ?? 0)) this.largest.set(type, frame)
  }
}
