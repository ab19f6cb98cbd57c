/**
 * A 100-daemon process test net on this machine (issue #16): `ProcessTestnet` as `p2pstore testnet
 * --peers 100` runs it is ready, serves a put and a get through every daemon, and a SIGKILLed
 * daemon is seen dead by every other. Run by `npm run test:scale`, not by `npm test`: it loads a
 * 2-core machine for minutes. Timings are the benchmark's (test/bench/process-scale.ts); the bounds
 * here are deadlines, not claims.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { HttpClient } from '../../src/client/index.ts'
import { second } from '../../src/constants.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

/** Daemons in the net. */
const PEERS = 100

/** Issue #16's target for `p2pstore testnet --peers 100` on this machine, with room for a loaded one. */
const READY_DEADLINE = 300 * second

/** How long every survivor may take to see the killed daemon dead. */
const DEATH_DEADLINE = 120 * second

/** `peers[i]`, or a clear failure instead of `undefined`. */
function at (peers: ProcessTestnetPeer[], i: number): ProcessTestnetPeer {
  const peer = peers[i]
  if (peer == null) throw new Error(`no peer-${i} in a net of ${peers.length}`)
  return peer
}

/** The state `observer` reports for `subject`, or undefined when it does not answer in time. */
async function stateOf (observer: ProcessTestnetPeer, subject: ProcessTestnetPeer): Promise<string | undefined> {
  try {
    const members = await new HttpClient({ url: observer.api }, 5 * second).peers()
    return members.find(m => m.peerId === subject.peerId)?.state
  } catch {
    return undefined
  }
}

describe(`testnet: ${PEERS} daemon processes`, function () {
  this.timeout(900_000)
  const cleanup = useCleanup()

  it(`${PEERS} daemons get ready, serve put/get through every daemon, and all see a SIGKILLed one dead`, async () => {
    const net = new ProcessTestnet({ peers: PEERS, dir: await cleanup.tempDir('p2pstore-hundred-'), open: true, joinTimeout: READY_DEADLINE })
    cleanup.add(async () => net.stop())
    const began = Date.now()
    const peers = await net.start({ signal: AbortSignal.timeout(READY_DEADLINE + 60 * second) })
    expect(peers).to.have.length(PEERS)
    expect(Date.now() - began, 'ms until ready').to.be.below(READY_DEADLINE)

    // every daemon coordinates one put, and a get of another daemon's key reads it back
    const value = (i: number): string => `value-${i}`
    // a few at a time: a hundred requests at once would measure the machine, not the store
    for (let start = 0; start < PEERS; start += 10) {
      await Promise.all(peers.slice(start, start + 10).map(async p => {
        await new HttpClient({ url: p.api }, 30 * second).put(`hundred/${p.index}`, new TextEncoder().encode(value(p.index)))
      }))
    }
    for (let start = 0; start < PEERS; start += 10) {
      await Promise.all(peers.slice(start, start + 10).map(async p => {
        const other = (p.index + 37) % PEERS
        const got = await new HttpClient({ url: p.api }, 30 * second).get(`hundred/${other}`)
        expect(got.siblings.map(s => s.value), `peer-${p.index} reads hundred/${other}`).to.deep.equal([value(other)])
      }))
    }

    const victim = at(peers, 57)
    await net.kill(victim.index)
    const others = peers.filter(p => p !== victim)
    const deadline = Date.now() + DEATH_DEADLINE
    let states: Array<string | undefined> = []
    for (;;) {
      states = await Promise.all(others.map(async o => stateOf(o, victim)))
      if (states.every(s => s === 'dead')) break
      if (Date.now() > deadline) {
        const behind = others.filter((_, i) => states[i] !== 'dead').map((o, i) => `peer-${o.index}: ${states[i] ?? 'no answer'}`)
        throw new Error(`${behind.length} of ${others.length} daemons do not see peer-${victim.index} dead after ${DEATH_DEADLINE / 1000} s: ${behind.slice(0, 10).join(', ')}`)
      }
      await sleep(500)
    }
    expect(states.filter(s => s === 'dead')).to.have.length(PEERS - 1)
  })
})
