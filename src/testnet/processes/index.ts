/**
 * Process test nets: `ProcessTestnet` runs N `p2pstore daemon` processes (behind
 * `p2pstore testnet`) and injects faults into them, also from another process (`attach()`).
 *
 * @packageDocumentation
 */

export { ProcessTestnet } from './testnet.ts'
export type { PeerGroup, ProcessState, ProcessTestnetInit, TestnetProgress } from './testnet.ts'
export type { ProcessTestnetNetns, ProcessTestnetPeer } from './state-file.ts'
export { cliPath } from './daemon.ts'
