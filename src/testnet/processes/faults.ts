/**
 * Partitions of a process test net: through each daemon's `/v1/faults` (daemons run with
 * `--fault-injection`; libp2p's connection gater refuses the other side), or, in network
 * namespaces, as the lab's iptables cuts.
 */

import path from 'node:path'
import { HttpClient } from '../../client/index.ts'
import { second } from '../../constants.ts'
import { TestnetError } from '../../errors.ts'
import type { DaemonApi } from './api.ts'
import type { ProcessTestnetPeer } from './state-file.ts'
import type { BlockDirection, NetnsLab } from '../../faults/index.ts'

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
 * Cuts the hosts of a lab into `groups` in the kernel: every group from every later one (each cut
 * is both ways), or with `oneWay` only the packets from the first group to the second.
 */
export async function cutGroups (lab: NetnsLab, groups: number[][], oneWay: boolean): Promise<void> {
  if (oneWay) {
    await lab.cut(groups[0] ?? [], groups[1] ?? [], { oneWay: true })
    return
  }
  for (let g = 0; g < groups.length; g++) {
    await lab.cut(groups[g] ?? [], groups.slice(g + 1).flat())
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
