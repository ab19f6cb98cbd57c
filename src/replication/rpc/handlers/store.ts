import { mergeIfConditionHolds, mergeIntoLocal } from '../../local-store.ts'
import type { PeerMetrics } from '../../../metrics/index.ts'
import type { KvResponse } from '../../../protocol/index.ts'
import type { Engine } from '../../../storage/index.ts'
import type { HintQuota } from '../../hint-quota.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** What the STORE handler uses. */
export interface StoreHandlerComponents {
  engine: Engine
  /** where hinted copies taken are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'hintsStored'>
  /** what hinted copies each peer may make this one hold; over it a hinted store is refused. @default no quota */
  hintQuota?: Pick<HintQuota, 'admit'>
}

/**
 * STORE: merges a sibling set (a coordinator's delta, a read repair, a handoff or an anti-entropy
 * push) into the local copy, durably, before it answers `ok`. A hinted store only marks a copy this
 * peer did not hold as a home replica already, records who sent it, and is refused with a
 * `QuotaExceededError` when it would take that peer's hinted copies here past its quota. A
 * conditional store (a coordinator's conditional write, never hinted) is merged only if its
 * condition holds here, else refused with `PreconditionFailedError` (issue #20).
 */
export class StoreHandler implements KvMessageHandler<'store'> {
  private readonly components: StoreHandlerComponents

  constructor (components: StoreHandlerComponents) {
    this.components = components
  }

  async handle (request: KvRequestOf<'store'>, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    if (request.condition != null) {
      await mergeIfConditionHolds(this.components.engine, request.key, request.state, request.condition, options)
      return { status: 'ok' }
    }
    const hinted = request.hintFor != null && request.hintFor.length > 0
    const release = hinted ? await this.components.hintQuota?.admit(request.key, request.state, from, options) : undefined
    try {
      await mergeIntoLocal(this.components.engine, request.key, request.state, options, request.hintFor, hinted ? from.toString() : undefined)
    } finally {
      release?.()
    }
    if (hinted) this.components.metrics?.hintsStored.inc()
    return { status: 'ok' }
  }
}
