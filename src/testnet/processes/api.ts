/**
 * Talking to the daemons of a process test net through their HTTP API, with `src/client`'s
 * `HttpClient`: who they see, whether one answers as itself, and partitions through
 * `/v1/faults` (daemons run with `--fault-injection`).
 */

import path from 'node:path'
import { HttpClient } from '../../client/index.ts'
import { second } from '../../constants.ts'
import { TestnetError } from '../../errors.ts'
import type { ProcessTestnetPeer } from './state-file.ts'
import type { BlockDirection } from '../../faults/index.ts'

/** A daemon's API: its URL and the bearer token it demands, if any. */
export interface DaemonApi {
  url: string
  token?: string
}

/** The peer id daemon `api` answers with, or undefined while it does not answer. */
export async function statusPeerId (api: DaemonApi): Promise<string | undefined> {
  try {
    return (await new HttpClient(api, 2 * second).status()).peerId
  } catch {
    return undefined
  }
}

/**
 * The peers daemon `api` counts as alive members: once every daemon sees every other so, every
 * member view is complete. A daemon busy starting may not answer yet: it sees nobody.
 */
export async function alivePeerIds (api: DaemonApi, signal?: AbortSignal): Promise<Set<string>> {
  try {
    const peers = await new HttpClient(api, 5 * second).peers({ signal })
    return new Set(peers.filter(p => p.state === 'alive').map(p => p.peerId))
  } catch {
    return new Set()
  }
}

/** Cuts daemon `peer` off from `peers` (`block`), or heals every partition of it (no `block`). */
export async function faultRequest (peer: ProcessTestnetPeer, api: DaemonApi, block?: { peers: string[], direction: BlockDirection }): Promise<void> {
  const client = new HttpClient(api, 5 * second)
  try {
    if (block == null) await client.heal()
    else await client.partition(block.peers, block.direction)
  } catch (err) {
    const e = err as Error
    if (e.name === 'NotFoundError') throw new TestnetError(`peer-${peer.index} does not serve /v1/faults: it was not started with --fault-injection`)
    if (e.name === 'DaemonUnreachableError' || e.name === 'TimeoutError') {
      throw new TestnetError(`peer-${peer.index} did not take the fault (${e.message}); is it running? see ${path.join(peer.dataDir, 'daemon.log')}`)
    }
    throw new TestnetError(`peer-${peer.index} refused the fault: ${e.name}: ${e.message}`, { cause: err })
  }
}

/**
 * The blocks that partition a net into `groups` (peer indexes): each peer of a group refuses every
 * peer of the other groups; `oneWay` (two groups): the first may not open connections to the
 * second, which refuses its connections but may still open its own.
 */
export function partitionBlocks (groups: number[][], oneWay: boolean, peerId: (index: number) => string): Array<{ index: number, peers: string[], direction: BlockDirection }> {
  const blocks: Array<{ index: number, peers: string[], direction: BlockDirection }> = []
  groups.forEach((group, g) => {
    const others = groups.filter((_, o) => o !== g).flat().map(peerId)
    for (const index of group) {
      const direction: BlockDirection = !oneWay ? 'both' : g === 0 ? 'outbound' : 'inbound'
      blocks.push({ index, peers: direction === 'inbound' ? (groups[0] ?? []).map(peerId) : others, direction })
    }
  })
  return blocks
}
