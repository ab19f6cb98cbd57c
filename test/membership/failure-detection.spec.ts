/**
 * SWIM failure detection between real `p2pstore daemon` processes (`--profile testnet`): a crashed
 * daemon (SIGKILL) is declared dead everywhere, a briefly frozen one (SIGSTOP shorter than the
 * suspicion floor) never is, and a long-frozen one is declared dead and then refutes with a higher
 * incarnation once it runs again. SIGSTOP is invisible at TCP level, so only the gossip probes can
 * notice it. Bounds are generous on purpose; the timings themselves are measured by
 * test/bench/failure-detection.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { GOSSIP_TESTNET, second } from '../../src/constants.ts'
import { suspicionBounds } from '../../src/membership/suspicion.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'
import type { Cleanup } from '../utils/cleanup.ts'

/** The fields of one `/v1/peers` entry these tests read. */
interface MemberView {
  peerId: string
  state: 'alive' | 'suspect' | 'dead' | 'left'
  incarnation: number
  suspectedBy: string[]
}

/** Generous bound for anything a healthy loopback net should do in a few seconds. */
const BOUND = 20 * second

/** `GET <api>/v1/peers`, or undefined when the daemon does not answer in time (e.g. it is stopped). */
async function membersOf (peer: ProcessTestnetPeer, timeout = 2 * second): Promise<MemberView[] | undefined> {
  try {
    const res = await fetch(new URL('/v1/peers', peer.api), { signal: AbortSignal.timeout(timeout) })
    if (!res.ok) return undefined
    return await res.json() as MemberView[]
  } catch {
    return undefined
  }
}

/**
 * Polls every observer until `ok` holds for the view each has of `subject`; rejects after `ms`
 * with what each observer last reported.
 */
async function untilEvery (observers: ProcessTestnetPeer[], subject: ProcessTestnetPeer, what: string, ok: (view: MemberView) => boolean, ms = BOUND): Promise<MemberView[]> {
  const deadline = Date.now() + ms
  for (;;) {
    const views = await Promise.all(observers.map(async o => (await membersOf(o))?.find(m => m.peerId === subject.peerId)))
    if (views.every(v => v != null && ok(v))) return views as MemberView[]
    if (Date.now() > deadline) {
      const seen = observers.map((o, i) => `peer-${o.index}: ${views[i] == null ? 'no answer' : `${views[i]?.state}@${views[i]?.incarnation}`}`)
      throw new Error(`not every peer sees peer-${subject.index} ${what} after ${ms} ms (${seen.join(', ')})`)
    }
    await sleep(100)
  }
}

