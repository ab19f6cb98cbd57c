import fs from 'node:fs/promises'
import path from 'node:path'
import { readBootstrapFile, resolveDaemonConfig, resolvePeerConfig } from '../src/config.ts'
import { useCleanup } from './utils/cleanup.ts'
import { expect } from './utils/expect.ts'

describe('config', () => {
  const cleanup = useCleanup()

  describe('resolveDaemonConfig', () => {
    it('uses the defaults when nothing is given', () => {
      const config = resolveDaemonConfig({}, {})
      expect(config.listen).to.deep.equal(['/ip4/0.0.0.0/tcp/4700'])
      expect(config.apiHost).to.equal('127.0.0.1')
      expect(config.apiPort).to.equal(4701)
      expect(config.sync).to.equal(true)
      expect(config.syncReads).to.equal(true)
    })

    it('turns synchronous reads off from config.json, and refuses a value that is not a boolean', () => {
      expect(resolveDaemonConfig({}, { syncReads: false }).syncReads).to.equal(false)
      expect(() => resolveDaemonConfig({}, { syncReads: 'no' })).to.throw(/syncReads/).with.property('name', 'InvalidConfigurationError')
    })

    it('reads capacity and zone from config.json or the flags (capacity 1 and no zone by default), and refuses bad ones', () => {
      expect(resolveDaemonConfig({}, {})).to.include({ capacity: 1, zone: undefined })
      expect(resolveDaemonConfig({ capacity: 4 }, { capacity: 2, zone: 'rack-1' })).to.include({ capacity: 4, zone: 'rack-1' })
      expect(resolvePeerConfig({ capacity: 0.5, zone: 'b' })).to.include({ capacity: 0.5, zone: 'b' })
      for (const capacity of [0, -1, 'two', 1000]) {
        expect(() => resolveDaemonConfig({}, { capacity })).to.throw(/capacity: expected a positive number/).with.property('name', 'InvalidConfigurationError')
      }
      expect(() => resolveDaemonConfig({}, { zone: '' })).to.throw(/zone: expected a label/).with.property('name', 'InvalidConfigurationError')
      expect(() => resolvePeerConfig({ capacity: 0 })).to.throw(/capacity/).with.property('name', 'InvalidConfigurationError')
    })

    it('takes the file over the defaults and the flags over the file', () => {
      const file = { apiPort: 5000, listen: ['/ip4/127.0.0.1/tcp/5001'], bootstrap: ['/ip4/127.0.0.1/tcp/9'] }
      const config = resolveDaemonConfig({ apiPort: 6000 }, file)
      expect(config.apiPort).to.equal(6000)
      expect(config.listen).to.deep.equal(['/ip4/127.0.0.1/tcp/5001'])
      expect(config.bootstrap).to.deep.equal(['/ip4/127.0.0.1/tcp/9'])
    })

    it('keeps a valid 0 and an empty list instead of falling back to the default', () => {
      const config = resolveDaemonConfig({ apiPort: 0 }, { bootstrap: [], apiPort: 4000 })
      expect(config.apiPort).to.equal(0)
      expect(config.bootstrap).to.deep.equal([])
    })

    it('refuses unknown keys, wrong types and bad multiaddrs, naming the key', () => {
      expect(() => resolveDaemonConfig({}, { apiprot: 1 })).to.throw(/unknown setting "apiprot"/).with.property('name', 'InvalidConfigurationError')
      expect(() => resolveDaemonConfig({}, { apiPort: 70000 })).to.throw(/apiPort/).with.property('name', 'InvalidConfigurationError')
      expect(() => resolveDaemonConfig({}, { listen: '/ip4/1.2.3.4/tcp/1' })).to.throw(/listen: expected a list/)
      expect(() => resolveDaemonConfig({ bootstrap: ['not-a-multiaddr'] }, {})).to.throw(/bootstrap: "not-a-multiaddr"/).with.property('name', 'InvalidMultiaddrError')
    })
  })

  describe('resolvePeerConfig', () => {
    it('applies defaults', () => {
      const config = resolvePeerConfig()
      expect(config.listen).to.deep.equal(['/ip4/0.0.0.0/tcp/0'])
      expect(config.start).to.equal(true)
      expect(config.bootstrap).to.deep.equal([])
    })

    it('refuses a retry ceiling below the first delay, and non-positive intervals', () => {
      expect(() => resolvePeerConfig({ bootstrapRetryMin: 500, bootstrapRetryMax: 100 })).to.throw(/bootstrapRetryMax/)
      expect(() => resolvePeerConfig({ dialTimeout: 0 })).to.throw(/dialTimeout/).with.property('name', 'InvalidConfigurationError')
    })
  })

  describe('readBootstrapFile', () => {
    it('reads one multiaddr per line, skipping blanks and comments', async () => {
      const dir = await cleanup.tempDir()
      const file = path.join(dir, 'peers.txt')
      await fs.writeFile(file, '# our peers\n\n/ip4/192.0.2.1/tcp/4700 # first\n  /dns4/boot.example.org/tcp/4700\n')
      expect(await readBootstrapFile(file)).to.deep.equal(['/ip4/192.0.2.1/tcp/4700', '/dns4/boot.example.org/tcp/4700'])
    })

    it('names the file and line of a bad entry', async () => {
      const dir = await cleanup.tempDir()
      const file = path.join(dir, 'peers.txt')
      await fs.writeFile(file, '/ip4/192.0.2.1/tcp/4700\n/ip4/999.1.1.1/tcp/1\n')
      await expect(readBootstrapFile(file)).to.be.rejectedWith(/peers\.txt:2/).and.eventually.have.property('name', 'InvalidMultiaddrError')
    })

    it('reports a missing file as bad input', async () => {
      await expect(readBootstrapFile('/nonexistent/peers.txt')).to.be.rejected.and.eventually.have.property('name', 'InvalidParametersError')
    })
  })
})
