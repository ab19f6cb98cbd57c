import { TypedEventEmitter } from 'main-event'
import { InvalidRosterError, StaleRosterError } from '../errors.ts'
import { verifyRoster } from './roster.ts'
import type { Roster } from './roster.ts'
import type { ComponentLogger, ConnectionGater, Logger, PeerId } from '@libp2p/interface'

/** What admission needs. */
export interface AdmissionComponents {
  logger: ComponentLogger
}

/** Who may belong to the network. */
export interface AdmissionInit {
  /**
   * Admit every peer: an open network (or one closed only by a swarm key). Rosters offered later
   * are refused.
   *
   * @default false
   */
  open?: boolean
  /** the network id to trust (the operator's key as a peer id). @default the roster's */
  network?: string
  /** the roster to start from (already verified) */
  roster?: Roster
}

/** Events of `Admission`. */
export interface AdmissionEvents {
  /** a newer roster was adopted; `removed` lists the peers it no longer names */
  'roster:update': CustomEvent<{ roster: Roster, removed: string[] }>
}

/**
 * The admission decision of one peer: the newest verified roster of its network, and the checks
 * built on it — a libp2p connection gater that refuses non-members once Noise has proved who they
 * are, and `admits()` for the protocol handlers (defence in depth).
 *
 * A peer that knows its network but holds no roster yet (it joined with `--network ID`) may dial
 * out — that is how it fetches a roster — and refuses every inbound connection until it has one.
 */
export class Admission extends TypedEventEmitter<AdmissionEvents> {
  private readonly log: Logger
  private readonly isOpen: boolean
  private current?: Roster
  private members = new Set<string>()
  private trusted?: string

  constructor (components: AdmissionComponents, init: AdmissionInit = {}) {
    super()
    this.log = components.logger.forComponent('p2pstore:roster:admission')
    this.isOpen = init.open ?? false
    this.trusted = init.network ?? init.roster?.network
    if (init.roster != null) this.set(init.roster)
  }

  /** true for an open network: everyone is admitted */
  get open (): boolean {
    return this.isOpen
  }

  /** the network id this peer trusts, if closed */
  get network (): string | undefined {
    return this.trusted
  }

  /** the roster in force, if any */
  get roster (): Roster | undefined {
    return this.current
  }

  /** Whether `peer` is an admitted member (always, on an open network). */
  admits (peer: PeerId | string): boolean {
    return this.isOpen || this.members.has(peer.toString())
  }

  /**
   * Verifies `bytes` as a roster of this network newer than the one held and adopts it. Raises
   * `InvalidRosterError` or `StaleRosterError` (the held roster stays); on an open network it
   * raises `InvalidRosterError` (an open network has no operator).
   */
  async offer (bytes: Uint8Array): Promise<Roster> {
    if (this.isOpen) {
      throw new InvalidRosterError('this peer runs an open network: it takes no roster')
    }
    const roster = await verifyRoster(bytes, { network: this.trusted, after: this.current?.sequence ?? 0n })
    // check again after the signature check: another offer may have won meanwhile
    if (this.current != null && roster.sequence <= this.current.sequence) {
      throw new StaleRosterError(`roster sequence ${roster.sequence} is not newer than the one held (${this.current.sequence})`)
    }
    const before = this.members
    this.trusted ??= roster.network
    this.set(roster)
    const removed = [...before].filter(id => !this.members.has(id))
    this.log('adopted roster %s of network %s: %d members, %d removed', roster.sequence, roster.network, roster.members.length, removed.length)
    this.safeDispatchEvent('roster:update', { detail: { roster, removed } })
    return roster
  }

  /**
   * The connection gater: after the Noise handshake has authenticated the remote peer id, a
   * connection with a non-member is refused in either direction, and dials to non-members are not
   * attempted. Without a roster yet, only outbound connections are allowed.
   */
  gater (): Required<Pick<ConnectionGater, 'denyDialPeer' | 'denyInboundEncryptedConnection' | 'denyOutboundEncryptedConnection'>> {
    const outbound = (peer: PeerId): boolean => !this.isOpen && this.current != null && !this.members.has(peer.toString())
    const inbound = (peer: PeerId): boolean => !this.admits(peer)
    return {
      denyDialPeer: outbound,
      denyOutboundEncryptedConnection: outbound,
      denyInboundEncryptedConnection: inbound
    }
  }

  private set (roster: Roster): void {
    this.current = roster
    this.members = new Set(roster.members.map(m => m.peerId))
  }
}
