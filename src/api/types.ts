/**
 * The types the API server and its route plugins share (in a file of their own, so that routes
 * never import the server module that imports them).
 */

import type { Traffic } from './traffic.ts'
import type { HealthEvents, HealthReport, MemberEvent } from '../health/index.ts'
import type { LimitsJson } from '../limits/index.ts'
import type { GetResult, KnownPeer, PeerStatus, RingMember } from '../peer.ts'
import type { DeleteOptions, KeyLocation, LocateOptions, PageOptions, ReadOptions, ScanPage, WriteOptions, WriteResult } from '../replication/index.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** What `/v1/health`, `/v1/events` and `/ui` read (a peer's `health`). */
export interface ApiHealth extends TypedEventTarget<HealthEvents> {
  report(): HealthReport
  recentEvents(): MemberEvent[]
}

/** What the API serves: the subset of `Peer` it calls. */
export interface ApiPeer {
  status(options?: AbortOptions): Promise<PeerStatus>
  peers(options?: AbortOptions): Promise<KnownPeer[]>
  ring(options?: AbortOptions): Promise<RingMember[]>
  get(key: Uint8Array, options?: ReadOptions): Promise<GetResult>
  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<WriteResult>
  delete(key: Uint8Array, options?: DeleteOptions): Promise<WriteResult>
  /** where a key lives (`GET /v1/locate/:key`) */
  locate(key: Uint8Array, options?: LocateOptions): Promise<KeyLocation>
  /** a page of the network's keys (`GET /v1/kv`); without it the route answers 501 */
  list?(options?: PageOptions): Promise<ScanPage>
  /** health and replication safety (issue #18); without it `/v1/health`, `/v1/events` and `/ui` answer 503 */
  readonly health?: ApiHealth
  /** the peer's Prometheus registry, served at `/metrics` (a peer has one; stand-ins may not) */
  metrics?: { registry: { contentType: string, metrics(): Promise<string> } }
  /** the peer's id, named as the coordinator of a request trace */
  peerId?: { toString(): string }
}

/** Passed to every route plugin. */
export interface ApiContext {
  peer: ApiPeer
  /** the kv API's recent traffic, for the status page */
  traffic?: Traffic
  /** the limits in force, served at `/v1/limits` (a daemon has them; stand-ins may not) */
  limits?: LimitsJson
}
