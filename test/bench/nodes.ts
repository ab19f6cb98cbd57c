/**
 * Plain libp2p nodes built the way `src/peer.ts` builds a peer's node (TCP, Noise, Yamux, identify,
 * ping; kad-dht under p2pstore's protocol id with the loopback-friendly settings), without the
 * p2pstore parts on top: the floors measure the bare stack, and the kad-dht comparison needs a
 * validator and selector for its own namespace, which a p2pstore peer's DHT has no option for.
 *
 * @packageDocumentation
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { PROTOCOL_KAD } from '../../src/constants.ts'
import { LOOPBACK_ALLOW } from '../../src/testnet/index.ts'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'

/** Services of a floor node: what every p2pstore peer runs besides kad-dht. */
export type FloorServices = {
  identify: Identify
  ping: Ping
}

/** Services of a kad-dht node. */
export type KadServices = FloorServices & {
  dht: KadDHT
}

/** Namespace of the benchmark's kad-dht records: keys are `/p2pstore-bench/<key>`. */
export const BENCH_NAMESPACE = 'p2pstore-bench'

/** Largest record value the benchmark's validator accepts (kad-dht itself caps messages at 4 MiB). */
const MAX_BENCH_RECORD_BYTES = 64 * 1024

/** A started libp2p node on 127.0.0.1 (any free port), TCP + Noise + Yamux + identify + ping. */
export async function createFloorNode (init: { swarmKey?: Uint8Array } = {}): Promise<Libp2p<FloorServices>> {
  return createLibp2p<FloorServices>({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // a private network's pre-shared key, for a node that holds it (test/roster/stranger.spec.ts)
    connectionProtector: init.swarmKey == null ? undefined : preSharedKey({ psk: init.swarmKey }),
    connectionManager: { allow: [LOOPBACK_ALLOW] },
    services: { identify: identify(), ping: ping() }
  })
}

/** Options of `createKadNode()`. */
export interface KadNodeInit {
  /** kad-dht self-query interval (a p2pstore daemon uses QUERY_SELF_INTERVAL) */
  querySelfInterval: number
}

/**
 * A started libp2p node with kad-dht configured exactly as a p2pstore peer's (protocol
 * `/p2pstore/kad/1.0.0`, server mode, private and loopback addresses kept) plus a validator and a
 * selector for the `/p2pstore-bench/` namespace, so that arbitrary values can be stored.
 */
export async function createKadNode (init: KadNodeInit): Promise<Libp2p<KadServices>> {
  return createLibp2p<KadServices>({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: [LOOPBACK_ALLOW] },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL_KAD,
        peerInfoMapper: passthroughMapper,
        clientMode: false,
        querySelfInterval: init.querySelfInterval,
        logPrefix: 'p2pstore-bench:dht',
        datastorePrefix: '/p2pstore-bench/dht',
        metricsPrefix: 'p2pstore_bench_dht',
        validators: {
          [BENCH_NAMESPACE]: async (key, value) => {
            if (value.byteLength > MAX_BENCH_RECORD_BYTES) throw new RangeError(`bench record of ${value.byteLength} bytes under ${key.byteLength}-byte key is too large`)
          }
        },
        // every copy of a bench record holds the same bytes: any one is as good as the others
        selectors: { [BENCH_NAMESPACE]: () => 0 }
      })
    }
  })
}
