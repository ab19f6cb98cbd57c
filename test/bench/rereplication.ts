/**
 * Time to restore N copies after a death: puts K keys on an in-process test net (test-net timing),
 * stops one peer without a word (a crash, as the others see it), and measures the time until every
 * key is held by N live peers again — the sum of failure detection, the anti-entropy sweep it
 * triggers, and the transfers. Progress on stderr, a summary on stdout.
 *
 *   node --import tsx test/bench/rereplication.ts [--peers 6] [--keys 10000] [--json FILE]
 */
import '../../src/polyfill.ts'
import fs from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createTestnet } from '../../src/testnet/index.ts'
import type { Peer } from '../../src/peer.ts'

const { values } = parseArgs({ options: { peers: { type: 'string', default: '6' }, keys: { type: 'string', default: '10000' }, json: { type: 'string' } } })
const peers = Number(values.peers)
const keys = Number(values.keys)
const enc = new TextEncoder()

// production probe timing: a loaded event loop shared by every peer must not make them suspect
// each other during the bulk load; the data plane runs at test-net speed
const net = await createTestnet(peers, { peer: { gossip: { pushPullInterval: 1000 } } })
try {
  const writer = net.peers[0] as Peer
  const loadStart = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < keys) {
      const i = next++
      // a client retries a write that failed (as any Dynamo client must)
      for (let attempt = 1; ; attempt++) {
        try {
          await writer.put(`key-${i}`, enc.encode(`value-${i}`))
          break
        } catch (err) {
          if (attempt === 5) throw err
        }
      }
      if (i % 1000 === 0) process.stderr.write(`loaded ${i}/${keys}\n`)
    }
  }))
  const loadMs = Date.now() - loadStart
  process.stderr.write(`loaded ${keys} keys in ${(loadMs / 1000).toFixed(1)} s (${Math.round(keys / (loadMs / 1000))} puts/s, 32 in flight)\n`)

  // let the third copies and read repairs land, then count under-replicated keys
  const live = (): Peer[] => net.peers.filter(p => p.isStarted)
  const dec = new TextDecoder()
  // one scan of each live store (cheap next to 10 000 × peers point reads on the shared event loop)
  const underReplicated = async (): Promise<number> => {
    const copies = new Map<string, number>()
    for (const p of live()) {
      for await (const { key } of p.engine.entries()) copies.set(dec.decode(key), (copies.get(dec.decode(key)) ?? 0) + 1)
    }
    let missing = 0
    for (let i = 0; i < keys; i++) if ((copies.get(`key-${i}`) ?? 0) < 3) missing++
    return missing
  }
  await sleep(3000)
  process.stderr.write(`before the kill: ${await underReplicated()} keys with fewer than 3 copies\n`)

  const victim = net.peers[peers - 1] as Peer
  const held = await victim.engine.count()
  const killedAt = Date.now()
  await victim.stop({ leave: false })
  process.stderr.write(`stopped ${victim.peerId} (held ${held} keys) without leaving\n`)
  let deadAt = 0
  for (;;) {
    if (deadAt === 0) {
      const views = await Promise.all(live().map(async p => (await p.peers()).find(m => m.peerId === victim.peerId.toString())?.state))
      if (views.every(s => s === 'dead')) deadAt = Date.now()
    }
    const missing = await underReplicated()
    process.stderr.write(`${((Date.now() - killedAt) / 1000).toFixed(1)} s: ${missing} keys with fewer than 3 copies${deadAt === 0 ? '' : ' (victim dead everywhere)'}\n`)
    if (missing === 0 && deadAt !== 0) break
    if (Date.now() - killedAt > 600_000) throw new Error('N copies not restored within 10 minutes')
    await sleep(1000)
  }
  const result = { peers, keys, loadMs, keysOnVictim: held, deadEverywhereMs: deadAt - killedAt, restoredMs: Date.now() - killedAt }
  console.log(`restore N=3 copies after a death: ${keys} keys on ${peers} peers, victim held ${held}: dead everywhere after ${(result.deadEverywhereMs / 1000).toFixed(1)} s, every key back to 3 copies after ${(result.restoredMs / 1000).toFixed(1)} s (counting takes up to ~1 s per poll)`)
  if (values.json != null) await fs.writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await net.teardown()
}
