/**
 * The `daemon` command's flags for the daemon's settings, built from SETTINGS (src/config.ts): the
 * flag, its argument's parser (from the setting's type and range) and its help with the default.
 * A setting without a flag is set in config.json only.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError, Option } from 'commander'
import { SETTING_KEYS, SETTINGS, settingDefaultText } from '../config.ts'
import type { DaemonConfig, DaemonFlags, Setting } from '../config.ts'

/** What commander parsed from the setting flags: option attribute → value. */
export type SettingOptions = Record<string, unknown>

/** The `--help` line of a setting's flag: its help, `repeatable`, a note, and the default. */
export function settingHelp (key: keyof DaemonConfig): string {
  const setting: Setting<unknown> = SETTINGS[key]
  const parts = [setting.help]
  if (setting.flag?.repeatable === true) parts.push('repeatable')
  if (setting.flag?.note != null) parts.push(setting.flag.note)
  const value = settingDefaultText(key)
  const note = setting.defaultNote == null ? '' : ` = ${setting.defaultNote}`
  return `${parts.join('; ')} (default: ${value == null ? 'none' : value + note})`
}

/** A setting's flag as it is typed: `--api-port <port>`. */
export function settingFlag (key: keyof DaemonConfig, name = SETTINGS[key].flag?.name): string {
  const flag = SETTINGS[key].flag
  return `--${name ?? ''}${flag?.arg == null ? '' : ` ${flag.arg}`}`
}

/**
 * commander's argument parser for a setting's value (`--api-port`, and the per-request `--n`, `--r`,
 * `--w` of put, get and delete): its range, the same words as config.json's errors. A setting whose
 * values need no parsing (strings) has none.
 */
export function settingArg<K extends keyof DaemonConfig> (key: K): ((value: string) => DaemonConfig[K]) | undefined {
  const fromArg = (SETTINGS[key] as Setting<DaemonConfig[K]>).fromArg
  if (fromArg == null) return undefined
  return (value: string) => {
    try {
      return fromArg(value)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }
}

function option (key: keyof DaemonConfig, flags: string, description: string): Option {
  const setting: Setting<unknown> = SETTINGS[key]
  const opt = new Option(flags, description)
  if (setting.choices != null) return opt.choices(setting.choices)
  if (setting.flag?.repeatable === true) return opt.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
  const parse = settingArg(key)
  return parse == null ? opt : opt.argParser(parse)
}

/** One commander option per setting with a flag, in SETTINGS order, each followed by its deprecated alias. */
export function settingOptions (): Option[] {
  return SETTING_KEYS.flatMap(key => {
    const setting: Setting<unknown> = SETTINGS[key]
    if (setting.flag == null) return []
    const options = [option(key, settingFlag(key), settingHelp(key))]
    if (setting.deprecatedAlias != null) {
      options.push(option(key, settingFlag(key, setting.deprecatedAlias), `deprecated alias of --${setting.flag.name}`))
    }
    return options
  })
}

/** The settings the command line gave (undefined: not given), for `resolveDaemonConfig()`. */
export function settingFlags (opts: SettingOptions): DaemonFlags {
  const flags: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) {
    const setting: Setting<unknown> = SETTINGS[key]
    if (setting.flag == null) continue
    flags[key] = opts[new Option(settingFlag(key)).attributeName()]
    if (setting.deprecatedAlias != null) {
      flags[setting.deprecatedAlias] = opts[new Option(settingFlag(key, setting.deprecatedAlias)).attributeName()]
    }
  }
  return flags as DaemonFlags
}
