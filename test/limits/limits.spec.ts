import { SETTINGS } from '../../src/config.ts'
import { limitsReport } from '../../src/limits/index.ts'
import { expect } from '../utils/expect.ts'
import type { LimitJson } from '../../src/limits/index.ts'

describe('limits: the report of what a daemon bounds', () => {
  it('names a setting or a constant for every row, and each setting is a config.json key', () => {
    const report = limitsReport({ maxConnections: 64, frameMemoryPerPeer: 80 * 2 ** 20, frameMemoryTotal: 320 * 2 ** 20 })
    expect(report.limits.length).to.be.greaterThan(10)
    for (const limit of report.limits) {
      if (limit.source.startsWith('constant ')) continue
      expect(Object.keys(SETTINGS), `${limit.name}: set by ${limit.source}`).to.include(limit.source)
    }
  })

  it('sums the rows into the worst case, and the worst case follows the settings', () => {
    const small = limitsReport({ maxConnections: 8, frameMemoryPerPeer: 70 * 2 ** 20, frameMemoryTotal: 100 * 2 ** 20 })
    const large = limitsReport({ maxConnections: 512, frameMemoryPerPeer: 80 * 2 ** 20, frameMemoryTotal: 1024 * 2 ** 20 })
    for (const report of [small, large]) {
      expect(report.worstCaseBytes).to.equal(report.limits.reduce((sum, l) => sum + (l.worstCaseBytes ?? 0), 0))
    }
    expect(large.worstCaseBytes).to.be.greaterThan(small.worstCaseBytes)
    const row = (r: typeof small): number => r.limits.find(l => l.name === 'connections in total')?.value ?? -1
    expect(row(small)).to.equal(8)
    expect(row(large)).to.equal(512)
  })

  it('bounds unsent bytes by writeMemoryTotal, not by connections × streams (issue #19)', () => {
    const MiB = 2 ** 20
    const row = (r: ReturnType<typeof limitsReport>, source: string): LimitJson | undefined => r.limits.find(l => l.source === source)
    const defaults = limitsReport({ maxConnections: 64, frameMemoryPerPeer: 80 * MiB, frameMemoryTotal: 320 * MiB })
    expect(row(defaults, 'writeMemoryTotal')?.worstCaseBytes).to.equal(320 * MiB)
    expect(row(defaults, 'writeMemoryPerPeer')?.value).to.equal(80 * MiB)
    expect(row(defaults, 'streamWriteBuffer')?.worstCaseBytes, 'the per-stream bound adds nothing of its own').to.equal(undefined)
    // more connections no longer add unsent bytes
    const more = limitsReport({ maxConnections: 512, frameMemoryPerPeer: 80 * MiB, frameMemoryTotal: 320 * MiB, writeMemoryTotal: 100 * MiB })
    expect(row(more, 'writeMemoryTotal')?.worstCaseBytes).to.equal(100 * MiB)
    // a few hundred MiB besides the API's (the yamux frames being decoded, frames arriving, unsent bytes, standing)
    const api = row(defaults, 'constant API_SERVER_MAX_CONNECTIONS')?.worstCaseBytes ?? 0
    expect(defaults.worstCaseBytes - api).to.be.below(1024 * MiB)
  })

  it('has a row for every kv and hinted-storage quota, at the settings given or their defaults', () => {
    const value = (r: ReturnType<typeof limitsReport>, source: string): number | undefined => r.limits.find(l => l.source === source)?.value
    const defaults = limitsReport({ maxConnections: 64, frameMemoryPerPeer: 80 * 2 ** 20, frameMemoryTotal: 320 * 2 ** 20 })
    for (const key of ['kvPeerRequestRate', 'kvPeerRequestBurst', 'kvPeerByteRate', 'kvPeerByteBurst', 'kvPeerMaxInFlight', 'kvGlobalRequestRate', 'hintedBytesPerPeer', 'hintedBytesTotal'] as const) {
      expect(value(defaults, key), key).to.equal(SETTINGS[key].default)
    }
    const set = limitsReport({ maxConnections: 64, frameMemoryPerPeer: 80 * 2 ** 20, frameMemoryTotal: 320 * 2 ** 20, kvPeerRequestRate: 7, hintedBytesPerPeer: 9 })
    expect([value(set, 'kvPeerRequestRate'), value(set, 'hintedBytesPerPeer')]).to.deep.equal([7, 9])
  })
})
