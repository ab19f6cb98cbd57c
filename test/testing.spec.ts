/**
 * The package's two entries: `p2pstore` is the library (no test harness), `p2pstore/testing` the
 * test nets, faults and checker, as package.json's "exports" maps them.
 */
import fs from 'node:fs/promises'
import * as library from '../src/index.ts'
import * as testing from '../src/testing.ts'
import { expect } from './utils/expect.ts'

describe('entries: p2pstore and p2pstore/testing', () => {
  it('p2pstore/testing has the test nets, the lab and the checker; p2pstore has none of them', () => {
    const harness = ['createTestnet', 'ProcessTestnet', 'NetnsLab', 'NETNS_LAB_MAX_HOSTS', 'cleanupStaleLabs', 'runCheck', 'checkHistory', 'SCENARIOS']
    for (const name of harness) {
      expect(testing, name).to.have.property(name)
      expect(library, name).to.not.have.property(name)
    }
    expect(library).to.have.property('createPeer')
  })

  it('package.json exports both, each with its types', async () => {
    const pkg = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { types: string, import: string }> }
    expect(pkg.exports['.']).to.deep.equal({ types: './dist/src/index.d.ts', import: './dist/src/index.js' })
    expect(pkg.exports['./testing']).to.deep.equal({ types: './dist/src/testing.d.ts', import: './dist/src/testing.js' })
  })
})
