import { createApiServer } from '../../src/api/index.ts'
import { PeerMetrics } from '../../src/metrics/index.ts'
import { createTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { parseExposition, valueOf } from './exposition.ts'
import type { Family } from './exposition.ts'
import type { Peer } from '../../src/peer.ts'
import type { Testnet } from '../../src/testnet/index.ts'

const enc = new TextEncoder()

/** Histograms that count things rather than measure time or bytes: their unit is their last word. */
const COUNT_UNITS = ['acks', 'siblings', 'entries']
/** Label names p2pstore's families may use: each has a small, fixed set of values. */
const BOUNDED_LABELS = new Set(['op', 'outcome', 'type', 'protocol', 'direction', 'reason', 'result', 'state', 'from', 'to', 'stat', 'version', 'node', 'le'])

/** Every way `family` breaks the naming rules (README, "Metrics and alerts"). */
function namingProblems (family: Family, userKeys: string[]): string[] {
  const problems: string[] = []
  const { name, type } = family
  if (family.help == null || family.help === '') problems.push(`${name}: no HELP`)
  if (type == null) problems.push(`${name}: no TYPE`)
  if (!name.startsWith('p2pstore_')) return problems
  if (!/^p2pstore_[a-z][a-z0-9_]*[a-z0-9]$/.test(name)) problems.push(`${name}: not snake_case`)
  if (type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: a counter not ending in _total`)
  if (type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: a ${type ?? '?'} ending in _total`)
  if (type === 'histogram' && !/_(seconds|bytes)$/.test(name) && !COUNT_UNITS.some(u => name.endsWith(`_${u}`))) problems.push(`${name}: a histogram without a unit (_seconds, _bytes)`)
  if (/(_ms|_millis|milliseconds|_kb|_mb|_kib|_mib|_minutes|_hours)(_|$)/.test(name)) problems.push(`${name}: not in base units`)
  for (const sample of family.samples) {
    for (const [label, value] of Object.entries(sample.labels)) {
      if (!BOUNDED_LABELS.has(label)) problems.push(`${name}: label ${label} is not one of the bounded labels`)
      if (userKeys.some(key => value.includes(key))) problems.push(`${name}: label ${label}="${value}" holds a user key`)
    }
  }
  return problems
}

describe('metrics: one registry per peer, GET /metrics', function () {
  this.timeout(180_000)
  const cleanup = useCleanup()
  const testnet = async (n: number): Promise<Testnet> => createTestnet(n, { onTeardown: fn => { cleanup.add(fn) } })
  const scrape = async (peer: Peer): Promise<Map<string, Family>> => parseExposition(await peer.metrics.registry.metrics())

  it('gives every peer in one process its own series: requests on one peer move only its counters, libp2p\'s included', async () => {
    const net = await testnet(3)
    const [a, b, c] = net.peers
    if (a == null || b == null || c == null) throw new Error('no peers')
    expect(a.metrics.registry).to.not.equal(b.metrics.registry)
    for (let i = 0; i < 3; i++) await a.put(`shared-${i}`, enc.encode(`v${i}`))
    await b.get('shared-0')

    const [ma, mb, mc] = await Promise.all([scrape(a), scrape(b), scrape(c)])
    expect(valueOf(ma, 'p2pstore_requests_total', { op: 'put', outcome: 'ok' })).to.equal(3)
    expect(valueOf(mb, 'p2pstore_requests_total', { op: 'put', outcome: 'ok' })).to.equal(0)
    expect(valueOf(mb, 'p2pstore_requests_total', { op: 'get', outcome: 'ok' })).to.equal(1)
    expect(valueOf(mc, 'p2pstore_requests_total', { op: 'get', outcome: 'ok' })).to.equal(0)
    expect(valueOf(ma, 'p2pstore_request_duration_seconds_count', { op: 'put' })).to.equal(3)
    expect(valueOf(mb, 'p2pstore_request_duration_seconds_count', { op: 'put' })).to.equal(0)
    // libp2p's own metrics: every peer has them, in its own registry
    for (const m of [ma, mb, mc]) {
      expect(m.get('libp2p_protocol_streams_opened_total')?.samples.length ?? 0).to.be.greaterThan(0)
      expect(m.has('libp2p_connection_manager_connections')).to.equal(true)
    }
    // a third registry in the same process does not see the others' series
    const fresh = new PeerMetrics()
    cleanup.add(() => { fresh.close() })
    const mf = parseExposition(await fresh.registry.metrics())
    expect(valueOf(mf, 'p2pstore_requests_total', { op: 'put', outcome: 'ok' })).to.equal(0)
    expect(valueOf(mf, 'p2pstore_members', { state: 'alive' })).to.equal(0)
    expect(['alive', 'suspect', 'dead', 'left'].reduce((sum, state) => sum + valueOf(ma, 'p2pstore_members', { state }), 0)).to.equal(2)
  })

  it('GET /metrics serves the text format that follows the naming rules, with no key as a label', async () => {
    const net = await testnet(3)
    const [a, b] = net.peers
    if (a == null || b == null) throw new Error('no peers')
    const userKeys = ['user/secret-key-7f3a', 'another-private-key-91bd']
    for (const key of userKeys) {
      await b.put(key, enc.encode('some value'))
      await a.get(key)
    }
    await a.get('never-written-key-5c2e').catch(() => {})
    await expect(a.put('', enc.encode('x'))).to.be.rejected

    const api = createApiServer({ peer: a })
    cleanup.add(async () => api.close())
    const res = await api.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).to.equal(200)
    expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/)
    const families = parseExposition(res.body)

    const problems = [...families.values()].flatMap(f => namingProblems(f, [...userKeys, 'never-written-key-5c2e']))
    expect(problems).to.deep.equal([])
    // the families the issue lists are there
    for (const name of [
      'p2pstore_requests_total', 'p2pstore_request_duration_seconds', 'p2pstore_requests_in_flight', 'p2pstore_requests_forwarded_total',
      'p2pstore_sloppy_writes_total', 'p2pstore_write_acks', 'p2pstore_object_size_bytes', 'p2pstore_read_siblings', 'p2pstore_clock_entries',
      'p2pstore_replica_requests_total', 'p2pstore_rpc_duration_seconds', 'p2pstore_rpc_errors_total', 'p2pstore_streams_opened_total',
      'p2pstore_peer_penalties_total', 'p2pstore_peers_banned',
      'p2pstore_read_repairs_total', 'p2pstore_hints_pending', 'p2pstore_hints_oldest_age_seconds', 'p2pstore_hints_stored_total',
      'p2pstore_hints_delivered_total', 'p2pstore_hints_failed_total', 'p2pstore_transfers_active', 'p2pstore_transfer_backlog',
      'p2pstore_transfer_keys_total', 'p2pstore_transfer_bytes_total', 'p2pstore_antientropy_rounds_total',
      'p2pstore_antientropy_last_success_timestamp_seconds', 'p2pstore_keys_underreplicated', 'p2pstore_keys_write_unavailable',
      'p2pstore_keys_read_unavailable', 'p2pstore_keys_single_copy', 'p2pstore_rereplication_lag_seconds', 'p2pstore_failure_detection_seconds',
      'p2pstore_members', 'p2pstore_member_transitions_total', 'p2pstore_refutations_total', 'p2pstore_probes_total', 'p2pstore_probe_duration_seconds',
      'p2pstore_local_health', 'p2pstore_gossip_messages_total', 'p2pstore_gossip_bytes_total', 'p2pstore_view_digest',
      'p2pstore_storage_duration_seconds', 'p2pstore_storage_keys', 'p2pstore_eventloop_lag_seconds', 'p2pstore_build_info'
    ]) expect(families.has(name), name).to.equal(true)
    // latency buckets go down to half a millisecond
    const buckets = families.get('p2pstore_request_duration_seconds')?.samples.filter(s => s.name.endsWith('_bucket')).map(s => Number(s.labels.le)).filter(Number.isFinite) ?? []
    expect(Math.min(...buckets)).to.equal(0.0005)
    expect(valueOf(families, 'p2pstore_requests_total', { op: 'get', outcome: 'not_found' })).to.equal(1)
    expect(valueOf(families, 'p2pstore_requests_total', { op: 'put', outcome: 'bad_request' })).to.equal(1)
  })

  it('a view digest that agrees across peers once they see the same members', async () => {
    const net = await testnet(3)
    const digests = async (): Promise<number[]> => Promise.all(net.peers.map(async p => valueOf(await scrape(p), 'p2pstore_view_digest')))
    // a member briefly suspect under load is still in the live view: the digests agree once all see all
    await eventually(async () => new Set(await digests()).size === 1, 'the view digests agree', 60_000, 200)
    expect((await digests())[0]).to.be.greaterThan(0)
    // one peer gone from the others' views: theirs change, and differ from the stopped one's last
    const [a, b, c] = net.peers
    if (a == null || b == null || c == null) throw new Error('no peers')
    const before = valueOf(await scrape(a), 'p2pstore_view_digest')
    await c.stop()
    await eventually(async () => valueOf(await scrape(a), 'p2pstore_view_digest') !== before, 'a\'s digest changes', 60_000, 200)
    await eventually(async () => valueOf(await scrape(a), 'p2pstore_view_digest') === valueOf(await scrape(b), 'p2pstore_view_digest'), 'a and b agree again', 60_000, 200)
  })

  it('counts read repairs (missing copy), sloppy writes, hints stored and delivered as they happen', async () => {
    // the cut-off replica must stay a member (suspect at worst, never dead) until it is healed: a
    // dead one leaves the home replicas, and its hint becomes a plain copy instead of a delivery
    const net = await createTestnet(4, { onTeardown: fn => { cleanup.add(fn) }, peer: { gossip: { suspicionMult: 200 } } })
    const key = 'repaired-and-hinted'
    const first = net.peers[0]
    if (first == null) throw new Error('no peers')
    const byId = (id: { toString(): string }): Peer | undefined => net.peers.find(p => p.peerId.toString() === id.toString())
    const home = first.placement.fromView(enc.encode(key), 3).map(p => byId(p.peerId))
    const [a, b, c] = home
    const d = net.peers.find(p => !home.includes(p))
    if (a == null || b == null || c == null || d == null) throw new Error('no replicas')

    // read repair: a replica loses its copy, a read through another one sends it back
    await a.put(key, enc.encode('v1'))
    await eventually(async () => (await c.localState(key)) != null, 'c holds the key', 30_000)
    await c.engine.update(enc.encode(key), () => null)
    await a.get(key, { r: 3 }).catch(() => {})
    await eventually(async () => valueOf(await scrape(a), 'p2pstore_read_repairs_total', { reason: 'missing' }) >= 1, 'a read repair counted', 30_000)
    await eventually(async () => (await c.localState(key)) != null, 'c repaired', 30_000)

    // sloppy quorum: c cannot be reached, so its copy goes to d as a hint
    const others = net.peers.filter(p => p !== c)
    await c.partition(others.map(p => p.peerId))
    await Promise.all(others.map(async p => { await p.partition([c.peerId]) }))
    await a.put(key, enc.encode('v2'), { context: (await a.get(key)).context })
    await eventually(async () => valueOf(await scrape(a), 'p2pstore_sloppy_writes_total') >= 1, 'a sloppy write counted', 30_000)
    const holder = await (async () => {
      for (const p of [b, d]) if (valueOf(await scrape(p), 'p2pstore_hints_stored_total') >= 1) return p
      return undefined
    })()
    expect(holder, 'a peer took the hint').to.not.equal(undefined)
    if (holder == null) return
    expect(valueOf(await scrape(holder), 'p2pstore_hints_pending')).to.equal(1)

    // healed: the hint is handed off to c
    c.heal()
    for (const p of others) p.heal()
    await eventually(async () => {
      await holder.runHandoff().catch(() => undefined)
      return valueOf(await scrape(holder), 'p2pstore_hints_delivered_total') >= 1
    }, 'the hint delivered', 60_000, 500)
    const after = await scrape(holder)
    expect(valueOf(after, 'p2pstore_hints_pending')).to.equal(0)
    expect(valueOf(after, 'p2pstore_replica_requests_total', { type: 'store', outcome: 'ok' })).to.be.greaterThan(0)
  })

  it('counts ownership transfers when a joining peer takes over keys', async () => {
    const net = await testnet(3)
    const [a] = net.peers
    if (a == null) throw new Error('no peers')
    // 3 peers hold every key; with 5, a key's fifth place is beyond N + margin (1), and when that
    // is one of the first three (3 keys in 5) its holder hands its copy over and drops it
    for (let i = 0; i < 30; i++) await a.put(`moved-${i}`, enc.encode(`value ${i}`))
    const peers = [...net.peers, await net.startPeer(), await net.startPeer()]
    await eventually(async () => {
      let moved = 0
      for (const p of net.peers) {
        await p.runHandoff().catch(() => undefined)
        moved += valueOf(await scrape(p), 'p2pstore_transfer_keys_total')
      }
      return moved > 0
    }, 'a transfer counted', 120_000, 500)
    const bytes = (await Promise.all(peers.map(async p => valueOf(await scrape(p), 'p2pstore_transfer_bytes_total')))).reduce((x, y) => x + y, 0)
    expect(bytes).to.be.greaterThan(0)
  })

  it('reads the replication-safety gauges from the injected source, and 0 without one', async () => {
    const metrics = new PeerMetrics()
    cleanup.add(() => { metrics.close() })
    const read = async (): Promise<Map<string, Family>> => parseExposition(await metrics.registry.metrics())
    expect(valueOf(await read(), 'p2pstore_keys_underreplicated')).to.equal(0)
    metrics.setSafetySource({ safety: () => ({ underReplicated: 312, writeUnavailable: 1, readUnavailable: 2, singleCopy: 3 }) })
    metrics.safetyObserver.rereplicationLag(20)
    metrics.safetyObserver.failureDetection(4.5)
    const m = await read()
    expect(valueOf(m, 'p2pstore_keys_underreplicated')).to.equal(312)
    expect(valueOf(m, 'p2pstore_keys_write_unavailable')).to.equal(1)
    expect(valueOf(m, 'p2pstore_keys_read_unavailable')).to.equal(2)
    expect(valueOf(m, 'p2pstore_keys_single_copy')).to.equal(3)
    expect(valueOf(m, 'p2pstore_rereplication_lag_seconds_count')).to.equal(1)
    expect(valueOf(m, 'p2pstore_failure_detection_seconds_sum')).to.equal(4.5)
  })

  it('reports the process\'s memory under prom-client\'s default names, so heap retention can be told from RSS', async () => {
    const metrics = new PeerMetrics()
    cleanup.add(() => { metrics.close() })
    const m = parseExposition(await metrics.registry.metrics())
    const rss = valueOf(m, 'process_resident_memory_bytes')
    const heap = valueOf(m, 'nodejs_heap_size_used_bytes')
    expect(rss).to.be.greaterThan(0)
    expect(heap).to.be.greaterThan(0)
    expect(heap).to.be.at.most(valueOf(m, 'nodejs_heap_size_total_bytes'))
    expect(valueOf(m, 'nodejs_external_memory_bytes')).to.be.at.least(valueOf(m, 'nodejs_array_buffers_bytes'))
    // read at scrape time: a retained allocation shows in the next scrape
    // (a buffer outside the V8 heap: a garbage collection between scrapes cannot hide it)
    const buffers = valueOf(m, 'nodejs_array_buffers_bytes')
    const held = Buffer.alloc(64 * 1024 * 1024, 1)
    const after = parseExposition(await metrics.registry.metrics())
    expect(valueOf(after, 'nodejs_array_buffers_bytes')).to.be.at.least(buffers + held.byteLength / 2)
    expect(held[0]).to.equal(1)
  })
})
