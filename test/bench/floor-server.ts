/**
 * The server process of the floor measurements: one libp2p node (TCP + Noise + Yamux, as a
 * p2pstore peer's) serving the floor echo protocols. Spawned by `FloorProcess.spawn()` with an IPC
 * channel: it reports its addresses, answers RSS queries, and exits on SIGTERM or when its parent
 * goes away.
 *
 *   process.execPath --import tsx test/bench/floor-server.ts
 */
// must stay the first import: libp2p needs Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import { childMain, serveFloor } from './floor.ts'
import { createFloorNode } from './nodes.ts'

if (process.send == null) {
  process.stderr.write('floor-server.ts is started by the benchmark (test/bench/index.ts) with an IPC channel\n')
  process.exit(2)
}

const node = await createFloorNode()
await serveFloor(node)
childMain(node)
