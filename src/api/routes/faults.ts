import { InvalidParametersError } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { invalidInput } from '../validation.ts'
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
const DIRECTIONS = ['both', 'inbound', 'outbound'] as const

/** `PUT /v1/faults/partition`'s body (a null direction counts as absent, as before schemas). */
const PARTITION_BODY = {
  type: 'object',
  required: ['peers'],
  properties: {
    peers: { type: 'array', items: { type: 'string' } },
    direction: { enum: [...DIRECTIONS, null] }
  }
} as const

/** `DELETE /v1/faults/partition`'s query: `?peers=a,b`. */
const HEAL_QUERY = { type: 'object', properties: { peers: { type: 'string' } } } as const

const PEERS_MESSAGE = '"peers" must be a list of peer ids'

export function faultRoutes (app: FastifyInstance, target: FaultTarget): void {
  app.get('/v1/faults', async () => ({ partitions: target.partitions() }))

  app.put<{ Body: PartitionJson }>('/v1/faults/partition', {
    schema: { body: PARTITION_BODY },
    // a body that is no object at all fails on its type, at the top: it has no list of peers
    schemaErrorFormatter: invalidInput({
      '': () => PEERS_MESSAGE,
      peers: () => PEERS_MESSAGE,
      direction: direction => `"direction" must be "both", "inbound" or "outbound", got ${JSON.stringify(direction)}`
    }),
    // every body arrives as bytes (see index.ts): this one is JSON, whatever its content type says
    preValidation: async request => { request.body = parseJson(request.body) as PartitionJson }
  }, async request => {
    const body = request.body
    await target.partition(body.peers.map(id => parsePeerId(id)), { direction: body.direction ?? undefined })
    return { partitions: target.partitions() }
  })

  app.delete<{ Querystring: { peers?: string } }>('/v1/faults/partition', {
    schema: { querystring: HEAL_QUERY },
    schemaErrorFormatter: invalidInput({ peers: () => '"peers" must be one comma-separated list of peer ids: ?peers=12D3KooW…,12D3KooW…' })
  }, async request => {
    const peers = request.query.peers == null ? undefined : request.query.peers.split(',').filter(id => id !== '').map(id => parsePeerId(id))
    return { healed: target.heal(peers), partitions: target.partitions() }
  })
}

function parseJson (raw: unknown): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw ?? ''))
  } catch {
    throw new InvalidParametersError('expected a JSON body { "peers": ["12D3KooW…"], "direction": "both" | "inbound" | "outbound" }')
  }
}

function parsePeerId (id: string): PeerId {
  try {
    return peerIdFromString(id)
  } catch {
    throw new InvalidParametersError(`"${id}" is not a peer id (expected e.g. 12D3KooW…)`)
  }
}
