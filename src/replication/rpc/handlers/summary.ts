import type { KvResponse } from '../../../protocol/index.ts'
import type { KvRequestOf, KvMessageHandler } from '../types.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** What the SUMMARY handler uses: anti-entropy's index (structurally). */
export interface SummaryHandlerComponents {
  antiEntropy: { leavesFor(peer: PeerId, options: AbortOptions): Promise<Uint8Array[]> }
}

/** SUMMARY: the Merkle leaves of the keys this peer shares with the requester (anti-entropy). */
export class SummaryHandler implements KvMessageHandler<'summary'> {
  private readonly components: SummaryHandlerComponents

  constructor (components: SummaryHandlerComponents) {
    this.components = components
  }

  async handle (_request: KvRequestOf<'summary'>, from: PeerId, options: AbortOptions): Promise<KvResponse> {
    return { status: 'ok', leaves: await this.components.antiEntropy.leavesFor(from, options) }
  }
}
