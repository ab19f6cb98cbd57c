import { lpStream } from '@libp2p/utils'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { sendFrame } from '../utils/hostile.ts'
import { enc, written } from '../utils/replication.ts'
import type { KvRequest, KvResponse } from '../../src/protocol/index.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

/** What the hostile peer saw come back. */
interface Answers {
  ok: number
  errors: Map<string, number>
  /** when the last answer came (performance.now) */
  last: number
}

/**
 * A hostile kv client speaking /p2pstore/kv/1.0.0 over one stream: writes every frame at once
 * without waiting for answers or for the stream to drain (its own write buffer takes what the
 * target does not read), and counts the answers as they come.
 */
async function flood (hostile: Libp2p, target: Libp2p['peerId'], requests: KvRequest[], onStream?: (stream: Stream) => void): Promise<{ answers: Answers, done: Promise<void>, started: number }> {
  const stream = await hostile.dialProtocol(target, PROTOCOL_KV, { signal: AbortSignal.timeout(10_000) })
  onStream?.(stream)
  const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
  const answers: Answers = { ok: 0, errors: new Map(), last: 0 }
  const started = performance.now()
  // lpStream's write awaits a drain: queue the frames on the stream itself instead
  const frames = requests.map((request, i) => encodeRequest(BigInt(i + 1), request))
  void (async () => {
    for (const frame of frames) sendFrame(stream, frame)
  })()
  const done = (async () => {
    for (let i = 0; i < requests.length; i++) {
      const { response } = decodeResponse(await lp.read({ signal: AbortSignal.timeout(60_000) })) as { response: KvResponse }
      answers.last = performance.now()
      if (response.status === 'ok') answers.ok++
      else if (response.status === 'error') answers.errors.set(response.errorName, (answers.errors.get(response.errorName) ?? 0) + 1)
    }
  })()
  return { answers, done, started }
}

describe('quota: a hostile peer flooding the kv protocol', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()

  // issue #19's target: "over-quota writer: accepted rate ≤ quota + 5 %; its hinted storage ≤ its
  // quota". Small quotas, so that the flood is ≥ 10× the rate within a few seconds on this machine
  const rate = 250
  const burst = 25
  const hintedPerPeer = 64 * 1024

  it('answers an over-quota writer at its rate (+ burst) at most, drops none of its requests, holds at most its hinted share, and honest traffic goes on', async () => {
    const net = await createTestnet(3, {
      open: true,
      onTeardown: fn => { cleanup.add(fn) },
      peer: { kvPeerRequestRate: rate, kvPeerRequestBurst: burst, kvGlobalRequestRate: 20 * rate, hintedBytesPerPeer: hintedPerPeer, hintedBytesTotal: 4 * hintedPerPeer }
    })
    const [target, other, third] = net.peers
    if (target == null || other == null || third == null) throw new Error('no peers')
    const hostile = await createFloorNode()
    cleanup.add(async () => { await hostile.stop() })
    await hostile.dial(target.getMultiaddrs())

    // 1. plain stores of distinct keys, 1 KiB each: 2500 at once is 10 s of its quota, offered in
    // well under a second (≥ 10× the rate)
    const count = 2500
    const value = 'v'.repeat(1024)
    const stores: KvRequest[] = Array.from({ length: count }, (_, i) => ({ type: 'store', key: enc.encode(`flood-${i}`), state: written(value) }))
    let stream: Stream | undefined
    let mostUnsent = 0
    const { answers, done, started } = await flood(hostile, target.peerId, stores, s => { stream = s })
    const sampler = setInterval(() => { mostUnsent = Math.max(mostUnsent, stream?.writeBufferLength ?? 0) }, 10)
    cleanup.add(() => { clearInterval(sampler) })

    // honest put/get through every peer while the flood is paced, the attacked one included
    const honest = (async () => {
      let rounds = 0
      while (answers.ok + answers.errors.size < count && rounds < 40) {
        for (const [i, p] of [target, other, third].entries()) {
          const key = enc.encode(`honest-${rounds}-${i}`)
          await p.put(key, enc.encode(`v${rounds}`))
          const back = net.peers[(i + 1) % net.peers.length]
          expect((await back?.get(key))?.siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal([`v${rounds}`])
        }
        rounds++
      }
      return rounds
    })()

    await done
    clearInterval(sampler)
    const seconds = (answers.last - started) / 1000
    // the whole flood was answered (none dropped), and no faster than the quota allows
    expect(answers.ok, 'stores answered ok').to.equal(count)
    expect(count, 'accepted within the quota + 5 %').to.be.at.most(1.05 * (burst + rate * seconds))
    expect(count / seconds, 'the rate the target took them at').to.be.at.most(1.05 * rate + burst / seconds)
    expect(mostUnsent, 'the hostile peer was held back: its own stream kept what the target did not read').to.be.greaterThan(256 * 1024)
    const throttled = (await target.metrics.quotaThrottled.get()).values.reduce((sum, v) => sum + v.value, 0)
    expect(throttled, 'requests held back').to.be.greaterThan(0)
    expect(await honest, 'honest rounds done during the flood').to.be.greaterThan(0)

    // 2. hinted copies for a home replica: 1 KiB each, 4× its hinted share, at once
    let mostHinted = 0
    const hintSampler = setInterval(() => { mostHinted = Math.max(mostHinted, target.hintQuota.usedBy(hostile.peerId)) }, 5)
    cleanup.add(() => { clearInterval(hintSampler) })
    const hints: KvRequest[] = Array.from({ length: 4 * hintedPerPeer / 1024 }, (_, i) => ({ type: 'store', key: enc.encode(`hint-${i}`), state: written(value), hintFor: [other.peerId.toString()] }))
    const flood2 = await flood(hostile, target.peerId, hints)
    await flood2.done
    clearInterval(hintSampler)
    mostHinted = Math.max(mostHinted, target.hintQuota.usedBy(hostile.peerId))
    expect(mostHinted, 'hinted bytes held for the hostile peer').to.be.at.most(hintedPerPeer)
    expect(mostHinted, 'the attack reached the quota').to.be.greaterThan(hintedPerPeer / 2)
    expect(flood2.answers.errors.get('QuotaExceededError') ?? 0, 'hinted copies refused').to.be.greaterThan(hints.length / 2)
    const refused = (await target.metrics.hintsRefused.get()).values[0]?.value ?? 0
    expect(refused).to.equal(flood2.answers.errors.get('QuotaExceededError'))

    // honest traffic after the attack, through the attacked peer
    await other.put(enc.encode('after'), enc.encode('v'))
    expect((await target.get(enc.encode('after'))).siblings.map(s => new TextDecoder().decode(s.value))).to.deep.equal(['v'])
    await hostile.stop()
    await eventually(async () => target.inboundBudget.usedBy(hostile.peerId) === 0, 'nothing held for the hostile peer\'s frames once it left')
  })
})
