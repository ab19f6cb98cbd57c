import type { KvResponse } from '../../../protocol/index.ts'
import type { Engine } from '../../../storage/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions } from '@libp2p/interface'

/** What the READ handler uses. */
export interface ReadHandlerComponents {
  engine: Pick<Engine, 'get'>
}

/** READ: this replica's sibling set of a key, or `not-found`. Changes nothing. */
export class ReadHandler implements KvMessageHandler<'read'> {
  private readonly components: ReadHandlerComponents

  constructor (components: ReadHandlerComponents) {
    this.components = components
  }

  async handle (request: KvRequestOf<'read'>, _from: unknown, options: AbortOptions): Promise<KvResponse> {
    const record = await this.components.engine.get(request.key, options)
    return record == null ? { status: 'not-found' } : { status: 'ok', state: record.set }
  }
}
