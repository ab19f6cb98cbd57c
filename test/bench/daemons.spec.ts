import { expect } from 'chai'
import { parseDaemonOptions, parseNets, renderDaemonReport } from './daemons.ts'
import type { DaemonReport } from './daemons.ts'

describe('bench: daemons vs etcd, options and report', () => {
  it('parses the nets', () => {
    expect(parseNets('3:default, 10:testnet,5')).to.deep.equal([{ size: 3, profile: 'default' }, { size: 10, profile: 'testnet' }, { size: 5, profile: 'default' }])
    expect(() => parseNets('2:default')).to.throw(RangeError, '--nets')
    expect(() => parseNets('3:fast')).to.throw(RangeError, 'profiles')
  })

  it('quick runs 3 and 10 daemons at production timing; --cpu-prof makes the idle window 30 s', () => {
    const quick = parseDaemonOptions(['--quick'])
    expect(quick?.nets).to.deep.equal([{ size: 3, profile: 'default' }, { size: 10, profile: 'default' }])
    expect(quick?.rounds).to.equal(2)
    expect(quick?.idleSeconds).to.equal(20)
    expect(quick?.etcd).to.equal(true)
    const prof = parseDaemonOptions(['--cpu-prof', 'profiles', '--no-etcd'])
    expect(prof?.idleSeconds).to.equal(30)
    expect(prof?.cpuProf).to.match(/\/profiles$/)
    expect(prof?.etcd).to.equal(false)
    expect(prof?.nets).to.have.length(4)
  })

  it('refuses an idle window under 20 s, bad rounds and unknown flags', () => {
    expect(() => parseDaemonOptions(['--idle', '5'])).to.throw(RangeError, '--idle')
    expect(() => parseDaemonOptions(['--rounds', '0'])).to.throw(RangeError, '--rounds')
    expect(() => parseDaemonOptions(['--bogus'])).to.throw(TypeError)
  })

  it('renders a net, its ratios and a skipped etcd', () => {
    const report: DaemonReport = {
      machine: { cpus: 2, model: 'cpu', totalMemoryBytes: 1, node: 'v20', os: 'Linux', arch: 'x64', loadAvgAtStart: [1], command: 'npm run bench:daemons', mode: 'quick', timings: '3:default', startedAt: 'now' },
      etcd: { skipped: 'etcd not found: apt-get install etcd-server — skipping the etcd comparison' },
      nets: [{
        label: 'p2pstore-3-default',
        size: 3,
        profile: 'default',
        results: { 'p2pstore.put': { 1: { p50Ms: 7.5, p99Ms: 40, opsPerSec: 120, samples: 100, inFlight: 1, errors: 0, cpuMsPerOp: 4.5, cpuMsPerOpNetOfIdle: 4, writeCallsPerOp: 31.5 } } },
        idle: { p2pstore: { perProcessPct: [2, 3, 4], meanPct: 3, totalPct: 9, seconds: 20, writesPerProcessPerSec: 12.5 } },
        ratios: { putP50VsEtcdLeader: undefined }
      }],
      notes: []
    }
    const text = renderDaemonReport(report)
    expect(text).to.contain('etcd: etcd not found: apt-get install etcd-server')
    expect(text).to.match(/p2pstore\.put\s+1\s+7\.500\s+40\.000\s+120\.0\s+4\.500\s+4\.000\s+31\.5\s+100\s+0/)
    expect(text).to.contain('idle: p2pstore 3 % of a core per process')
    expect(text).to.contain('12.5 write calls/s per process')
    expect(text).to.match(/putP50VsEtcdLeader\s+–/)
  })
})
