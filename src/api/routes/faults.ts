import { InvalidParametersError } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { BlockDirection, BlockedPeer } from '../../faults/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'

/** What the fault routes call: the fault-injection part of `Peer`. */
export interface FaultTarget {
  partition(peers: PeerId[], options?: { direction?: BlockDirection }): Promise<void>
  heal(peers?: PeerId[]): number
  partitions(): BlockedPeer[]
}

/** `PUT /v1/faults/partition` body. */
export interface PartitionJson {
  /** peer ids to refuse connections with */
  peers: string[]
  /** @default 'both' */
  direction?: BlockDirection
}

/**
 * Fault injection for test nets, only served by a daemon started with `--fault-injection`:
 * `GET /v1/faults` lists the partitions in place, `PUT /v1/faults/partition` (JSON
 * `{ peers, direction? }`) cuts this peer off from those peers, `DELETE /v1/faults/partition`
 * heals every partition, or only `?peers=a,b`.
 */
export function faultRoutes (app: FastifyInstance, target: FaultTarget): void {
  app.get('/v1/faults', async () => ({ partitions: target.partitions() }))

  app.put('/v1/faults/partition', async request => {
    const body = parseBody(request.body)
    await target.partition(body.peers.map(id => parsePeerId(id)), { direction: body.direction })
    return { partitions: target.partitions() }
  })

  app.delete<{ Querystring: { peers?: string } }>('/v1/faults/partition', async request => {
    const peers = request.query.peers == null ? undefined : request.query.peers.split(',').filter(id => id !== '').map(id => parsePeerId(id))
    return { healed: target.heal(peers), partitions: target.partitions() }
  })
}

function parseBody (raw: unknown): PartitionJson {
  let body: unknown
  try {
    body = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw ?? ''))
  } catch {
    throw new InvalidParametersError('expected a JSON body { "peers": ["12D3KooW…"], "direction": "both" | "inbound" | "outbound" }')
  }
  const { peers, direction } = (body ?? {}) as Partial<PartitionJson>
  if (!Array.isArray(peers) || !peers.every(p => typeof p === 'string')) {
    throw new InvalidParametersError('"peers" must be a list of peer ids')
  }
  if (direction != null && direction !== 'both' && direction !== 'inbound' && direction !== 'outbound') {
    throw new InvalidParametersError(`"direction" must be "both", "inbound" or "outbound", got ${JSON.stringify(direction)}`)
  }
  return { peers, direction }
}

function parsePeerId (id: string): PeerId {
  try {
    return peerIdFromString(id)
  } catch {
    throw new InvalidParametersError(`"${id}" is not a peer id (expected e.g. 12D3KooW…)`)
  }
}
