/**
 * The `p2pstore` command line: a commander program with one handler per command in `commands/`.
 * `main()` never exits the process itself; it resolves with the exit code (README, "Exit codes").
 * Handlers are imported when their command runs, so `p2pstore status` does not load libp2p.
 *
 * @packageDocumentation
 */

import os from 'node:os'
import path from 'node:path'
import { InvalidParametersError } from '@libp2p/interface'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { HttpClient } from '../client/index.ts'
import { DEFAULT_DATADIR_NAME, MAX_N, TESTNET_MAX_PEERS, VERSION } from '../constants.ts'
import { EXIT } from '../errors.ts'
import { resolveApiTarget } from './api-file.ts'
import { Output } from './output.ts'
import type { CheckOptions } from './commands/check.ts'
import type { DaemonOptions } from './commands/daemon.ts'
import type { FaultOptions } from './commands/fault.ts'
import type { GetCommandOptions } from './commands/get.ts'
import type { KeygenOptions } from './commands/keygen.ts'
import type { WriteCommandOptions } from './commands/put.ts'
import type { TestnetOptions } from './commands/testnet.ts'
import type { TokenCreateOptions, TokenRotateOptions } from './commands/token.ts'
import type { CommandContext } from './context.ts'
import type { OutputStreams } from './output.ts'
import type { Client } from '../client/index.ts'

/** What `main()` runs against; the real process by default, fakes in tests. */
export interface CliEnvironment {
  streams?: OutputStreams
  env?: NodeJS.ProcessEnv
  /** replaces the HTTP client (tests) */
  client?: Client
  /** fires to stop long-running commands; SIGINT/SIGTERM by default */
  signal?: AbortSignal
  /** standard input as bytes (for `put` without a value); process.stdin by default */
  stdin?: () => Promise<Uint8Array>
}

interface GlobalOptions {
  api?: string
  data?: string
  token?: string
  json?: boolean
}

