/**
 * Issue #16's proof of the connection budget: a budget far below the network's size. A 30-peer
 * in-process net with `maxConnections` 6 serves put and get through every peer, sees a killed peer
 * dead, restores N copies of what it held, and a `p2pstore check` scenario on 30 daemon processes
 * with the same budget loses nothing acknowledged. Run by `npm run test:scale` (not by CI: it
 * takes many minutes on 2 cores); it prints connections per peer (max / median) as it goes.
 */
import { runCheck } from '../../src/check/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { Peer } from '../../src/peer.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
const PEERS = 30
const BUDGET = 6

/** Samples every peer's open connections every `every` ms until stopped. */
function sampler (peers: () => Peer[], every = 500): { stop(): { max: number, median: number, samples: number } } {
  const seen: number[] = []
  const timer = setInterval(() => {
    for (const p of peers()) if (p.isStarted) seen.push(p.libp2p.getConnections().length)
  }, every)
  return {
    stop () {
      clearInterval(timer)
      const sorted = [...seen].sort((a, b) => a - b)
      return { max: sorted.at(-1) ?? 0, median: sorted[Math.floor(sorted.length / 2)] ?? 0, samples: sorted.length }
    }
  }
}

describe(`connection budget at scale: ${PEERS} peers, maxConnections ${BUDGET}`, function () {
  const cleanup = useCleanup()

  it('serves put and get through every peer, sees a killed peer dead and restores N copies of its keys', async () => {
    const net = await createTestnet(PEERS, { onTeardown: fn => { cleanup.add(fn) }, peer: { maxConnections: BUDGET }, joinTimeout: 600_000 })
    const { peers } = net
    const counts = sampler(() => peers)
    cleanup.add(() => { counts.stop() })

    await eventually(async () => peers.every(p => p.libp2p.getConnections().length <= BUDGET), `≤ ${BUDGET} connections on every peer`, 300_000, 200)

    const keys = peers.map((_, i) => `scale-${i}`)
    for (const [i, p] of peers.entries()) await p.put(keys[i] ?? '', enc.encode(`v${i}`))
    for (const [i, p] of peers.entries()) {
      const j = (i + 7) % peers.length
      const got = await p.get(keys[j] ?? '')
      expect(got.siblings.map(s => dec.decode(s.value)), `peer-${i} reads ${keys[j] ?? ''}`).to.deep.equal([`v${j}`])
    }

    // kill a peer that holds keys; every other sees it dead
    const victim = peers[11] as Peer
    const held: string[] = []
    for (const key of keys) if (await victim.localState(key) != null) held.push(key)
    await victim.stop({ leave: false })
    const rest = peers.filter(p => p !== victim)
    const id = victim.peerId.toString()
    await eventually(async () => {
      for (const p of rest) if ((await p.peers()).find(m => m.peerId === id)?.state !== 'dead') return false
      return true
    }, 'every peer to see the killed peer dead', 300_000, 500)

    // re-replication: each key it held is on N live peers again (their own stores, no read repair)
    await eventually(async () => {
      for (const key of keys) {
        let copies = 0
        for (const p of rest) if (await p.localState(key) != null) copies++
        if (copies < 3) return false
      }
      return true
    }, `N = 3 copies of the ${held.length} keys the dead peer held`, 300_000, 1000)
    for (const [i, p] of rest.entries()) {
      const got = await p.get(keys[(i + 3) % keys.length] ?? '')
      expect(got.siblings).to.have.length(1)
    }

    const { max, median, samples } = counts.stop()
    process.stdout.write(`      connections per peer over the run (${samples} samples): max ${max}, median ${median}\n`)
    expect(median).to.be.at.most(BUDGET)
  })

  it('passes a `p2pstore check` kill scenario on 30 daemons with the same budget: 0 lost, 0 unexpected', async () => {
    const dir = await cleanup.tempDir()
    const report = await runCheck({ scenario: 'kill', peers: PEERS, maxConnections: BUDGET, duration: 60, seed: 16, history: `${dir}/history.jsonl`, settleTimeout: 300_000 })
    const detail = `lost ${JSON.stringify(report.lostSample)}, unexpected ${JSON.stringify(report.unexpectedSample)} (seed ${report.seed}, history ${report.history})`
    process.stdout.write(`      check kill, ${PEERS} daemons, maxConnections ${BUDGET}: ${report.acked} acknowledged, ${report.lost} lost, ${report.unexpected} unexpected\n`)
    expect(report.lost, detail).to.equal(0)
    expect(report.unexpected, detail).to.equal(0)
    expect(report.passed, detail).to.equal(true)
    expect(report.acked).to.be.greaterThan(0)
  })
})
