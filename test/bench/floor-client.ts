/**
 * The client process of the floor measurements: one libp2p node built like the server's, connected
 * to the server given as its argument, running each load the bench process asks for over IPC
 * (`{ type: 'run', mode, load }` → `{ type: 'result', run }`) with nothing else on its event loop.
 *
 *   process.execPath --import tsx test/bench/floor-client.ts <server multiaddr>
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { childMain, floorRun } from './floor.ts'
import { createFloorNode } from './nodes.ts'

/** Deadline of the dial to the server. */
const DIAL_TIMEOUT = 10_000

const server = process.argv[2]
if (process.send == null || server == null) {
  process.stderr.write('floor-client.ts <server multiaddr> is started by the benchmark (test/bench/index.ts) with an IPC channel\n')
  process.exit(2)
}

const node = await createFloorNode()
const connection = await node.dial(multiaddr(server), { signal: AbortSignal.timeout(DIAL_TIMEOUT) })
childMain(node, async (mode, load) => floorRun(connection, mode, load))
