import { deleteIfUnchanged } from '../../local-store.ts'
import type { KvResponse } from '../../../protocol/index.ts'
import type { Engine } from '../../../storage/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions } from '@libp2p/interface'

/** What the PURGE handler uses. */
export interface PurgeHandlerComponents {
  engine: Engine
}

/**
 * PURGE (tombstone GC): deletes the record only if it still holds exactly the tombstone state the
 * GC leader confirmed, so a write that arrived since survives; `not-found` when it did not delete.
 */
export class PurgeHandler implements KvMessageHandler<'purge'> {
  private readonly components: PurgeHandlerComponents

  constructor (components: PurgeHandlerComponents) {
    this.components = components
  }

  async handle (request: KvRequestOf<'purge'>, _from: unknown, options: AbortOptions): Promise<KvResponse> {
    const purged = await deleteIfUnchanged(this.components.engine, request.key, request.state, options)
    return purged ? { status: 'ok' } : { status: 'not-found' }
  }
}
