import type { CausalContext } from '../../../clock/index.ts'
import type { ForwardedPut, KvResponse } from '../../../protocol/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId } from '@libp2p/interface'

/** What the COORDINATE handler uses: the coordinator (structurally, so rpc/ does not import it). */
export interface CoordinateHandlerComponents {
  logger: ComponentLogger
  coordinator: {
    coordinateForwarded(key: Uint8Array, put: ForwardedPut, options: AbortOptions): Promise<{ context: CausalContext, acks: number }>
  }
}

/**
 * COORDINATE: a peer that is not a home replica of the key forwards a client write here; this
 * replica coordinates it (new dot, quorum of W) and answers the client's context and the acks. A
 * failure (a quorum not reached) is answered as an error with its name, for the forwarder to rethrow.
 */
export class CoordinateHandler implements KvMessageHandler<'coordinate'> {
  private readonly components: CoordinateHandlerComponents
  private readonly log: Logger

  constructor (components: CoordinateHandlerComponents) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:rpc:coordinate')
  }

  async handle (request: KvRequestOf<'coordinate'>, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    this.log.trace('coordinating a write of %k forwarded by %p', request.key, from)
    const result = await this.components.coordinator.coordinateForwarded(request.key, request.put, options)
    return { status: 'ok', context: result.context, acks: result.acks }
  }
}
