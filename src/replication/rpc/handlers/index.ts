import { CoordinateHandler } from './coordinate.ts'
import { DigestsHandler } from './digests.ts'
import { PurgeHandler } from './purge.ts'
import { ReadHandler } from './read.ts'
import { ScanHandler } from './scan.ts'
import { StoreHandler } from './store.ts'
import { SummaryHandler } from './summary.ts'
import type { CoordinateHandlerComponents } from './coordinate.ts'
import type { DigestsHandlerComponents } from './digests.ts'
import type { StoreHandlerComponents } from './store.ts'
import type { SummaryHandlerComponents } from './summary.ts'
import type { KvHandlers } from '../types.ts'

/** What the replica handlers use together. */
export type ReplicaHandlersComponents = StoreHandlerComponents & CoordinateHandlerComponents & {
  antiEntropy: SummaryHandlerComponents['antiEntropy'] & DigestsHandlerComponents['antiEntropy']
}

/** The dispatch map of `/p2pstore/kv/1.0.0`: every request type and its handler. */
export function replicaHandlers (components: ReplicaHandlersComponents): Required<KvHandlers> {
  return {
    read: new ReadHandler(components),
    store: new StoreHandler(components),
    coordinate: new CoordinateHandler(components),
    purge: new PurgeHandler(components),
    summary: new SummaryHandler(components),
    digests: new DigestsHandler(components),
    scan: new ScanHandler(components)
  }
}
