import { Command } from 'commander'
import { main } from '../../src/cli/index.ts'
import { settingFlag, settingFlags, settingHelp, settingOptions } from '../../src/cli/settings.ts'
import { resolveDaemonConfig, SETTING_KEYS, SETTINGS } from '../../src/config.ts'
import { EXIT } from '../../src/errors.ts'
import { expect } from '../utils/expect.ts'
import { SAMPLES } from '../utils/settings.ts'
import type { DaemonConfig } from '../../src/config.ts'

/** runs main() with captured output */
async function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'p2pstore', ...args], {
    env: {},
    streams: { stdout: { write: (s: string | Uint8Array) => { stdout += String(s) } }, stderr: { write: (s: string | Uint8Array) => { stderr += String(s) } } }
  })
  return { code, stdout, stderr }
}

/** The setting flags of `argv`, as the daemon command hands them to resolveDaemonConfig(). */
function parse (argv: string[]): ReturnType<typeof settingFlags> {
  const cmd = new Command('daemon').exitOverride()
  for (const option of settingOptions()) cmd.addOption(option)
  cmd.parse(argv, { from: 'user' })
  return settingFlags(cmd.opts())
}

/** `value` as it is typed after its flag. */
function argv (key: keyof DaemonConfig, value: unknown): string[] {
  const flag = `--${SETTINGS[key].flag?.name ?? ''}`
  if (Array.isArray(value)) return value.flatMap(v => [flag, String(v)])
  return value === true ? [flag] : [flag, String(value)]
}

const squeeze = (text: string): string => text.replace(/\s+/g, ' ')
const flagged = SETTING_KEYS.filter(key => SETTINGS[key].flag != null)

describe('cli: the daemon\'s setting flags (from SETTINGS)', () => {
  it('daemon --help lists every setting flag with its help and default, and --gossip as deprecated', async () => {
    const res = await run(['daemon', '--help'])
    expect(res.code).to.equal(0)
    const help = squeeze(res.stdout)
    expect(flagged.length).to.be.greaterThan(10)
    for (const key of flagged) {
      expect(help, key).to.include(`${settingFlag(key)} ${squeeze(settingHelp(key))}`)
    }
    expect(help).to.include('--gossip <name> deprecated alias of --profile')
    expect(help).to.include('(default: default)')
    expect(help).to.include('tombstone grace to 3 s')
  })

  for (const key of flagged) {
    const [value, fileValue] = SAMPLES[key]
    it(`${argv(key, value).join(' ')} wins over config.json; without it config.json counts`, () => {
      expect(parse(argv(key, value))[key]).to.deep.equal(value)
      const file = { [key]: fileValue }
      if (JSON.stringify(fileValue) !== JSON.stringify(value)) {
        expect(resolveDaemonConfig(parse(argv(key, value)), file)[key]).to.deep.equal(value)
      }
      expect(resolveDaemonConfig(parse([]), file)[key]).to.deep.equal(fileValue)
      expect(resolveDaemonConfig(parse([]), {})[key]).to.deep.equal(SETTINGS[key].default)
    })
  }

  it('--gossip is still accepted as --profile', () => {
    expect(resolveDaemonConfig(parse(['--gossip', 'testnet']), {}).profile).to.equal('testnet')
    expect(resolveDaemonConfig(parse(['--gossip', 'testnet']), { profile: 'default' }).profile).to.equal('testnet')
    expect(resolveDaemonConfig(parse(['--profile', 'testnet']), { gossip: 'default' }).profile).to.equal('testnet')
    expect(() => resolveDaemonConfig(parse(['--profile', 'testnet', '--gossip', 'default']), {})).to.throw(/flags: profile \("testnet"\) and its deprecated alias gossip \("default"\) disagree/)
  })

  it('refuses a bad argument with exit 2, naming the flag and the allowed range', async () => {
    for (const [args, range] of [
      [['--api-port', '70000'], SETTINGS.apiPort.range],
      [['--api-port', 'http'], SETTINGS.apiPort.range],
      [['--dht-refresh-interval', '0'], SETTINGS.dhtRefreshInterval.range],
      [['--dht-refresh-interval', '1.5'], SETTINGS.dhtRefreshInterval.range],
      [['--profile', 'fast'], 'Allowed choices are default, testnet'],
      [['--gossip', 'fast'], 'Allowed choices are default, testnet']
    ] as const) {
      const res = await run(['daemon', ...args])
      expect(res.code, args.join(' ')).to.equal(EXIT.badInput)
      expect(res.stderr, args.join(' ')).to.include(`${args[0]} `).and.include(`argument '${args[1]}' is invalid`).and.include(range)
    }
  })
})
