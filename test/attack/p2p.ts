/**
 * The libp2p attacks of `npm run attack` (issue #19 item 5): each a real hostile libp2p peer (its
 * own identity, a plain libp2p node of test/bench/nodes.ts) speaking p2pstore's kv protocol at a
 * daemon of the attack net, as the short specs of `npm test` do in-process (test/standing/attack,
 * test/quota/flood, test/channel/write-guard, test/protocol/yamux-limits,
 * test/connections/address-caps).
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { byteStream, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL_KV } from '../../src/constants.ts'
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts'
import { createFloorNode } from '../bench/nodes.ts'
import { GARBAGE, sendFrame } from '../utils/hostile.ts'
import { enc, written } from '../utils/replication.ts'
import { attack, metric } from './attack.ts'
import { request } from './http-client.ts'
import type { Attack, AttackTarget } from './attack.ts'
import type { KvResponse } from '../../src/protocol/index.ts'
import type { FloorServices } from '../bench/nodes.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

/** The target's kv quota in the attack net (its config.json): small, so that a flood is ≥ 10× it. */
export const ATTACK_KV_RATE = 250
export const ATTACK_KV_BURST = 25
/** what `targetConfig()` gives the target daemon */
export function targetConfig (): Record<string, unknown> {
  return { kvPeerRequestRate: ATTACK_KV_RATE, kvPeerRequestBurst: ATTACK_KV_BURST, kvGlobalRequestRate: 20 * ATTACK_KV_RATE }
}

const addrs = (t: AttackTarget): ReturnType<typeof multiaddr>[] => t.peer.multiaddrs.map(a => multiaddr(a))
const opts = (ms: number): { signal: AbortSignal, maxOutboundStreams: number } => ({ signal: AbortSignal.timeout(ms), maxOutboundStreams: 100_000 })

async function stopAll (nodes: Array<Libp2p<FloorServices>>): Promise<void> {
  await Promise.all(nodes.map(async n => { await Promise.resolve(n.stop()).catch(() => {}) }))
}

/** the hostile identities of connection-flood (made in `prepare`, in the hostile process) */
let floodNodes: Array<Libp2p<FloorServices>> = []

