/**
 * Who the members of the storage network are, as this peer knows them: itself plus every peer that
 * announced `/p2pstore/kv/1.0.0` through identify (now, or in an earlier connection remembered by
 * the peer store). Placement builds preference lists from this view.
 *
 * This is the membership view without failure detection: a stopped peer stays a member, so its
 * keys keep their home replicas (writes to it fail and count against the quorum). Gossip with
 * suspicion and death (SWIM) replaces this view in the membership issue (#4).
 *
 * @packageDocumentation
 */

import { PROTOCOL_KV } from '../constants.ts'
import { peerKadId } from '../routing/index.ts'
import type { ComponentLogger, IdentifyResult, Logger, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** A member with its position in the key space. */
export interface Member {
  peerId: PeerId
  kadId: Uint8Array
}

/** What the members view needs from libp2p. */
export interface MembersComponents {
  logger: ComponentLogger
  peerId: PeerId
  events: TypedEventTarget<{ 'peer:identify': CustomEvent<IdentifyResult>, 'peer:update': CustomEvent<PeerUpdate> }>
  peerStore: { all(): Promise<Array<{ id: PeerId, protocols: string[] }>> }
}

/** The current member list, kept up to date from identify and peer-store events. */
export class Members implements Startable {
  private readonly components: MembersComponents
  private readonly log: Logger
  private readonly members = new Map<string, Member>()
  private readonly self: Member
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.observe(evt.detail.peerId, evt.detail.protocols) }
  private readonly onUpdate = (evt: CustomEvent<PeerUpdate>): void => { this.observe(evt.detail.peer.id, evt.detail.peer.protocols) }

  constructor (components: MembersComponents) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:membership')
    this.self = { peerId: components.peerId, kadId: peerKadId(components.peerId) }
  }

  async start (): Promise<void> {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:update', this.onUpdate)
    for (const peer of await this.components.peerStore.all()) this.observe(peer.id, peer.protocols)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:update', this.onUpdate)
  }

  /** Every member, this peer included. */
  list (): Member[] {
    return [this.self, ...this.members.values()]
  }

  /** How many members there are, this peer included. */
  get size (): number {
    return this.members.size + 1
  }

  private observe (peerId: PeerId, protocols: string[]): void {
    if (peerId.equals(this.components.peerId)) return
    const key = peerId.toString()
    if (protocols.includes(PROTOCOL_KV)) {
      if (!this.members.has(key)) {
        this.members.set(key, { peerId, kadId: peerKadId(peerId) })
        this.log('member %p joined the view (%d members)', peerId, this.size)
      }
    } else if (protocols.length > 0 && this.members.delete(key)) {
      // it identified again without our protocol: no longer a storage peer
      this.log('member %p left the view', peerId)
    }
  }
}
