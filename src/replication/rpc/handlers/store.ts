import { mergeIntoLocal } from '../../local-store.ts'
import type { PeerMetrics } from '../../../metrics/index.ts'
import type { KvResponse } from '../../../protocol/index.ts'
import type { Engine } from '../../../storage/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions } from '@libp2p/interface'

/** What the STORE handler uses. */
export interface StoreHandlerComponents {
  engine: Engine
  /** where hinted copies taken are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'hintsStored'>
}

/**
 * STORE: merges a sibling set (a coordinator's delta, a read repair, a handoff or an anti-entropy
 * push) into the local copy, durably, before it answers `ok`. A hinted store only marks a copy this
 * peer did not hold as a home replica already.
 */
export class StoreHandler implements KvMessageHandler<'store'> {
  private readonly components: StoreHandlerComponents

  constructor (components: StoreHandlerComponents) {
    this.components = components
  }

  async handle (request: KvRequestOf<'store'>, _from: unknown, options: AbortOptions): Promise<KvResponse> {
    await mergeIntoLocal(this.components.engine, request.key, request.state, options, request.hintFor)
    if (request.hintFor != null && request.hintFor.length > 0) this.components.metrics?.hintsStored.inc()
    return { status: 'ok' }
  }
}
