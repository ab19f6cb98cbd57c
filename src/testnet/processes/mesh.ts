/**
 * Waiting until the daemons of a process test net form a full mesh: every one sees every other
 * as an alive member, polled through their APIs.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { AbortError } from '@libp2p/interface'
import { TestnetError } from '../../errors.ts'
import { pollUntil } from '../../util/index.ts'
import { aliveCount, alivePeerIds } from './api.ts'
import { abortReason, throwIfAborted } from './daemon.ts'
import type { DaemonApi } from './api.ts'
import type { ProcessTestnetPeer } from './state-file.ts'

/** What `waitForMesh()` needs. */
export interface MeshWaitInit {
  /** the daemons that must see each other */
  peers: ProcessTestnetPeer[]
  /** a daemon's API and token */
  api(index: number): Promise<DaemonApi>
  /** give up after this many ms, with a `TestnetError` that points at `dir`'s logs */
  timeout: number
  dir: string
  /** called whenever the count of settled daemons changes */
  onSettled?(settled: number, total: number): void
  signal?: AbortSignal
}

/**
 * Resolves once every daemon of `init.peers` sees every other as alive; rejects with a
 * `TestnetError` after the timeout and an `AbortError` when the signal fires.
 */
export async function waitForMesh (init: MeshWaitInit): Promise<void> {
  const { peers, signal } = init
  const total = peers.length
  const ids = peers.map(p => p.peerId)
  // every daemon answers a status line per poll: keep that a small share of a big net's work (100
  // daemons polled every second were 100 HTTP answers a second on a machine already saturated)
  const interval = Math.max(200, 25 * total)
  const deadline = Date.now() + init.timeout
  // the join phase begins with nobody counted, and lasts at least one interval: a caller told
  // "joining" can still abandon the start-up before the net is declared ready (a 3-peer net
  // formed while it started was otherwise ready within the same poll)
  let lastSettled = 0
  init.onSettled?.(0, total)
  await sleep(interval, undefined, { signal }).catch(() => {})
  await pollUntil(async () => {
    throwIfAborted(signal)
    const settled = (await Promise.all(peers.map(async p => {
      const api = await init.api(p.index)
      // the status line's count first: cheap for the daemon; the member list only once it adds up
      if (((await aliveCount(api, signal)) ?? total) < total - 1) return false
      const known = await alivePeerIds(api, signal)
      return ids.every(id => id === p.peerId || known.has(id))
    }))).filter(Boolean).length
    throwIfAborted(signal)
    if (settled !== lastSettled) {
      lastSettled = settled
      init.onSettled?.(settled, total)
    }
    if (settled !== total && Date.now() > deadline) {
      throw new TestnetError(`only ${settled} of ${total} peers know every other peer as alive after ${init.timeout / 1000} s; see the daemon.log files in ${init.dir}`)
    }
    return settled === total
  }, {
    interval,
    signal,
    // the check above throws first: a fired signal fails it on the next round
    error: () => new AbortError(`stopped (${signal == null ? 'stop requested' : abortReason(signal)})`)
  })
}
