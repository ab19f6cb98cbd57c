/**
 * p2pstore — a masterless peer-to-peer key-value store on libp2p.
 *
 * @example
 * ```ts
 * import { createPeer } from 'p2pstore'
 *
 * const peer = await createPeer({ dataDir: './data', bootstrap: ['/ip4/192.0.2.1/tcp/4700/p2p/12D3KooW…'] })
 * console.log(await peer.status())
 * await peer.stop()
 * ```
 *
 * Test nets, fault injection and the consistency checker are in the `p2pstore/testing` entry.
 *
 * @packageDocumentation
 */

// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import './polyfill.ts'

export { createPeer, Peer } from './peer.ts'
export type { KnownPeer, PeerEvents, PeerServices, PeerStatus, RingMember } from './peer.ts'
export type { PeerInit } from './config.ts'
export type { Health, HealthEvents, HealthNote, HealthReason, HealthReport, MemberEvent, Rereplication, SafetyCounts, Verdict } from './health/index.ts'
export { RequestTrace } from './metrics/index.ts'
export type { PeerMetrics, SafetyObserver, SafetySource, TraceEvent, TraceJson } from './metrics/index.ts'
export * from './errors.ts'
