import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'

describe('replication: sibling sets larger than 4 MiB cross the wire', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  // lpStream's byte stream buffers at most 4 MiB unless told otherwise: a read answer carrying six
  // 1 MiB siblings used to reset the kv stream, and the key could no longer be read at R = 2
  it('six concurrent 1 MiB writes to one key are six siblings read at R = 2 through every peer', async () => {
    const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    const key = new TextEncoder().encode('large')
    const values = [0, 1, 2, 3, 4, 5].map(i => new Uint8Array(1024 * 1024).fill(i + 1))
    await Promise.all(values.map(async (value, i) => net.peers[i % net.peers.length]?.put(key, value)))
    for (const peer of net.peers) {
      const got = await peer.get(key)
      const firstBytes = got.siblings.map(s => s.value?.[0]).sort()
      expect(firstBytes, `siblings read through ${peer.peerId.toString().slice(-6)}`).to.deep.equal([1, 2, 3, 4, 5, 6])
      expect(got.siblings.every(s => s.value?.byteLength === 1024 * 1024)).to.equal(true)
    }
  })
})
