import type { KvRequest, KvResponse } from '../../protocol/index.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** The request of type `T`. */
export type KvRequestOf<T extends KvRequest['type']> = Extract<KvRequest, { type: T }>

/** Serves one decoded, well-formed request of one type; its answer goes back with the request's id. */
export interface KvMessageHandler<T extends KvRequest['type'] = KvRequest['type']> {
  handle(request: KvRequestOf<T>, from: PeerId, options: AbortOptions): Promise<KvResponse>
}

/**
 * The dispatch map: one handler per request type (`handlers/<message>.ts`), as kad-dht's rpc/.
 * A type without a handler is answered with an `InvalidParametersError`.
 */
export type KvHandlers = { [T in KvRequest['type']]?: KvMessageHandler<T> }
