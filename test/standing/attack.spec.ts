import { defaultLogger } from '@libp2p/logger'
import { byteStream } from '@libp2p/utils'
import { RequestChannel } from '../../src/channel/index.ts'
import { PROTOCOL_KV, PROTOCOL_MEMBERSHIP } from '../../src/constants.ts'
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts'
import { Standing } from '../../src/standing/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { GARBAGE } from '../utils/hostile.ts'
import type { Ban } from '../../src/standing/index.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

describe('standing: a peer that sends malformed frames is banned', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  for (const [name, protocol] of [['kv', PROTOCOL_KV], ['membership', PROTOCOL_MEMBERSHIP]] as const) {
    it(`${name}: banned after ≤ 100 frames, hung up, redial refused, one log line; honest put/get go on`, async () => {
      const net = await createTestnet(3, { open: true, onTeardown: fn => { cleanup.add(fn) } })
      const [target, other] = net.peers
      if (target == null || other == null) throw new Error('no peers')
      const bans: Array<Ban & { line: string }> = []
      target.addEventListener('peer:banned', ({ detail }) => { bans.push(detail) })
      const hostile = await createFloorNode()
      cleanup.add(async () => { await hostile.stop() })
      await hostile.dial(target.getMultiaddrs())

      let sent = 0
      for (; sent < 1000; sent++) {
        // a new stream per frame: the handler resets each one at its first bad frame
        let stream
        try {
          stream = await hostile.dialProtocol(target.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
        } catch {
          break
        }
        const bytes = byteStream(stream)
        await bytes.write(GARBAGE).catch(() => {})
        // wait for the reset, so each frame is judged before the next goes
        await bytes.read({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
      }
      expect(sent, 'malformed frames sent before the ban').to.be.at.most(100).and.greaterThan(0)
      expect(target.standing.isBanned(hostile.peerId)).to.equal(true)
      await eventually(async () => hostile.getConnections(target.peerId).length === 0, 'the hostile peer\'s connection closed')
      await eventually(async () => target.libp2p.getConnections(hostile.peerId).length === 0, 'the target\'s side closed')
      // the target refuses a new connection once Noise has said who dials: on the hostile side the
      // dial fails or its connection dies at once, and no stream gets through
      await hostile.dial(target.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      await eventually(async () => hostile.getConnections(target.peerId).length === 0, 'the redialled connection closed')
      await expect(hostile.dialProtocol(target.peerId, protocol, { signal: AbortSignal.timeout(10_000) }), 'a stream after redialling').to.be.rejected
      expect(target.libp2p.getConnections(hostile.peerId)).to.have.length(0)
      expect(bans.map(b => b.line)).to.deep.equal([
        `p2pstore: banned peer ${hostile.peerId.toString()} for 10 min: malformed frames (score ${bans[0]?.score ?? 0})`
      ])
      expect(bans[0]?.score).to.be.at.least(100)
      // `p2pstore status` lists it
      expect((await target.status()).bans?.map(b => [b.peerId, b.reason])).to.deep.equal([[hostile.peerId.toString(), 'malformed-frame']])

      // honest traffic through the target
      await target.put(enc.encode(`after-${name}`), enc.encode('v'))
      const got = await other.get(enc.encode(`after-${name}`))
      expect(got.siblings.map(s => dec.decode(s.value))).to.deep.equal(['v'])
      expect(target.standing.isBanned(other.peerId)).to.equal(false)
      expect(target.standing.score(other.peerId)).to.equal(0)
    })
  }
})

describe('standing: a peer that answers our requests with garbage is penalised', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  it('a malformed response fails the channel and scores against the peer that sent it', async () => {
    const [ours, hostile] = [await createFloorNode(), await createFloorNode()]
    cleanup.add(async () => { await ours.stop() })
    cleanup.add(async () => { await hostile.stop() })
    await hostile.handle(PROTOCOL_KV, stream => {
      void byteStream(stream).write(GARBAGE).catch(() => {})
    })
    const standing = new Standing({ logger: defaultLogger() }, { halfLife: 600_000, banThreshold: 100, banDuration: 600_000 })
    standing.start()
    cleanup.add(() => { standing.stop() })
    const stream = await ours.dialProtocol(hostile.getMultiaddrs(), PROTOCOL_KV)
    const channel = new RequestChannel<{ type: 'read', key: Uint8Array }, unknown>(hostile.peerId, stream, {
      name: 'kv',
      encode: (id, request) => encodeRequest(BigInt(id), request),
      decode: frame => ({ id: Number(decodeResponse(frame).id), response: undefined }),
      describe: () => 'a read',
      maxFrame: 1024 * 1024,
      log: () => {},
      standing
    })
    await expect(channel.request({ type: 'read', key: enc.encode('k') }, { timeout: 10_000 })).to.be.rejected
    expect(channel.closed).to.equal(true)
    expect(standing.score(hostile.peerId)).to.be.closeTo(10, 0.01)
  })
})