/** `process.kill` that ignores a process already gone. */
function signal (pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Starts `n` daemons; the net (and its directory) is registered with cleanup before it starts. */
async function startNet (cleanup: Cleanup, n: number): Promise<ProcessTestnetPeer[]> {
  const net = new ProcessTestnet({ peers: n, dir: await cleanup.tempDir('p2pstore-fd-') })
  cleanup.add(async () => net.stop())
  return net.start()
}

/** SIGSTOPs `pid`, with a SIGCONT registered first: a stopped daemon ignores SIGTERM until continued. */
function freeze (cleanup: Cleanup, pid: number): void {
  cleanup.add(() => { signal(pid, 'SIGCONT') })
  signal(pid, 'SIGSTOP')
}

/** The suspicion timeout range for a net of `members` daemons under GOSSIP_TESTNET. */
function suspicion (members: number): { min: number, max: number } {
  return suspicionBounds({ members, probeInterval: GOSSIP_TESTNET.probeInterval, mult: GOSSIP_TESTNET.suspicionMult, maxMult: GOSSIP_TESTNET.suspicionMaxMult })
}

/** `peers[i]`, or a clear failure instead of `undefined` */
function at (peers: ProcessTestnetPeer[], i: number): ProcessTestnetPeer {
  const peer = peers[i]
  if (peer == null) throw new Error(`no peer-${i} in a net of ${peers.length}`)
  return peer
}

describe('membership: failure detection between daemon processes', function () {
  this.timeout(90_000)
  const cleanup = useCleanup()

  it('6 daemons: a SIGKILLed daemon is seen dead by every other, and `p2pstore peers` says so', async () => {
    const peers = await startNet(cleanup, 6)
    const victim = at(peers, 4)
    const others = peers.filter(p => p !== victim)
    await untilEvery(others, victim, 'alive', v => v.state === 'alive')

    signal(victim.pid, 'SIGKILL')
    await untilEvery(others, victim, 'dead', v => v.state === 'dead')

    const survivor = at(peers, 1)
    const res = await runCli(cleanup, ['--api', survivor.api, 'peers', '--json'])
    expect(res.code, res.stderr).to.equal(0)
    const listed = JSON.parse(res.stdout) as MemberView[]
    expect(listed.find(m => m.peerId === victim.peerId)?.state).to.equal('dead')
    // nobody else was taken down with it: on a loaded machine a slow peer may be suspect for a
    // moment (that is what suspicion is for), but never dead
    const rest = others.filter(p => p !== survivor).map(p => p.peerId)
    const restStates = listed.filter(m => rest.includes(m.peerId)).map(m => m.state)
    expect(restStates, 'the other daemons as `peers` lists them').to.have.length(rest.length)
    expect(restStates.filter(s => s !== 'alive' && s !== 'suspect'), 'the other daemons as `peers` lists them').to.deep.equal([])
  })

  it('6 daemons: a daemon paused (SIGSTOP) well under the suspicion floor is never declared dead', async () => {
    const peers = await startNet(cleanup, 6)
    const victim = at(peers, 3)
    const others = peers.filter(p => p !== victim)
    await untilEvery(others, victim, 'alive', v => v.state === 'alive')
    // the claim is about pauses well under the suspicion floor: the paused peer must still learn it
    // is suspected and refute before every other member's timer runs out, which a loaded 2-core
    // machine slows down (a third of the floor leaves room for that; at most a half counts)
    const pause = Math.round(0.33 * suspicion(peers.length).min)
    const maxPause = Math.round(0.5 * suspicion(peers.length).min)

    // every view any daemon reports (the victim's own included once it answers again) until told to stop
    const seen = new Map<string, Set<string>>()
    const deadReports: string[] = []
    const polling = new AbortController()
    const pollers = peers.map(async observer => {
      while (!polling.signal.aborted) {
        const members = await membersOf(observer)
        for (const m of members ?? []) {
          if (m.peerId === victim.peerId) seen.set(observer.peerId, (seen.get(observer.peerId) ?? new Set()).add(m.state))
          if (m.state === 'dead') deadReports.push(`peer-${observer.index} reports ${m.peerId === victim.peerId ? 'the paused peer' : m.peerId} dead`)
        }
        await sleep(75)
      }
    })
    cleanup.add(async () => { polling.abort(); await Promise.all(pollers) })

    // three pauses in a row: each is short, and the probes of at least one of them are likely to
    // catch it. On a loaded machine this process may oversleep, which would make a pause longer
    // than the claim is about: such a pause is measured, not counted, and tried again (at most 10)
    const pauses: number[] = []
    for (let tries = 0; pauses.length < 3 && tries < 10; tries++) {
      const frozenAt = performance.now()
      freeze(cleanup, victim.pid)
      await sleep(pause)
      signal(victim.pid, 'SIGCONT')
      const paused = performance.now() - frozenAt
      if (paused <= maxPause) pauses.push(Math.round(paused))
      else {
        // too long to make the claim: let the net settle again before the next try
        await untilEvery(others, victim, 'alive', v => v.state === 'alive')
        deadReports.length = 0
      }
      await sleep(1 * second)
    }
    expect(pauses, `pauses of at most ${maxPause} ms this machine managed`).to.have.length(3)
    await sleep(3 * second)
    polling.abort()
    await Promise.all(pollers)

    expect(deadReports, `paused ${pauses.join(', ')} ms`).to.deep.equal([])
    // every other daemon answered throughout and saw it only alive or suspect
    for (const o of others) {
      expect([...seen.get(o.peerId) ?? []].every(s => s === 'alive' || s === 'suspect'), `peer-${o.index} saw ${[...seen.get(o.peerId) ?? []].join(', ')}`).to.equal(true)
      expect(seen.get(o.peerId)?.size ?? 0, `peer-${o.index} reported the paused peer`).to.be.greaterThan(0)
    }
    await untilEvery(others, victim, 'alive', v => v.state === 'alive')
  })

  it('6 daemons: a daemon paused far beyond the longest suspicion is declared dead, then refutes and is alive again with a higher incarnation', async () => {
    const peers = await startNet(cleanup, 6)
    const victim = at(peers, 2)
    const others = peers.filter(p => p !== victim)
    const before = Math.max(...(await untilEvery(others, victim, 'alive', v => v.state === 'alive')).map(v => v.incarnation))

    const frozenAt = Date.now()
    freeze(cleanup, victim.pid)
    await untilEvery(others, victim, 'dead', v => v.state === 'dead')
    // stay frozen past the longest suspicion (a lone accuser's) with a margin
    await sleep(Math.max(0, frozenAt + suspicion(peers.length).max + 1 * second - Date.now()))
    signal(victim.pid, 'SIGCONT')

    await untilEvery(others, victim, `alive above incarnation ${before}`, v => v.state === 'alive' && v.incarnation > before)
    // and the victim, back, sees every other daemon alive
    for (const o of others) await untilEvery([victim], o, 'alive (from the resumed daemon)', v => v.state === 'alive')
  })
})
