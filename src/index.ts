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
 * @packageDocumentation
 */

// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import './polyfill.ts'

export { createPeer, Peer } from './peer.ts'
export type { KnownPeer, PeerEvents, PeerServices, PeerStatus, RingMember } from './peer.ts'
export type { PeerInit } from './config.ts'
export { createTestnet, ProcessTestnet } from './testnet/index.ts'
export type { Testnet, TestnetInit, ProcessTestnetInit, ProcessTestnetPeer, TestnetProgress } from './testnet/index.ts'
export type { BlockDirection, BlockedPeer } from './faults/index.ts'
export { runCheck, checkHistory, SCENARIOS } from './check/index.ts'
export type { CheckInit, CheckReport, CheckCounts, HistoryEntry, ScenarioName } from './check/index.ts'
export * from './errors.ts'
