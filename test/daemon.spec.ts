import fs from 'node:fs/promises'
import path from 'node:path'
import { PROFILES } from '../src/constants.ts'
import { Daemon, startSeparator, timestampLines } from '../src/daemon.ts'
import { useCleanup } from './utils/cleanup.ts'
import { expect } from './utils/expect.ts'
import type { DaemonFlags } from '../src/config.ts'
import type { ProfileName } from '../src/constants.ts'

describe('daemon: log lines', () => {
  it('timestampLines() stamps each line once, also lines written in pieces', () => {
    const written: string[] = []
    const stream = { write: (chunk: string | Uint8Array): boolean => { written.push(String(chunk)); return true } }
    const at = new Date('2026-12-01T10:00:00.000Z')
    timestampLines(stream, () => at)
    stream.write('one\ntwo\n')
    stream.write('thr')
    stream.write('ee\n')
    stream.write(new TextEncoder().encode('four\n'))
    expect(written.join('')).to.equal([
      '2026-12-01T10:00:00.000Z one',
      '2026-12-01T10:00:00.000Z two',
      '2026-12-01T10:00:00.000Z three',
      '2026-12-01T10:00:00.000Z four',
      ''
    ].join('\n'))
  })

  it('startSeparator() names the time and the pid', () => {
    expect(startSeparator(42, new Date('2026-12-01T10:00:00.000Z'))).to.equal('--- daemon started 2026-12-01T10:00:00.000Z (pid 42) ---')
  })
})

describe('daemon: timing profiles', () => {
  const cleanup = useCleanup()

  /** The timing a daemon's peer runs with, given config.json and flags. */
  async function timing (file: Record<string, unknown>, flags: DaemonFlags = {}): Promise<unknown> {
    const dataDir = await cleanup.tempDir()
    await fs.writeFile(path.join(dataDir, 'config.json'), JSON.stringify(file))
    const daemon = new Daemon({ dataDir, flags: { listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0, open: true, ...flags } })
    cleanup.add(async () => daemon.stop())
    await daemon.start()
    const config = daemon.node?.config
    return { gossip: config?.gossip, handoffInterval: config?.handoffInterval, antiEntropyInterval: config?.antiEntropyInterval, tombstoneGrace: config?.tombstoneGrace }
  }
  const profile = (name: ProfileName): unknown => ({ ...PROFILES[name] })

  it('runs the peer with every value of its profile; the deprecated gossip key of an older config.json still counts', async function () {
    this.timeout(60_000)
    expect(await timing({})).to.deep.equal(profile('default'))
    expect(await timing({ profile: 'testnet' })).to.deep.equal(profile('testnet'))
    expect(await timing({ gossip: 'testnet' })).to.deep.equal(profile('testnet'))
    expect(await timing({ gossip: 'testnet' }, { profile: 'default' })).to.deep.equal(profile('default'))
    expect(await timing({}, { gossip: 'testnet' })).to.deep.equal(profile('testnet'))
  })
})
