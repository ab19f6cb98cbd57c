/**
 * The command runner of the lab: every `ip` and `iptables-restore` call goes through `run()`, with
 * a deadline each, and every failure the lab reacts to is classified here, in one place.
 */

import { execFile } from 'node:child_process'
import { logger } from '@libp2p/logger'
import { TestnetError } from '../../errors.ts'

const log = logger('p2pstore:faults:netns:command')

/** Deadline of one `ip` or `iptables` command. */
const COMMAND_TIMEOUT = 10_000

/** What a failed command said, as far as the lab cares: the thing exists already, is gone, or the program is not installed. */
export type CommandFailure = 'exists' | 'missing' | 'not-installed' | 'other'

/** A failed command: its command line, its stderr (or the spawn error) and what that means. */
export class CommandFailedError extends TestnetError {
  /** what the failure means to the lab (see `classify()`) */
  readonly failure: CommandFailure

  constructor (message: string, failure: CommandFailure, options?: ErrorOptions) {
    super(message, options)
    this.failure = failure
  }
}

/**
 * Runs a command with a deadline. Rejects with a `CommandFailedError` (a `TestnetError`) that
 * names the command line and carries its stderr, or the spawn error (`ENOENT` when the program is
 * not installed).
 */
export async function run (command: string, args: string[], options: { input?: string } = {}): Promise<string> {
  log.trace('%s %s', command, args.join(' '))
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: COMMAND_TIMEOUT, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) {
        const detail = stderr.trim() !== '' ? stderr.trim() : err.message
        reject(new CommandFailedError(`\`${command} ${args.join(' ')}\` failed: ${detail}`, classify(err, detail), { cause: err }))
        return
      }
      resolve(stdout)
    })
    // a missing program fails the spawn: the callback reports it, stdin must not throw meanwhile
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input ?? '')
  })
}

/** `ip …` */
export async function ip (args: string[]): Promise<string> {
  return run('ip', args)
}

/** What a failure of `err` with output `detail` means: iproute2 and iptables say it only in words. */
function classify (err: { code?: string | number | null }, detail: string): CommandFailure {
  if (err.code === 'ENOENT') return 'not-installed'
  if (/exists/i.test(detail)) return 'exists'
  // `ip link del` of a device gone with its namespace; `ip netns del` of a namespace gone
  if (/cannot find device|does not exist|no such file/i.test(detail)) return 'missing'
  return 'other'
}

/** The failure `err` stands for, when it came from `run()`. */
export function failureOf (err: unknown): CommandFailure | undefined {
  return err instanceof CommandFailedError ? err.failure : undefined
}

/** `err`'s message, whatever was thrown. */
export function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
