import { Registry } from 'prom-client'
import { Libp2pMetrics } from '../../src/metrics/index.ts'
import { expect } from '../utils/expect.ts'
import { parseExposition, valueOf } from './exposition.ts'

describe('metrics: libp2p\'s Metrics over one peer\'s registry', () => {
  it('keeps each instance\'s metrics apart, even under the same names', async () => {
    const [ra, rb] = [new Registry(), new Registry()]
    const [a, b] = [new Libp2pMetrics(ra), new Libp2pMetrics(rb)]
    a.registerCounter('libp2p_dials_total').increment(3)
    b.registerCounter('libp2p_dials_total').increment()
    expect(valueOf(parseExposition(await ra.metrics()), 'libp2p_dials_total')).to.equal(3)
    expect(valueOf(parseExposition(await rb.metrics()), 'libp2p_dials_total')).to.equal(1)
    // a second registration of a name reuses the metric (libp2p registers some from several parts)
    a.registerCounter('libp2p_dials_total').increment()
    expect(valueOf(parseExposition(await ra.metrics()), 'libp2p_dials_total')).to.equal(4)
  })

  it('renames to the conventions: _total on counters only, seconds rather than milliseconds (values scaled)', async () => {
    const registry = new Registry()
    const m = new Libp2pMetrics(registry)
    m.registerCounter('libp2p_errors').increment(2)
    m.registerMetricGroup('libp2p_tcp_inbound_connections_total', { label: 'address' }).update({ a: 5 })
    m.registerHistogram('libp2p_send_time_milliseconds', { buckets: [10, 100, 1000] }).observe(250)
    m.registerMetricGroup('libp2p_routing_table_kad_bucket_total', { calculate: () => ({ 0: 7 }) })
    const families = parseExposition(await registry.metrics())
    expect(valueOf(families, 'libp2p_errors_total')).to.equal(2)
    expect(families.get('libp2p_tcp_inbound_connections')?.type).to.equal('gauge')
    expect(valueOf(families, 'libp2p_tcp_inbound_connections', { address: 'a' })).to.equal(5)
    expect(families.has('libp2p_tcp_inbound_connections_total')).to.equal(false)
    expect(valueOf(families, 'libp2p_send_time_seconds_sum')).to.equal(0.25)
    expect(valueOf(families, 'libp2p_send_time_seconds_bucket', { le: '0.1' })).to.equal(0)
    expect(valueOf(families, 'libp2p_send_time_seconds_bucket', { le: '1' })).to.equal(1)
    // calculated when scraped; a name that would end like a histogram's own series is kept apart
    expect(valueOf(families, 'libp2p_routing_table_kad_buckets', { name: '0' })).to.equal(7)
  })
})
