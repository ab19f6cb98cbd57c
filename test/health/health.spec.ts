import { createApiServer } from '../../src/api/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { HealthReport } from '../../src/health/index.ts'
import type { Peer } from '../../src/peer.ts'

const enc = new TextEncoder()
const KEYS = Array.from({ length: 60 }, (_, i) => `safety-${i}`)

const within = async (fn: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> => { await eventually(async () => fn(), what, ms, 100) }

async function deadEverywhere (observers: Peer[], subject: Peer): Promise<boolean> {
  for (const o of observers) {
    const seen = (await o.peers()).find(p => p.peerId === subject.peerId.toString())
    if (seen?.state !== 'dead') return false
  }
  return true
}

/** One unlabelled series of a peer's /metrics (its registry, as the route serves it). */
async function gauge (peer: Peer, name: string): Promise<number> {
  const text = await peer.metrics.registry.metrics()
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  if (line == null) throw new Error(`${name} is not in /metrics`)
  return Number(line.slice(name.length + 1))
}

const sum = (peers: Peer[], pick: (r: HealthReport) => number): number => peers.reduce((n, p) => n + pick(p.health.report()), 0)

describe('health: replication safety over a real 4-peer test net', function () {
  this.timeout(240_000)
  const cleanup = useCleanup()

  it('a killed peer makes under-replicated rise on the survivors, and it returns to 0 after re-replication', async () => {
    const net = await createTestnet(4, { open: true, onTeardown: fn => { cleanup.add(fn) } })
    for (const key of KEYS) await net.peers[0]?.put(key, enc.encode(`v-${key}`))
    const peers = net.peers

    // healthy: each key is counted once, by its first live home replica, with N confirmed copies
    // (a put is answered after W = 2 copies: the third lands a moment later, and until it reaches
    // a key's first home replica nobody counts the key as primary)
    await within(() => peers.every(p => p.health.report().verdict === 'healthy') && sum(peers, r => r.keys.primary) === KEYS.length, 'every peer healthy, every key counted once')
    expect(sum(peers, r => r.keys.primary)).to.equal(KEYS.length)
    expect(sum(peers, r => r.keys.underReplicated)).to.equal(0)
    for (const p of peers) {
      const r = p.health.report()
      expect(r.members).to.deep.equal({ alive: 4, suspect: 0, dead: 0, left: 0, total: 4 })
      expect(r.reasons).to.deep.equal([])
      expect(r.rereplication).to.equal(null)
    }

    // views agree: each peer's digest, announced in its alive updates, equals everyone else's
    // (a loaded machine makes members flap suspect ↔ alive, which changes views: hence the long wait)
    await within(() => peers.every(p => p.health.report().view.agreeing === 3) && new Set(peers.map(p => p.health.report().view.digest)).size === 1, 'every peer sees 3 others share its view', 180_000)

    const victim = peers[3] as Peer
    const survivors = peers.slice(0, 3)
    const seen = new Map<string, number>()
    const scraped: number[] = []
    const repaired: Array<{ peerId: string, keys: number }> = []
    const detected: string[] = []
    for (const s of survivors) {
      s.health.addEventListener('health:change', evt => {
        const id = s.peerId.toString()
        seen.set(id, Math.max(seen.get(id) ?? 0, evt.detail.keys.underReplicated))
        // what Prometheus would scrape at that moment
        void gauge(s, 'p2pstore_keys_underreplicated').then(v => { scraped.push(v) }, () => {})
      })
      s.health.addEventListener('health:rereplication', evt => { repaired.push(evt.detail) })
      s.health.addEventListener('health:detection', evt => { detected.push(evt.detail.peerId) })
    }
    await victim.stop({ leave: false })
    await within(async () => deadEverywhere(survivors, victim), 'the victim dead on every survivor')

    // while it was suspect, then dead and not yet re-replicated, its keys lacked a copy
    expect([...seen.values()].some(n => n > 0), 'under-replicated rose on some survivor').to.equal(true)
    await within(() => survivors.every(p => p.health.report().keys.underReplicated === 0), 'under-replicated back to 0 everywhere')
    await within(() => survivors.every(p => p.health.report().verdict === 'healthy'), 'healthy again')
    // /metrics follows: the gauge rose on some survivor and is back to 0 on all; both lags were observed
    expect(scraped.some(v => v > 0), `p2pstore_keys_underreplicated scraped during the repair: ${scraped.join(', ')}`).to.equal(true)
    await within(async () => (await Promise.all(survivors.map(async p => gauge(p, 'p2pstore_keys_underreplicated')))).every(v => v === 0), 'the gauge back to 0 on every survivor')
    for (const p of survivors) expect(await gauge(p, 'p2pstore_failure_detection_seconds_count'), 'failure detection observed').to.be.at.least(1)
    expect((await Promise.all(survivors.map(async p => gauge(p, 'p2pstore_rereplication_lag_seconds_count')))).some(v => v > 0), 're-replication lag observed').to.equal(true)
    expect(sum(survivors, r => r.keys.primary)).to.equal(KEYS.length)
    expect(detected.filter(id => id === victim.peerId.toString())).to.have.length(3)
    // the survivors that answer for the victim's keys timed their repair
    expect(repaired.filter(r => r.peerId === victim.peerId.toString() && r.keys > 0)).to.not.have.length(0)
    for (const s of survivors) {
      const r = s.health.report()
      expect(r.members.dead).to.equal(1)
      // the repaired death is a note, cause first, and no longer a reason
      expect(r.notes.map(n => n.cause).join('; ')).to.match(/dead/)
    }
  })

  it('?require=write answers 503 while keys have fewer than W live home replicas, ?require=read 200 while R are left', async () => {
    const net = await createTestnet(4, { open: true, peer: { w: 3 }, onTeardown: fn => { cleanup.add(fn) } })
    for (const key of KEYS) await net.peers[0]?.put(key, enc.encode(`v-${key}`))
    const peers = net.peers
    const apps = peers.map(peer => createApiServer({ peer }))
    cleanup.add(async () => { await Promise.all(apps.map(async a => { await a.close() })) })
    await within(() => peers.every(p => p.health.report().verdict === 'healthy'), 'every peer healthy')
    for (const app of apps) {
      expect((await app.inject({ url: '/v1/health?require=write' })).statusCode).to.equal(200)
      expect((await app.inject({ url: '/v1/health?require=read' })).statusCode).to.equal(200)
    }
    expect((await apps[0]?.inject({ url: '/v1/health?require=sometimes' }))?.statusCode).to.equal(400)

    // two of four gone: every key's home replicas are the two survivors, below W = 3, at R = 2
    const survivors = peers.slice(0, 2)
    for (const victim of peers.slice(2)) {
      await victim.stop({ leave: false })
    }
    for (const victim of peers.slice(2)) await within(async () => deadEverywhere(survivors, victim), 'both victims dead on both survivors')
    await within(() => sum(survivors, r => r.keys.writeUnavailable) === KEYS.length, 'every key write-unavailable')
    for (const [i] of survivors.entries()) {
      const app = apps[i]
      const write = await app?.inject({ url: '/v1/health?require=write' })
      const body = write?.json() as HealthReport
      expect(write?.statusCode).to.equal(503)
      expect(body.verdict).to.equal('at-risk')
      expect(body.keys.readUnavailable).to.equal(0)
      expect(body.reasons[0]?.effect).to.match(/writes cannot reach quorum/)
      expect((await app?.inject({ url: '/v1/health?require=read' }))?.statusCode).to.equal(200)
      expect((await app?.inject({ url: '/v1/health' }))?.statusCode).to.equal(200)
    }
  })
})
