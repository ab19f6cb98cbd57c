/**
 * A stranger — a plain libp2p node that never joined and holds no credentials — attacks a test
 * net the way issue #13 measured: it dials every peer's `/p2pstore/kv/1.0.0`, READs a key, then
 * STOREs an empty sibling set whose context covers what it read (on an open network every replica
 * merges it and the key is gone), and tells membership it is alive. On a closed network (the
 * default) it gets 0 bytes and changes 0 records, and never appears in membership.
 */
import { generateKey } from '@libp2p/pnet'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL_KV, PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { decodeResponse, encodeRequest } from '../../src/protocol/kv/messages.ts'
import { encodeMembershipMessage } from '../../src/protocol/membership/codec.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'
import type { Libp2p } from '@libp2p/interface'

const KEY = new TextEncoder().encode('secret')
const VALUE = new TextEncoder().encode('the launch codes')

interface AttackResult {
  /** value bytes the stranger read */
  bytesRead: number
  /** STOREs a replica acknowledged */
  storesAccepted: number
  /** what went wrong for the stranger, per peer */
  errors: string[]
}

/** READ then a covering empty STORE on one peer's kv protocol, as the stranger of issue #13 did. */
async function attack (node: Libp2p, peer: Peer, result: AttackResult): Promise<void> {
  const signal = AbortSignal.timeout(5_000)
  try {
    await node.dial(peer.getMultiaddrs(), { signal })
    const stream = await node.dialProtocol(peer.peerId, PROTOCOL_KV, { signal })
    const lp = lpStream(stream)
    await lp.write(encodeRequest(1n, { type: 'read', key: KEY }), { signal })
    const read = decodeResponse(await lp.read({ signal })).response
    if (read.status !== 'ok' || read.state == null) {
      await stream.close()
      return
    }
    result.bytesRead += read.state.siblings.reduce((n, s) => n + (s.value?.byteLength ?? 0), 0)
    await lp.write(encodeRequest(2n, { type: 'store', key: KEY, state: { siblings: [], context: read.state.context } }), { signal })
    const stored = decodeResponse(await lp.read({ signal })).response
    if (stored.status === 'ok') result.storesAccepted++
    await stream.close()
  } catch (err) {
    result.errors.push(`${peer.peerId.toString().slice(-6)}: ${(err as Error).name}`)
  }
}

/** Tells a peer's membership that the stranger is alive, as a joining member would. */
async function claimMembership (node: Libp2p, peer: Peer): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(5_000)
    const stream = await node.dialProtocol(peer.getMultiaddrs(), PROTOCOL_MEMBERSHIP, { signal })
    const lp = lpStream(stream)
    await lp.write(encodeMembershipMessage({ type: 'sync', updates: [{ peerId: node.peerId, state: 'alive', incarnation: Date.now(), addrs: node.getMultiaddrs() }] }), { signal })
    await lp.read({ signal })
    return true
  } catch {
    return false
  }
}

/** What a refused stranger leaves: 0 bytes read, 0 records changed, no peer answered or lists it, the value intact. */
function expectRefused ({ result, answered, after, listed }: { result: AttackResult, answered: number, after: number, listed: number }): void {
  expect(result.bytesRead, 'value bytes the stranger read').to.equal(0)
  expect(result.storesAccepted, 'replicas that merged its empty STORE').to.equal(0)
  expect(result.errors, 'every peer refused it').to.have.length(4)
  expect(answered, 'membership exchanges answered').to.equal(0)
  expect(after, 'siblings left').to.equal(1)
  expect(listed, 'peers listing the stranger').to.equal(0)
}

describe('roster: a stranger against a test net', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  const run = async (open: boolean, swarmKey?: Uint8Array): Promise<{ result: AttackResult, answered: number, after: number, listed: number }> => {
    const net = await createTestnet(4, { open, onTeardown: fn => { cleanup.add(fn) }, ...(swarmKey == null ? {} : { peer: { swarmKey } }) })
    const [first, second] = net.peers
    if (first == null || second == null) throw new Error('no peers')
    await first.put(KEY, VALUE)
    // the stranger holds the swarm key too when the network has one: only the roster keeps it out
    const node = await createFloorNode({ swarmKey })
    cleanup.add(async () => { await node.stop() })

    const result: AttackResult = { bytesRead: 0, storesAccepted: 0, errors: [] }
    for (const peer of net.peers) await attack(node, peer, result)
    let answered = 0
    for (const peer of net.peers) if (await claimMembership(node, peer)) answered++

    const after = (await second.get(KEY)).siblings.length
    let listed = 0
    for (const peer of net.peers) if ((await peer.peers()).some(p => p.peerId === node.peerId.toString())) listed++
    return { result, answered, after, listed }
  }

  it('on an open network (the measured problem) it reads the value and deletes it', async () => {
    const { result, after, listed } = await run(true)
    expect(result.bytesRead, 'value bytes the stranger read').to.be.above(0)
    expect(result.storesAccepted, 'replicas that merged its empty STORE').to.be.above(0)
    expect(after, 'siblings left').to.equal(0)
    expect(listed, 'peers listing the stranger').to.be.above(0)
  })

  it('on a closed network (the default) it reads 0 bytes, changes 0 records and never becomes a member', async () => {
    expectRefused(await run(false))
  })

  it('on a closed network with a swarm key, a stranger that holds the key (a leaked key, a former member) is still refused by the roster', async () => {
    const swarmKey = new Uint8Array(95)
    generateKey(swarmKey)
    expectRefused(await run(false, swarmKey))
  })
})
