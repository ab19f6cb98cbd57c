import { resolveDaemonConfig, resolvePeerConfig } from '../../src/config.ts'
import { expect } from '../utils/expect.ts'

describe('quota: settings', () => {
  it('refuses a global kv request rate one peer alone could use up, in config.json and in PeerInit', () => {
    expect(() => resolveDaemonConfig({}, { kvPeerRequestRate: 30_000 })).to.throw(/kvGlobalRequestRate \(50000\) must be at least twice kvPeerRequestRate \(30000\)/).with.property('name', 'InvalidConfigurationError')
    expect(() => resolvePeerConfig({ kvGlobalRequestRate: 39_999 })).to.throw(/at least twice/).with.property('name', 'InvalidConfigurationError')
    expect(resolveDaemonConfig({ kvGlobalRequestRate: 80_000 }, { kvPeerRequestRate: 40_000 })).to.include({ kvPeerRequestRate: 40_000, kvGlobalRequestRate: 80_000 })
  })

  it('refuses a hinted-storage total below one peer\'s share', () => {
    expect(() => resolveDaemonConfig({}, { hintedBytesTotal: 1024 })).to.throw(/hintedBytesTotal \(1024\) must be ≥ hintedBytesPerPeer/).with.property('name', 'InvalidConfigurationError')
    expect(resolvePeerConfig({ hintedBytesPerPeer: 0, hintedBytesTotal: 0 })).to.include({ hintedBytesPerPeer: 0, hintedBytesTotal: 0 })
  })

  it('gives a peer the defaults and range-checks what it is given', () => {
    expect(resolvePeerConfig({})).to.include({ kvPeerRequestRate: 20_000, kvPeerRequestBurst: 4000, kvPeerByteRate: 64 * 2 ** 20, kvPeerByteBurst: 16 * 2 ** 20, kvPeerMaxInFlight: 256, kvGlobalRequestRate: 50_000, hintedBytesPerPeer: 64 * 2 ** 20, hintedBytesTotal: 256 * 2 ** 20 })
    expect(() => resolvePeerConfig({ kvPeerMaxInFlight: 0 })).to.throw(/kvPeerMaxInFlight: expected a whole number of at least 1/).with.property('name', 'InvalidConfigurationError')
  })
})
