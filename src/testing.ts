/**
 * p2pstore/testing — the test harness, kept out of the library's entry so that
 * `import { createPeer } from 'p2pstore'` stays small: test nets (in-process and as daemon
 * processes), fault injection (a partition gate and network-namespace labs) and the consistency
 * checker.
 *
 * @example
 * ```ts
 * import { createTestnet, ProcessTestnet } from 'p2pstore/testing'
 *
 * const net = await createTestnet(5)
 * await net.peers[0].put(new TextEncoder().encode('k'), new TextEncoder().encode('v'))
 * await net.teardown()
 * ```
 *
 * @packageDocumentation
 */

// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import './polyfill.ts'

export { createTestnet, ProcessTestnet } from './testnet/index.ts'
export type { Testnet, TestnetInit, ProcessTestnetInit, ProcessTestnetPeer, TestnetProgress } from './testnet/index.ts'
export { NetnsLab, NETNS_LAB_MAX_HOSTS, cleanupStaleLabs } from './faults/index.ts'
export type { BlockDirection, BlockedPeer, NetnsLabAvailability, NetnsLabInit } from './faults/index.ts'
export { runCheck, checkHistory, SCENARIOS } from './check/index.ts'
export type { CheckInit, CheckReport, CheckCounts, HistoryEntry, ScenarioName } from './check/index.ts'
