/**
 * `ProcessTestnet`'s `allowOwnRange`: by default every daemon gets `--allow` for the net's own
 * range (its peers are one host to libp2p's limits); `npm run attack` turns it off so that
 * maxConnections and the inbound rate hold against its hostile peers, and its 3 daemons must still
 * form a net and serve.
 */
import fs from 'node:fs/promises'
import { ProcessTestnet } from '../../../src/testnet/index.ts'
import { request } from '../../attack/http-client.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'

const args = async (pid: number): Promise<string[]> => (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')

describe('ProcessTestnet: allowOwnRange', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  it('without it, the daemons run with no --allow, still mesh and serve; with the default, they get loopback', async () => {
    const net = new ProcessTestnet({ peers: 3, dir: await cleanup.tempDir('p2pstore-allow-'), open: true, allowOwnRange: false })
    cleanup.add(async () => net.stop())
    const peers = await net.start()
    await net.waitForMesh({ timeout: 120_000 })
    for (const p of peers) expect(await args(p.pid)).to.not.include('--allow')
    const [a, b] = peers
    if (a == null || b == null) throw new Error('no peers')
    const put = await request(`${a.api}/v1/kv/allow-spec`, { method: 'PUT', body: 'v' })
    expect(put.status).to.be.within(200, 299)
    const got = await request(`${b.api}/v1/kv/allow-spec`)
    expect(got.status).to.equal(200)
    expect(got.body).to.equal('v')
    await net.stop()

    const usual = new ProcessTestnet({ peers: 1, dir: await cleanup.tempDir('p2pstore-allow-'), open: true })
    cleanup.add(async () => usual.stop())
    const [one] = await usual.start()
    if (one == null) throw new Error('no peer')
    const flags = await args(one.pid)
    expect(flags[flags.indexOf('--allow') + 1]).to.equal('/ip4/127.0.0.0/ipcidr/8')
  })
})