/** Runs the CLI with `argv` (as `process.argv`: node, script, args…) and resolves with the exit code. */
export async function main (argv: string[], environment: CliEnvironment = {}): Promise<number> {
  const rawEnv = environment.env ?? process.env
  // an empty variable (`export P2PSTORE_API=`) means "not set", as in most shells' conventions
  const env = (name: string): string | undefined => rawEnv[name] === '' ? undefined : rawEnv[name]
  const out = new Output(environment.streams ?? process)
  let exitCode: number = EXIT.ok

  const program = new Command('p2pstore')
    .description('A masterless peer-to-peer key-value store on libp2p')
    .version(VERSION, '-v, --version')
    .option('--api <url>', 'API of the daemon to talk to (default: $P2PSTORE_API, else <datadir>/api)')
    .option('--data <dir>', 'data dir (default: $P2PSTORE_HOME, else ~/.p2pstore)')
    .option('--token <token>', 'bearer token for an API bound beyond loopback (default: $P2PSTORE_TOKEN, else <datadir>/api-token)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: text => { out.stdout(text) },
      writeErr: text => { out.stderr(text) },
      outputError: (text, write) => { write(`p2pstore: ${text.replace(/^error: /, '')}`) }
    })

  const context = (cmd: Command): CommandContext => {
    const globals = cmd.optsWithGlobals<GlobalOptions>()
    const dataDir = path.resolve(globals.data ?? env('P2PSTORE_HOME') ?? path.join(os.homedir(), DEFAULT_DATADIR_NAME))
    let client: Client | undefined = environment.client
    return {
      out: out.withJson(globals.json === true),
      dataDir,
      signal: environment.signal ?? new AbortController().signal,
      client: async () => {
        client ??= new HttpClient(await resolveApiTarget({
          api: globals.api ?? env('P2PSTORE_API'),
          dataDir,
          token: globals.token ?? env('P2PSTORE_TOKEN')
        }))
        return client
      }
    }
  }

  const run = <A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command
      const ctx = context(cmd)
      try {
        exitCode = await handler(ctx, ...(args.slice(0, -1) as A))
      } catch (err) {
        exitCode = ctx.out.error(err)
      }
    }

  // long-running commands: ctx.signal fires on SIGINT/SIGTERM (or the environment's signal)
  const runUntilStopped = <A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number>): ((...args: unknown[]) => Promise<void>) =>
    run(async (ctx, ...args: A) => {
      const stop = stopSignal(environment.signal)
      try {
        return await handler({ ...ctx, signal: stop.signal }, ...args)
      } finally {
        stop.dispose()
      }
    })

  const json = (): Option => new Option('--json', 'print JSON for scripts')
  const usageHint = (cmd: Command): Command => cmd.showHelpAfterError(`usage: p2pstore ${cmd.name()} ${cmd.usage()}\n(run \`p2pstore ${cmd.name()} --help\` for details)`)

  usageHint(program.command('init')
    .description('create the data dir, the peer identity and config.json')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/init.ts')).initCommand(ctx))))

  usageHint(program.command('daemon')
    .description('run a peer and its HTTP API in the foreground (initializes the data dir on first use)')
    .option('--listen <multiaddr>', 'libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/4700)', collect)
    .option('--announce <multiaddr>', 'address to announce instead, repeatable', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap peer, repeatable', collect)
    .option('--bootstrap-file <file>', 'file of bootstrap multiaddrs, one per line, repeatable', collect)
    .option('--swarm-key <file>', 'join the private network of this swarm key (see `p2pstore keygen`)')
    .option('--api-host <host>', 'API host; beyond loopback a bearer token is required (default 127.0.0.1)')
    .option('--api-port <port>', 'API port, 0 = any free port (default 4701)', portArg)
    .option('--allow <multiaddr>', 'address range exempt from inbound connection limits, repeatable', collect)
    .option('--dht-refresh-interval <ms>', 'Kademlia self-lookup interval in ms (default 300000)', positiveIntArg)
    .addOption(new Option('--gossip <profile>', 'SWIM timing: default (1 s probes) or testnet (200 ms probes, for one machine)').choices(['default', 'testnet']))
    .option('--fault-injection', 'serve /v1/faults on the API (partitions; for test nets and `p2pstore check` only)')
    .option('--insecure', 'allow an API beyond loopback without any token (open to anyone who can reach it)')
    .option('--init-token', 'if the data dir holds no API token, create an admin token and save it in <datadir>/api-token')
    .addOption(json())
    .action(run(async (ctx, opts: DaemonOptions) => (await import('./commands/daemon.ts')).daemonCommand(ctx, opts))))

  usageHint(program.command('status')
    .description("show the daemon's peer id, addresses, uptime and connections")
    .addOption(json())
    .action(run(async ctx => (await import('./commands/status.ts')).statusCommand(ctx))))

  usageHint(program.command('peers')
    .description('list the peers the daemon knows')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/peers.ts')).peersCommand(ctx))))

  const quorum = (name: 'n' | 'r' | 'w', what: string): Option => new Option(`--${name} <${name}>`, what).argParser(quorumArg)

  usageHint(program.command('put')
    .description('store a value: VALUE, or standard input when omitted (binary-safe)')
    .argument('<key>', 'the key (1 byte to 1 KiB of UTF-8)')
    .argument('[value]', 'the value; read from standard input when omitted')
    .option('--context <token>', 'the context of a previous get: replace exactly the siblings it saw')
    .addOption(quorum('n', 'replicas for this write (default 3)'))
    .addOption(quorum('w', 'acknowledgements to wait for (default 2)'))
    .option('--strict', 'refuse sloppy quorum: only home replicas count towards --w')
    .addOption(json())
    .action(run(async (ctx, key: string, value: string | undefined, opts: WriteCommandOptions) =>
      (await import('./commands/put.ts')).putCommand(ctx, key, value, opts, environment.stdin ?? readStdin))))

  usageHint(program.command('get')
    .description('read a value; several concurrent values print as siblings (exit 4)')
    .argument('<key>', 'the key')
    .addOption(quorum('n', 'replicas of the key (default 3)'))
    .addOption(quorum('r', 'replies to wait for (default 2)'))
    .addOption(new Option('--resolve <policy>', 'read-time resolution of siblings').choices(['lww']))
    .addOption(json())
    .action(run(async (ctx, key: string, opts: GetCommandOptions) => (await import('./commands/get.ts')).getCommand(ctx, key, opts))))

  usageHint(program.command('delete')
    .description('delete a key (a tombstone; pass --context to supersede what you read)')
    .argument('<key>', 'the key')
    .option('--context <token>', 'the context of a previous get')
    .addOption(quorum('n', 'replicas for this write (default 3)'))
    .addOption(quorum('w', 'acknowledgements to wait for (default 2)'))
    .option('--strict', 'refuse sloppy quorum: only home replicas count towards --w')
    .addOption(json())
    .action(run(async (ctx, key: string, opts: WriteCommandOptions) => (await import('./commands/put.ts')).deleteCommand(ctx, key, opts))))

  usageHint(program.command('keygen')
    .description('generate keys: --swarm-key FILE writes a private-network key')
    .option('--swarm-key <file>', 'write a new swarm key (libp2p pnet) to FILE')
    .option('--force', 'replace FILE if it exists')
    .addOption(json())
    .action(run(async (ctx, opts: KeygenOptions) => (await import('./commands/keygen.ts')).keygenCommand(ctx, opts))))

  usageHint(program.command('testnet')
    .description('run a local test net of N daemon processes on 127.0.0.1 until Ctrl-C')
    .requiredOption('--peers <n>', `how many peers (1–${TESTNET_MAX_PEERS})`, peersArg)
    .option('--dir <dir>', 'keep the peers here and reuse them next time (default: a temp dir removed on exit)')
    .option('--swarm-key <file>', 'run the test net as a private network with this swarm key')
    .option('--netns', 'one network namespace per daemon (root; needs iproute2 and iptables): faults then act in the kernel')
    .addOption(json())
    .action(runUntilStopped(async (ctx, opts: TestnetOptions) => (await import('./commands/testnet.ts')).testnetCommand(ctx, opts))))

  usageHint(program.command('fault')
    .description('inject a fault into a running test net: kill|restart|pause|resume|wipe I, partition G G…, isolate I, bridge G B G, loss I P, heal, status')
    .argument('<fault>', 'kill, restart, pause, resume, wipe, partition, isolate, bridge, loss, heal or status')
    .argument('[args...]', 'peer indexes; groups are comma-separated (0,1,2)')
    .requiredOption('--dir <dir>', 'the test net directory (`p2pstore testnet --dir DIR`, or the one it printed)')
    .option('--one-way', 'partition: the first group cannot reach the second, the second can still reach the first')
    .addOption(json())
    .action(run(async (ctx, fault: string, args: string[], opts: FaultOptions) => (await import('./commands/fault.ts')).faultCommand(ctx, fault, args, opts))))

  usageHint(program.command('check')
    .description('run a fault scenario on a fresh local test net and check that no acknowledged write was lost')
    .addOption(new Option('--scenario <name>', 'kill, partition, concurrent, pause, wipe or flap').choices(['kill', 'partition', 'concurrent', 'pause', 'wipe', 'flap']).makeOptionMandatory())
    .option('--peers <n>', 'test-net size (default: the scenario\'s, 10 for most)', peersArg)
    .option('--duration <s>', 'seconds of writes while faults happen (default: the scenario\'s)', positiveIntArg)
    .option('--seed <k>', 'seed of every random choice; a run replays from it (default: random, printed)', seedArg)
    .option('--clients <n>', 'concurrent clients (default: the scenario\'s)', positiveIntArg)
    .option('--history <file>', 'write the operation history (JSON lines) here (default: a file in the temp dir)')
    .option('--lww', 'clients resolve siblings by last-write-wins instead of merging them (shows the writes LWW loses)')
    .option('--netns', 'run the test net in network namespaces (root): partitions are iptables DROP rules in the kernel')
    .addOption(json())
    .action(runUntilStopped(async (ctx, opts: CheckOptions) => (await import('./commands/check.ts')).checkCommand(ctx, opts))))

  const token = program.command('token')
    .description('API tokens of the data dir (roles, key prefixes, expiry); a running daemon sees changes at once')
  const tokenCommand = (name: string, description: string): Command => token.command(name).description(description).addOption(json())
    .showHelpAfterError(`(run \`p2pstore token ${name} --help\` for details)`)
  const save = (): Option => new Option('--save', 'also write the secret to <datadir>/api-token, which the CLI on this machine sends')
  tokenCommand('create', 'mint a token; its secret is printed once and stored hashed')
    .addOption(new Option('--role <role>', 'metrics, read, write or admin').choices(['metrics', 'read', 'write', 'admin']).makeOptionMandatory())
    .option('--prefix <prefix>', 'only keys starting with this (read and write roles)')
    .option('--expires-in <duration>', 'expire after this long: 30d, 12h, 15m, 90s', durationArg)
    .addOption(save())
    .action(run(async (ctx, opts: TokenCreateOptions) => (await import('./commands/token.ts')).tokenCreateCommand(ctx, opts)))
  tokenCommand('list', 'every token with its role, prefix, expiry and state (never a secret)')
    .action(run(async ctx => (await import('./commands/token.ts')).tokenListCommand(ctx)))
  tokenCommand('revoke', 'refuse a token from now on').argument('<id>', 'the token id (see `token list`)')
    .action(run(async (ctx, id: string) => (await import('./commands/token.ts')).tokenRevokeCommand(ctx, id)))
  tokenCommand('rotate', 'give a token a new secret; the old one works for --grace').argument('<id>', 'the token id')
    .option('--grace <duration>', 'keep the old secret working this long: 24h, 30m (default 0: refused at once)', durationArg)
    .addOption(save())
    .action(run(async (ctx, id: string, opts: TokenRotateOptions) => (await import('./commands/token.ts')).tokenRotateCommand(ctx, id, opts)))

  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      const shown = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)
      return shown ? EXIT.ok : EXIT.badInput
    }
    return out.error(err)
  }
  return exitCode
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function quorumArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_N) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_N}`)
  return n
}

/** All of standard input as bytes; refuses an interactive terminal so `put KEY` never hangs silently. */
async function readStdin (): Promise<Uint8Array> {
  if (process.stdin.isTTY) {
    throw new InvalidParametersError('no value given: pass VALUE, or pipe the value into standard input (p2pstore put KEY < file)')
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `30d`, `24h`, `15m`, `90s`, `2w` (or `0`) → ms. */
function durationArg (value: string): number {
  const match = /^(\d+)([smhdw])$/.exec(value)
  if (value === '0') return 0
  if (match == null) throw new InvalidArgumentError('expected a duration such as 30d, 24h, 15m or 90s')
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? 0)
}

function portArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number 0–65535 (0 = any free port)')
  return n
}

function positiveIntArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a positive whole number')
  return n
}

function seedArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 2 ** 31) throw new InvalidArgumentError('expected a whole number from 0 to 2147483648')
  return n
}

function peersArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > TESTNET_MAX_PEERS) throw new InvalidArgumentError(`expected a whole number from 1 to ${TESTNET_MAX_PEERS}`)
  return n
}

/** An AbortSignal for SIGINT/SIGTERM (or the given one), and a way to stop listening. */
function stopSignal (given?: AbortSignal): { signal: AbortSignal, dispose(): void } {
  if (given != null) return { signal: given, dispose: () => {} }
  const controller = new AbortController()
  const onSignal = (name: string) => () => { controller.abort(name) }
  const onInt = onSignal('SIGINT')
  const onTerm = onSignal('SIGTERM')
  process.once('SIGINT', onInt)
  process.once('SIGTERM', onTerm)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    }
  }
}
