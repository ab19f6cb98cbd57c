import path from 'node:path'
import { byteStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { startCli } from '../utils/cli-process.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'

/** A length-prefixed frame no protobuf decodes (field 1 with wire type 7). */
const GARBAGE = new Uint8Array([6, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff])

describe('cli: a daemon prints one line per ban and per unban', function () {
  this.timeout(90_000)
  const cleanup = useCleanup()

  it('`p2pstore: banned peer <id> for 2 s: …` on stderr once, then `p2pstore: unbanned peer <id>` once', async () => {
    const data = ['--data', path.join(await cleanup.tempDir(), 'banning')]
    const daemon = startCli(cleanup, [...data, 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json', '--ban-threshold', '30', '--ban-duration', '2000'])
    const ready = JSON.parse(await daemon.waitForLine(/"event":"ready"/)) as { peerId: string, multiaddrs: string[] }
    const hostile = await createFloorNode()
    cleanup.add(async () => { await hostile.stop() })
    for (let sent = 0; sent < 100; sent++) {
      let stream
      try {
        stream = await hostile.dialProtocol(ready.multiaddrs.map(a => multiaddr(a)), PROTOCOL_KV, { signal: AbortSignal.timeout(10_000) })
      } catch {
        break
      }
      const bytes = byteStream(stream)
      await bytes.write(GARBAGE).catch(() => {})
      await bytes.read({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
    }
    const id = hostile.peerId.toString()
    const lines = (re: RegExp): string[] => daemon.stderr().split('\n').filter(l => re.test(l))
    await eventually(async () => lines(/unbanned peer/).length > 0, 'the unban line', 30_000)
    expect(lines(/^p2pstore: banned peer /)).to.deep.equal([lines(/^p2pstore: banned peer /)[0]])
    expect(lines(/^p2pstore: banned peer /)[0]).to.match(new RegExp(`^p2pstore: banned peer ${id} for 2 s: malformed frames \\(score \\d+\\)$`))
    expect(lines(/unbanned peer/)).to.deep.equal([`p2pstore: unbanned peer ${id}`])
    expect(ready.peerId).to.not.equal(id)
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).to.equal(0)
  })
})
