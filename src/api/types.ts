/**
 * The types the API server and its route plugins share (in a file of their own, so that routes
 * never import the server module that imports them).
 */

import type { GetResult, KnownPeer, PeerStatus, RingMember } from '../peer.ts'
import type { DeleteOptions, ReadOptions, WriteOptions, WriteResult } from '../replication/index.ts'
import type { AbortOptions } from '@libp2p/interface'

/** What the API serves: the subset of `Peer` it calls. */
export interface ApiPeer {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
  ring(options?: AbortOptions): Promise<RingMember[]>
  get(key: Uint8Array, options?: ReadOptions): Promise<GetResult>
  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<WriteResult>
  delete(key: Uint8Array, options?: DeleteOptions): Promise<WriteResult>
  /** the peer's Prometheus registry, served at `/metrics` (a peer has one; stand-ins may not) */
  metrics?: { registry: { contentType: string, metrics(): Promise<string> } }
  /** the peer's id, named as the coordinator of a request trace */
  peerId?: { toString(): string }
}

/** Passed to every route plugin. */
export interface ApiContext {
  peer: ApiPeer
}
