import fs from 'node:fs/promises'
import path from 'node:path'
import { defaultDaemonConfig, deprecatedKeys, profilesMarkdown, readBootstrapFile, resolveDaemonConfig, resolvePeerConfig, SETTING_KEYS, SETTINGS, settingsMarkdown } from '../src/config.ts'
import { BOOTSTRAP_DIAL_TIMEOUT, PROFILES } from '../src/constants.ts'
import { useCleanup } from './utils/cleanup.ts'
import { expect } from './utils/expect.ts'
import { BAD, SAMPLES } from './utils/settings.ts'
import type { DaemonConfig } from '../src/config.ts'

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

  describe('the settings table', () => {
    it('has every DaemonConfig key, and init writes each default', () => {
      expect(SETTING_KEYS).to.have.members(Object.keys(SAMPLES))
      const defaults = resolveDaemonConfig({}, {})
      const written = defaultDaemonConfig()
      for (const key of SETTING_KEYS) {
        expect(defaults[key], key).to.deep.equal(SETTINGS[key].default)
        expect(written[key], key).to.deep.equal(SETTINGS[key].default)
      }
    })

    for (const key of Object.keys(SAMPLES) as Array<keyof DaemonConfig>) {
      const [fromFile, fromFlag] = SAMPLES[key]

      it(`${key}: flag > config.json > default`, () => {
        expect(fromFile, 'samples are not the default').to.not.deep.equal(SETTINGS[key].default)
        expect(fromFlag, 'samples differ').to.not.deep.equal(fromFile)
        expect(resolveDaemonConfig({}, {})[key]).to.deep.equal(SETTINGS[key].default)
        expect(resolveDaemonConfig({}, { [key]: fromFile })[key]).to.deep.equal(fromFile)
        expect(resolveDaemonConfig({ [key]: fromFlag }, { [key]: fromFile })[key]).to.deep.equal(fromFlag)
        expect(resolveDaemonConfig({ [key]: undefined }, { [key]: fromFile })[key], 'an unset flag').to.deep.equal(fromFile)
      })

      it(`${key}: a bad value raises InvalidConfigurationError naming the key and ${SETTINGS[key].range}`, () => {
        for (const bad of BAD[key]) {
          for (const [flags, file] of [[{ [key]: bad }, {}], [{}, { [key]: bad }]]) {
            expect(() => resolveDaemonConfig(flags ?? {}, file ?? {}), JSON.stringify(bad))
              .to.throw(`${key}: expected ${SETTINGS[key].range}`).with.property('name', 'InvalidConfigurationError')
          }
        }
      })
    }

    it('refuses r or w above n', () => {
      expect(() => resolveDaemonConfig({ n: 2 }, { r: 3 })).to.throw(/r \(3\) must be at most n \(2\)/).with.property('name', 'InvalidConfigurationError')
      expect(() => resolveDaemonConfig({}, { n: 1, w: 2, r: 1 })).to.throw(/w \(2\) must be at most n \(1\)/).with.property('name', 'InvalidConfigurationError')
    })

    it('README\'s configuration table is the one SETTINGS gives', async () => {
      const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8')
      const rows = settingsMarkdown()
      expect(readme.includes(rows), `README's "Configuration" table is out of date; paste these rows:\n\n${rows}\n`).to.equal(true)
    })
  })

  describe('timing profiles', () => {
    it('the deprecated gossip key and flag still pick the profile', () => {
      expect(resolveDaemonConfig({}, { gossip: 'testnet' }).profile).to.equal('testnet')
      expect(resolveDaemonConfig({ gossip: 'testnet' }, {}).profile).to.equal('testnet')
      expect(resolveDaemonConfig({ gossip: 'testnet' }, { profile: 'default' }).profile, 'the flag wins').to.equal('testnet')
      expect(resolveDaemonConfig({ profile: 'default' }, { gossip: 'testnet' }).profile, 'the flag wins').to.equal('default')
      expect(resolveDaemonConfig({}, { gossip: 'testnet', profile: 'testnet' }).profile).to.equal('testnet')
    })

    it('names the deprecated keys a config.json uses', () => {
      expect(deprecatedKeys({ gossip: 'default', n: 3 })).to.deep.equal([{ alias: 'gossip', key: 'profile' }])
      expect(deprecatedKeys({ profile: 'default' })).to.deep.equal([])
    })

    it('refuses a bad deprecated value under its own name, and the two names disagreeing', () => {
      expect(() => resolveDaemonConfig({}, { gossip: 'fast' })).to.throw(/gossip \(deprecated alias of profile\): expected one of default, testnet, got "fast"/).with.property('name', 'InvalidConfigurationError')
      expect(() => resolveDaemonConfig({}, { gossip: 'testnet', profile: 'default' })).to.throw(/config.json: profile \("default"\) and its deprecated alias gossip \("testnet"\) disagree/).with.property('name', 'InvalidConfigurationError')
    })

    it('README\'s profile table shows every value each profile sets', async () => {
      const table = profilesMarkdown()
      for (const profile of Object.values(PROFILES)) {
        const { gossip, ...rest } = profile
        for (const field of [...Object.keys(gossip), ...Object.keys(rest)]) expect(table).to.include(`| \`${field}\` |`)
      }
      expect(table).to.match(/\| `tombstoneGrace` \| \*\*tombstone grace\*\*.* \| 1 h \| 3 s \|/)
      const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8')
      expect(readme.includes(table), `README's "Timing profiles" table is out of date; paste these rows:\n\n${table}\n`).to.equal(true)
      expect(readme).to.match(/Warning: never run `testnet` across real networks/)
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

    it('times bootstrap dials out after BOOTSTRAP_DIAL_TIMEOUT', () => {
      expect(resolvePeerConfig().dialTimeout).to.equal(BOOTSTRAP_DIAL_TIMEOUT)
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