export const P2P_ATTACKS: Attack[] = [
  attack({
    name: 'malformed-frames',
    what: 'one hostile identity sends malformed kv frames as fast as it can (a stream each), redialling when hung up, up to 10⁶ attempts',
    run: async (t, signal) => {
      const malformed = { through: 0, attempts: 0, bannedBefore: await metric(t, 'p2pstore_peers_banned') }
      const hostile = await createFloorNode()
      try {
        let banned = false
        let refusal: string | undefined
        while (!signal.aborted && malformed.attempts < 1_000_000) {
          malformed.attempts++
          let stream: Stream
          try {
            // redials if the target hung up; a banned identity is refused here
            stream = await hostile.dialProtocol(addrs(t), PROTOCOL_KV, opts(10_000))
          } catch (err) {
            banned = true
            refusal ??= (err as Error).message
            // a refused dial fails without I/O: let the stop message in
            await new Promise(resolve => setImmediate(resolve))
            continue
          }
          // a stream negotiated after the ban would count here as getting through
          malformed.through++
          const bytes = byteStream(stream)
          await bytes.write(GARBAGE).catch(() => {})
          await bytes.read({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
        }
        return { note: `${malformed.through} frames got through of ${malformed.attempts} attempts${banned ? `; then refused (${refusal ?? ''})` : ''}`, facts: malformed }
      } finally {
        await hostile.stop()
      }
    },
    check: async (t, malformed) => {
      const banned = await metric(t, 'p2pstore_peers_banned')
      if (banned <= malformed.bannedBefore) return 'the hostile peer was not banned'
      if (malformed.through > 100) return `${malformed.through} malformed frames taken (ban after ≤ 100)`
      return undefined
    }
  }),
  attack({
    name: 'kv-quota-flood',
    what: `valid kv stores at 10× the target's quota (${ATTACK_KV_RATE}/s, burst ${ATTACK_KV_BURST}) from one hostile peer`,
    run: async (t, signal) => {
      const hostile = await createFloorNode()
      const quota = { ok: 0, offered: 0, seconds: 0 }
      try {
        const stream = await hostile.dialProtocol(addrs(t), PROTOCOL_KV, opts(10_000))
        const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
        const started = performance.now()
        let last = started
        const value = 'v'.repeat(100)
        // 10.5× the rate, topped up every tenth of a second
        const offer = (async () => {
          while (!signal.aborted) {
            const due = 10.5 * ATTACK_KV_RATE * (performance.now() - started) / 1000 + ATTACK_KV_RATE
            while (quota.offered < due) {
              quota.offered++
              sendFrame(stream, encodeRequest(BigInt(quota.offered), { type: 'store', key: enc.encode(`quota-${quota.offered}`), state: written(value) }))
            }
            await sleep(100)
          }
        })()
        const offeredAt = performance.now()
        // answers until the attack ends (those still queued then are not counted)
        const answers = (async () => {
          while (!signal.aborted) {
            const frame = await lp.read({ signal }).catch(() => undefined)
            if (frame == null) break
            const { response } = decodeResponse(frame.subarray()) as { response: KvResponse }
            if (response.status === 'ok') quota.ok++
            last = performance.now()
          }
        })()
        await offer
        await answers
        quota.seconds = (last - started) / 1000
        stream.abort(new Error('attack over'))
        return { note: `${quota.offered} offered (${(quota.offered / ((offeredAt - started) / 1000 + quota.seconds)).toFixed(0)}/s), ${quota.ok} accepted in ${quota.seconds.toFixed(1)} s: ${(quota.ok / quota.seconds).toFixed(0)}/s`, facts: quota }
      } finally {
        await hostile.stop()
      }
    },
    check: async (_, quota) => {
      const allowed = 1.05 * (ATTACK_KV_BURST + ATTACK_KV_RATE * quota.seconds)
      if (quota.ok > allowed) return `accepted ${quota.ok} > quota + 5 % (${allowed.toFixed(0)})`
      if (quota.offered < 10 * ATTACK_KV_RATE * quota.seconds * 0.9) return `offered only ${quota.offered} (not 10× the quota)`
      if (quota.ok === 0) return 'nothing accepted'
      return undefined
    }
  }),
  attack({
    name: 'slow-reader',
    what: '4 hostile peers each ask for a 512 KiB value 100 times on a stream they never read, again and again',
    run: async (t, signal) => {
      const slow = { resets: 0, rounds: 0, slowest: 0, unreset: 0 }
      const put = await request(`${t.peer.api}/v1/kv/slow-reader-big`, { method: 'PUT', token: t.token, body: new Uint8Array(512 * 1024).fill(7) })
      if (put.status >= 300) throw new Error(`PUT of the big value answered ${put.status}`)
      const key = enc.encode('slow-reader-big')
      const nodes = await Promise.all(Array.from({ length: 4 }, async () => createFloorNode()))
      try {
        await Promise.all(nodes.map(async hostile => {
          while (!signal.aborted) {
            const stream = await hostile.dialProtocol(addrs(t), PROTOCOL_KV, opts(10_000)).catch(() => undefined)
            if (stream == null) {
              await sleep(1_000)
              continue
            }
            slow.rounds++
            stream.pause()
            for (let i = 1; i <= 100; i++) sendFrame(stream, encodeRequest(BigInt(i), { type: 'read', key }))
            const start = performance.now()
            // reset by the target within 30 s (slowReaderTimeout, 10 s by default), whatever the attack's length
            const until = start + 30_000
            while (stream.status === 'open' && performance.now() < until) await sleep(100)
            if (stream.status === 'open') {
              slow.unreset++
              stream.abort(new Error('not reset'))
            } else {
              slow.resets++
              slow.slowest = Math.max(slow.slowest, performance.now() - start)
            }
          }
        }))
        return { note: `${slow.resets} of ${slow.rounds} streams reset by the target, the slowest after ${(slow.slowest / 1000).toFixed(1)} s`, facts: slow }
      } finally {
        await stopAll(nodes)
      }
    },
    check: async (_, slow) => {
      if (slow.unreset > 0) return `${slow.unreset} never-read streams not reset within 30 s`
      if (slow.resets === 0) return 'no stream reset'
      return undefined
    }
  }),
  attack({
    name: 'stream-flood',
    what: '8 hostile peers each open kv streams on their connection as fast as they can and hold them (kv\'s cap is KV_STREAMS_PER_CONNECTION, 8, per connection; yamux\'s 256)',
    run: async (t, signal) => {
      const nodes = await Promise.all(Array.from({ length: 8 }, async () => createFloorNode()))
      let refused = 0
      let opened = 0
      let mostStreams = 0
      const sampler = setInterval(() => {
        for (const n of nodes) for (const c of n.getConnections()) mostStreams = Math.max(mostStreams, c.streams.filter(x => x.status === 'open').length)
      }, 250)
      try {
        const held = await Promise.all(nodes.map(async hostile => {
          const streams: Stream[] = []
          while (!signal.aborted) {
            const s = await hostile.dialProtocol(addrs(t), PROTOCOL_KV, opts(10_000)).catch(() => undefined)
            if (s == null) refused++
            else {
              opened++
              streams.push(s)
            }
            // drop the ones the target reset
            if (streams.length % 64 === 0) streams.splice(0, streams.length, ...streams.filter(x => x.status === 'open'))
          }
          return streams.filter(x => x.status === 'open').length
        }))
        return { note: `${opened} opened, ${refused} refused; streams open on one connection: at most ${mostStreams}, at the end ${Math.max(...held)}`, facts: {} }
      } finally {
        clearInterval(sampler)
        await stopAll(nodes)
      }
    }
  }),
  attack({
    name: 'connection-flood',
    what: '200 hostile identities dial the target at once, then redial in a loop (its connection budget is 64)',
    prepare: async () => {
      floodNodes = await Promise.all(Array.from({ length: 200 }, async () => createFloorNode()))
    },
    run: async (t, signal) => {
      const target = peerIdFromString(t.peer.peerId)
      let mostConnections = 0
      let mostHeld = 0
      let dials = 0
      let failed = 0
      const sampler = (async () => {
        while (!signal.aborted) {
          mostConnections = Math.max(mostConnections, await metric(t, 'p2pstore_connections_open'))
          mostHeld = Math.max(mostHeld, floodNodes.filter(n => n.getConnections(target).some(c => c.status === 'open')).length)
          await sleep(500)
        }
      })()
      try {
        await Promise.all(floodNodes.map(async hostile => {
          while (!signal.aborted) {
            dials++
            try {
              await hostile.dial(addrs(t), { signal: AbortSignal.timeout(10_000) })
              await hostile.services.ping.ping(target, { signal: AbortSignal.timeout(10_000) })
            } catch {
              failed++
            }
            await sleep(200)
            await hostile.hangUp(target).catch(() => {})
          }
        }))
        await sampler
        return { note: `${dials} dials, ${failed} refused or cut; the target's connections open: at most ${mostConnections}; hostile identities connected at once: at most ${mostHeld}`, facts: { mostConnections } }
      } finally {
        await stopAll(floodNodes)
        floodNodes = []
      }
    },
    check: async (t, { mostConnections }) => {
      // the budget is the daemon's maxConnections; it may trim a moment after an inbound one lands
      if (mostConnections > 64 + 8) return `${mostConnections} connections open (budget 64)`
      // the hostile peers' connections close as they stop
      let after = Infinity
      for (let i = 0; i < 20 && after > 8; i++) {
        await sleep(500)
        after = await metric(t, 'p2pstore_connections_open')
      }
      if (after > 8) return `${after} connections still open 10 s after the attack`
      return undefined
    }
  })
]
