/**
 * Membership figures of an in-process net over a window: SWIM messages and payload bytes per peer
 * per second (`Membership.traffic()`), and the `dead` and `suspect` transitions any peer saw —
 * false ones when nobody failed, as during the load phases (issue 5: 0 false deaths).
 *
 * @packageDocumentation
 */

import { performance } from 'node:perf_hooks'
import { round } from './stats.ts'
import type { MembershipTrafficBlock, MembershipUnderLoad } from './report.ts'
import type { MembershipTraffic } from '../../src/membership/index.ts'
import type { Peer } from '../../src/peer.ts'

/** Watches `peers` from construction until `stop()`. */
export class MembershipWatch {
  private readonly peers: Peer[]
  private readonly before: MembershipTraffic[]
  private readonly began = performance.now()
  private readonly detach: Array<() => void> = []
  private deaths = 0
  private suspicions = 0

  constructor (peers: Peer[]) {
    this.peers = peers
    this.before = peers.map(p => p.membership.traffic())
    for (const peer of peers) {
      const listener = (evt: CustomEvent<{ record: { state: string }, previous?: string }>): void => {
        const { record, previous } = evt.detail
        if (record.state === previous) return
        if (record.state === 'dead') this.deaths++
        if (record.state === 'suspect') this.suspicions++
      }
      peer.membership.addEventListener('member:update', listener)
      this.detach.push(() => { peer.membership.removeEventListener('member:update', listener) })
    }
  }

  /** Stops watching; `during` says what ran meanwhile. */
  stop (during: string): { traffic: MembershipTrafficBlock, underLoad: MembershipUnderLoad } {
    for (const fn of this.detach.splice(0)) fn()
    const seconds = (performance.now() - this.began) / 1000
    let messages = 0
    let bytes = 0
    this.peers.forEach((peer, i) => {
      const now = peer.membership.traffic()
      const then = this.before[i]
      if (then == null) return
      messages += now.messagesSent - then.messagesSent
      bytes += now.bytesSent - then.bytesSent
    })
    const n = this.peers.length
    return {
      // sent only: every message is sent by one peer and received by another
      traffic: { peers: n, seconds: round(seconds, 1), messagesPerPeerPerSec: round(messages / n / seconds, 2), bytesPerPeerPerSec: round(bytes / n / seconds, 1), during },
      underLoad: { peers: n, seconds: round(seconds, 1), falseDeaths: this.deaths, suspicions: this.suspicions, during }
    }
  }
}
