import type { KeyDigest, KvResponse } from '../../../protocol/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** What the DIGESTS handler uses: anti-entropy's index (structurally). */
export interface DigestsHandlerComponents {
  antiEntropy: { digestsFor(peer: PeerId, buckets: number[], options: AbortOptions): Promise<KeyDigest[]> }
}

/** DIGESTS: the key digests of the requested Merkle buckets this peer shares with the requester. */
export class DigestsHandler implements KvMessageHandler<'digests'> {
  private readonly components: DigestsHandlerComponents

  constructor (components: DigestsHandlerComponents) {
    this.components = components
  }

  async handle (request: KvRequestOf<'digests'>, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    return { status: 'ok', digests: await this.components.antiEntropy.digestsFor(from, request.buckets, options) }
  }
}
