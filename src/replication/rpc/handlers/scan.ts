import { SCAN_ANSWER_BYTES } from '../../../constants.ts'
import type { SiblingSet } from '../../../clock/index.ts'
import type { KvResponse, ScanEntry } from '../../../protocol/index.ts'
import type { Engine } from '../../../storage/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions, ComponentLogger, Logger } from '@libp2p/interface'

/** What the SCAN handler uses. */
export interface ScanHandlerComponents {
  logger: ComponentLogger
  engine: Pick<Engine, 'entries'>
}

/** Options of the SCAN handler. */
export interface ScanHandlerInit {
  /** bytes of sibling sets in one answer before the page ends early (always one entry at least). @default SCAN_ANSWER_BYTES */
  maxAnswerBytes?: number
}

/**
 * SCAN: a page of the keys this peer holds (home and hinted copies alike) in bytewise order, from
 * a range read of the engine (it seeks to the start: a page costs its own size), each with its
 * sibling set — without values unless asked, since a listing decides liveness from dots and
 * deleted flags alone. `more` says keys remain after the last entry. A record that cannot be read
 * is skipped (its other replicas answer for it) and logged. Changes nothing.
 */
export class ScanHandler implements KvMessageHandler<'scan'> {
  private readonly components: ScanHandlerComponents
  private readonly log: Logger
  private readonly maxAnswerBytes: number

  constructor (components: ScanHandlerComponents, init: ScanHandlerInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:rpc:scan')
    this.maxAnswerBytes = init.maxAnswerBytes ?? SCAN_ANSWER_BYTES
  }

  async handle (request: KvRequestOf<'scan'>, _from: unknown, options: AbortOptions): Promise<KvResponse> {
    const { prefix, after, limit, values } = request.scan
    const entries: ScanEntry[] = []
    let bytes = 0
    let more = false
    const scan = this.components.engine.entries({
      prefix,
      after,
      signal: options.signal,
      onDamaged: (key, err) => { this.log.error('scan skips the unreadable record of %k - %e', key, err) }
    })
    for await (const { key, record } of scan) {
      const state = values ? record.set : withoutValues(record.set)
      const size = answerSize(key, state)
      if (entries.length >= limit || (entries.length > 0 && bytes + size > this.maxAnswerBytes)) {
        more = true
        break
      }
      entries.push({ key, state })
      bytes += size
    }
    return { status: 'ok', entries, more }
  }
}

/** The set with every sibling's value emptied: dots, timestamps and deleted flags are what a listing merges. */
function withoutValues (set: SiblingSet): SiblingSet {
  return { siblings: set.siblings.map(s => ({ ...s, value: new Uint8Array(0) })), context: set.context }
}

/** Roughly the bytes an entry takes on the wire (values, plus a bound on each dot and clock entry). */
function answerSize (key: Uint8Array, state: SiblingSet): number {
  let size = key.byteLength + 16
  for (const s of state.siblings) size += s.value.byteLength + 64
  return size + 48 * (state.context.vv.size + state.context.cloud.length)
}
