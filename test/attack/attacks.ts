/**
 * The attacks of `npm run attack`, in order: forged membership and the HTTP API's here, the kv
 * protocol's and the connection floods in ./p2p.ts. Another attack is one more entry of
 * `ATTACKS` (see `Attack` in ./attack.ts).
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createHostilePeer } from '../utils/hostile.ts'
import { peerIds } from '../utils/replication.ts'
import { attack, honestView, members } from './attack.ts'
import { connectRaw, request, slowBody } from './http-client.ts'
import { P2P_ATTACKS } from './p2p.ts'
import type { Attack } from './attack.ts'
import type { RawConnection } from './http-client.ts'
import type { MemberUpdate } from '../../src/protocol/index.ts'

const MiB = 1024 * 1024

/** the forged member ids of forged-membership (made in `prepare`, in the hostile process) */
let forged: Awaited<ReturnType<typeof peerIds>> = []

const statuses = (counts: Map<number, number>): string => [...counts.entries()].map(([s, n]) => `${n}×${s}`).join(' ')

/** The attacks, in order. Add entries here (see `Attack`). */
export const ATTACKS: Attack[] = [
  attack({
    name: 'forged-membership',
    what: 'a hostile libp2p peer says members are dead or left, sends absurd incarnations and 20 000 forged member ids',
    prepare: async () => { forged = await peerIds(20_000) },
    run: async (t, signal) => {
      const before = await honestView(t)
      // a real peer, so a member of an open network
      const hostile = await createHostilePeer()
      try {
        await hostile.dial(t.peer.multiaddrs.map(a => multiaddr(a)))
        const target = peerIdFromString(t.peer.peerId)
        const others = t.others.map(o => peerIdFromString(o.peerId))
        const nowhere = multiaddr('/ip4/127.0.0.1/tcp/1')
        const claim = (peerId: MemberUpdate['peerId'], state: MemberUpdate['state'], incarnation: number, addrs = [nowhere]): MemberUpdate => ({ peerId, state, incarnation, addrs })
        let sent = 0
        let i = 0
        while (!signal.aborted) {
          const now = Date.now()
          // it announces itself each round (refuting the suspicion its silence earns): a member's news is weighed, a stranger's dropped
          await hostile.membership(target, { type: 'ping', updates: [claim(hostile.peerId, 'alive', now, hostile.node.getMultiaddrs())] }, 5_000)
          const claims = others.flatMap(o => [claim(o, 'dead', now), claim(o, 'left', now + 1, []), claim(o, 'suspect', Number.MAX_SAFE_INTEGER, [])])
          await hostile.membership(target, { type: 'gossip', updates: claims }, 5_000)
          const reply = await hostile.membership(target, { type: 'gossip', updates: forged.slice(i, i + 200).map(p => claim(p, 'alive', now)) }, 5_000)
          i = (i + 200) % forged.length
          sent += claims.length + 200
          // refused or banned: its failed dials settle in microtasks, and would starve the stop message
          if (reply == null) await sleep(100)
        }
        return { note: `${sent} forged updates`, facts: { before, hostileId: hostile.peerId.toString() } }
      } finally {
        await hostile.stop()
      }
    },
    check: async (t, { before, hostileId }) => {
      // claims still being checked settle within a probe round or two
      await sleep(3_000)
      const after = await honestView(t)
      const all = await members(t.peer, t.token)
      const forged = all.filter(m => m.peerId !== t.peer.peerId && m.peerId !== hostileId && !t.others.some(o => o.peerId === m.peerId))
      if (forged.length > 0) return `${forged.length} forged members in the target's table`
      if (after !== before) return `honest members changed: ${before} → ${after}`
      return undefined
    }
  }),
  attack({
    name: 'http-bad-token-flood',
    what: '16 clients of one address sending requests with bad or no tokens',
    run: async (t, signal) => {
      const counts = new Map<number, number>()
      await Promise.all(Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; !signal.aborted; i++) {
          const res = await request(`${t.peer.api}/v1/kv/flood-${c}-${i}`, { method: 'PUT', token: i % 2 === 0 ? `p2ps_bad_${c}_${i}` : undefined, body: 'x', localAddress: t.attacker }).catch(() => ({ status: 0 }))
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
        }
      }))
      return { note: statuses(counts), facts: {} }
    },
    check: async t => {
      const stored = await request(`${t.peer.api}/v1/kv/flood-0-0`, { token: t.token })
      return stored.status === 404 ? undefined : `a flood write answered ${stored.status}`
    }
  }),
  attack({
    name: 'http-oversized-body',
    what: '4 clients sending 8 MiB bodies (the limit is 1 MiB)',
    run: async (t, signal) => {
      const body = new Uint8Array(8 * MiB)
      const counts = new Map<number, number>()
      await Promise.all(Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; !signal.aborted; i++) {
          const res = await request(`${t.peer.api}/v1/kv/big-${c}-${i}`, { method: 'PUT', token: t.token, body, localAddress: t.attacker }).catch(() => ({ status: 0 }))
          counts.set(res.status, (counts.get(res.status) ?? 0) + 1)
        }
      }))
      return { note: statuses(counts), facts: {} }
    },
    check: async t => {
      const stored = await request(`${t.peer.api}/v1/kv/big-0-0`, { token: t.token })
      return stored.status === 404 ? undefined : `an oversized write answered ${stored.status}`
    }
  }),
  attack({
    name: 'http-slow-body',
    what: '200 connections each sending a PUT body one byte every 3 s',
    run: async (t, signal) => {
      const port = Number(new URL(t.peer.api).port)
      const slow: Array<Promise<{ status?: number, sent: number }>> = []
      for (let i = 0; i < 200 && !signal.aborted; i++) slow.push(slowBody(port, t.token, { length: 100_000, every: 3_000, key: `slow-${i}`, localAddress: t.attacker }))
      await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
      // the server cuts them at apiRequestTimeout (30 s): wait for that
      const results = await Promise.all(slow)
      const cut = results.filter(r => r.status === 408).length
      return { note: `${cut} of ${results.length} cut with a 408 (most bytes sent by one: ${Math.max(...results.map(r => r.sent))})`, facts: {} }
    }
  }),
  attack({
    name: 'http-connection-flood',
    what: '400 idle connections from one address (the cap is 256 per address)',
    run: async (t, signal) => {
      const port = Number(new URL(t.peer.api).port)
      const conns: RawConnection[] = []
      try {
        for (let i = 0; i < 400 && !signal.aborted; i++) {
          const c = await connectRaw(port, t.attacker).catch(() => undefined)
          if (c != null) conns.push(c)
        }
        await sleep(1_000)
        const held = conns.filter(c => c.isOpen).length
        await new Promise(resolve => signal.addEventListener('abort', resolve, { once: true }))
        return { note: `${held} of ${conns.length} held by the server`, facts: {} }
      } finally {
        for (const c of conns) c.socket.destroy()
      }
    }
  }),
  // malformed frames, the kv quota flood, slow readers, stream and connection floods (./p2p.ts)
  ...P2P_ATTACKS
]
