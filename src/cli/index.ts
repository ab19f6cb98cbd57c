/**
 * The `p2pstore` command line: a commander program with one handler per command in `commands/`.
 * `main()` never exits the process itself; it resolves with the exit code (README, "Exit codes").
 * Handlers are imported when their command runs, so `p2pstore status` does not load libp2p.
 *
 * @packageDocumentation
 */

import os from 'node:os'
import path from 'node:path'
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { Command, CommanderError, Help, InvalidArgumentError, Option } from 'commander'
import { HttpClient } from '../client/index.ts'
import { API_DATA_TIMEOUT, API_STATUS_TIMEOUT, DEFAULT_DATADIR_NAME, second, TESTNET_MAX_PEERS, VERSION } from '../constants.ts'
import { EXIT, InvalidConfigurationError } from '../errors.ts'
import { resolveApiTarget } from './api-file.ts'
import { Output } from './output.ts'
import { settingArg, settingOptions } from './settings.ts'
import type { CheckOptions } from './commands/check.ts'
import type { DaemonOptions } from './commands/daemon.ts'
import type { EncryptionOptions } from './commands/encryption.ts'
import type { FaultOptions } from './commands/fault.ts'
import type { GetCommandOptions } from './commands/get.ts'
import type { InitOptions } from './commands/init.ts'
import type { KeygenOptions } from './commands/keygen.ts'
import type { KeysCommandOptions } from './commands/keys.ts'
import type { LocateCommandOptions } from './commands/locate.ts'
import type { WriteCommandOptions } from './commands/put.ts'
import type { RosterOptions } from './commands/roster.ts'
import type { StatusOptions } from './commands/status.ts'
import type { TestnetOptions } from './commands/testnet.ts'
import type { TokenCreateOptions, TokenRotateOptions } from './commands/token.ts'
import type { CommandContext } from './context.ts'
import type { OutputStreams } from './output.ts'
import type { ApiTarget, Client } from '../client/index.ts'

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
  timeout?: number
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
    .option('--timeout <duration>', `how long to wait for the daemon's answer: ms, or with a unit (500ms, 10s, 2m) (default: $P2PSTORE_TIMEOUT, else ${API_STATUS_TIMEOUT / second} s for status and peers, ${API_DATA_TIMEOUT / second} s for put, get and delete)`, durationArg)
    .configureHelp({ showGlobalOptions: true, optionDescription: describeOption })
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: text => { out.stdout(text) },
      writeErr: text => { out.stderr(text) },
      outputError: (text, write) => { write(`p2pstore: ${text.replace(/^error: /, '')}`) }
    })

  // the daemon the command talked to, for the next step of a timeout
  let target: ApiTarget | undefined
  const context = (cmd: Command): CommandContext => {
    const globals = cmd.optsWithGlobals<GlobalOptions>()
    const dataDir = path.resolve(globals.data ?? env('P2PSTORE_HOME') ?? path.join(os.homedir(), DEFAULT_DATADIR_NAME))
    let client: Client | undefined = environment.client
    return {
      out: out.withJson(globals.json === true),
      dataDir,
      // a closed stdout stops every command (see Output)
      signal: environment.signal == null ? out.closed : AbortSignal.any([environment.signal, out.closed]),
      client: async () => {
        if (client != null) return client
        const envTimeout = env('P2PSTORE_TIMEOUT')
        let timeout = globals.timeout
        if (timeout == null && envTimeout != null) {
          try {
            timeout = durationArg(envTimeout)
          } catch (err) {
            throw new InvalidConfigurationError(`P2PSTORE_TIMEOUT=${envTimeout}: ${(err as Error).message}`)
          }
        }
        target = await resolveApiTarget({
          api: globals.api ?? env('P2PSTORE_API'),
          dataDir,
          token: globals.token ?? env('P2PSTORE_TOKEN')
        })
        client = new HttpClient(target, timeout)
        return client
      }
    }
  }
  /** A deadline of ours (not one the daemon reported) gets the next steps: check the daemon, or wait longer. */
  const explained = (err: unknown, cmd: Command): unknown => {
    if (!(err instanceof TimeoutError) || target == null) return err
    return Object.assign(new TimeoutError(`${err.message}: is it paused, overloaded or stuck? check it with \`npx p2pstore --api ${target.url} --timeout 30s status\`, or give \`${cmd.name()}\` longer with --timeout (e.g. --timeout 1m)`), { cause: err })
  }

  const run = <A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command
      const ctx = context(cmd)
      try {
        exitCode = await handler(ctx, ...(args.slice(0, -1) as A))
      } catch (err) {
        // stdout closed: whatever failed after that (an aborted request) ends quietly
        exitCode = out.closedExitCode ?? ctx.out.error(explained(err, cmd))
      }
    }

  // long-running commands: ctx.signal fires on SIGINT/SIGTERM (or the environment's signal)
  const runUntilStopped = <A extends unknown[]>(handler: (ctx: CommandContext, ...args: A) => Promise<number>): ((...args: unknown[]) => Promise<void>) =>
    run(async (ctx, ...args: A) => {
      const stop = stopSignal(environment.signal)
      try {
        return await handler({ ...ctx, signal: AbortSignal.any([stop.signal, out.closed]) }, ...args)
      } finally {
        stop.dispose()
      }
    })

  const json = (): Option => new Option('--json', 'print JSON for scripts')
  const usageHint = (cmd: Command): Command => cmd.showHelpAfterError(`usage: p2pstore ${cmd.name()} ${cmd.usage()}\n(run \`npx p2pstore ${cmd.name()} --help\` for details)`)

  usageHint(program.command('init')
    .description('create the data dir, the peer identity and config.json, and a new closed network (or join one)')
    .option('--roster <file>', 'join the closed network of this roster (a copy of a member\'s <datadir>/roster)')
    .option('--network <id>', 'join the closed network with this id; the roster comes from the bootstrap peers')
    .option('--open', 'an open network: anyone who can reach the daemon reads and writes (see SECURITY.md)')
    .option('--operator-key <file>', 'where a new network\'s operator key goes (default <datadir>/operator.key)')
    .addOption(json())
    .action(run(async (ctx, opts: InitOptions) => (await import('./commands/init.ts')).initCommand(ctx, opts))))

  usageHint(program.command('roster')
    .description('show the closed network\'s roster, or add/remove members and sign the next one (needs the operator key)')
    .argument('<action>', 'show, add, remove or sign')
    .argument('[peer ids...]', 'members to add or remove')
    .option('--operator-key <file>', 'the operator key (default <datadir>/operator.key)')
    .option('--label <text>', 'add: a note stored with the members added')
    .addOption(json())
    .action(run(async (ctx, action: string, ids: string[], opts: RosterOptions) => (await import('./commands/roster.ts')).rosterCommand(ctx, action, ids, opts))))

  const daemon = program.command('daemon')
    .description('run a peer and its HTTP API in the foreground (initializes the data dir on first use)')
  // one flag per setting of SETTINGS (config.ts); each wins over the same key of config.json
  for (const option of settingOptions()) daemon.addOption(option)
  usageHint(daemon
    .option('--fault-injection', 'serve /v1/faults on the API (partitions; for test nets and `p2pstore check` only)')
    .option('--log-timestamps', 'prefix every output line with an ISO timestamp, after a `--- daemon started …` line (test nets use it for daemon.log)')
    .option('--insecure', 'allow an API beyond loopback without any token (open to anyone who can reach it)')
    .option('--init-token', 'if the data dir holds no API token, create an admin token and save it in <datadir>/api-token')
    .addOption(json())
    .action(run(async (ctx, opts: DaemonOptions) => (await import('./commands/daemon.ts')).daemonCommand(ctx, { ...opts, encryptionKey: env('P2PSTORE_ENCRYPTION_KEY') }))))

  usageHint(program.command('encryption')
    .description('encryption at rest of a stopped daemon\'s data dir: status, enable, rotate (--kek FILE rewraps under a new key), keygen FILE')
    .argument('<action>', 'status, enable, rotate or keygen')
    .argument('[file]', 'keygen: the key file to write (mode 0600)')
    .option('--encryption-key-file <file>', 'the data dir\'s key-encryption key (default: $P2PSTORE_ENCRYPTION_KEY, else config.json encryptionKeyFile)')
    .option('--kek <file>', 'rotate: rewrap every data key under this new key-encryption key instead (records are not rewritten)')
    .option('--force', 'keygen: replace FILE if it exists')
    .addOption(json())
    .action(run(async (ctx, action: string, file: string | undefined, opts: EncryptionOptions) =>
      (await import('./commands/encryption.ts')).encryptionCommand(ctx, action, file, { ...opts, encryptionKey: env('P2PSTORE_ENCRYPTION_KEY') }))))

  // --watch runs until Ctrl-C; a plain status or --check answers once (both stop on a closed stdout)
  const statusHandler = async (ctx: CommandContext, opts: StatusOptions): Promise<number> => (await import('./commands/status.ts')).statusCommand(ctx, opts)
  const runStatus = run(statusHandler)
  const watchStatus = runUntilStopped(statusHandler)
  usageHint(program.command('status')
    .description("show the daemon's peer id, addresses, uptime and connections; --check its health verdict as the exit code; --watch a live view")
    .option('--check', 'exit with the health verdict: 0 healthy, 1 degraded, 2 at risk, 3 unavailable or unreachable (monitoring-plugin codes)')
    .option('--watch', 'redraw the verdict, members, keys and traffic every second until Ctrl-C (a JSON line per change when not a terminal or with --json)')
    .addOption(json())
    .action(async (...args: unknown[]) => {
      const opts = args[0] as StatusOptions
      await (opts.watch === true ? watchStatus : runStatus)(...args)
    }))

  usageHint(program.command('members')
    .description('one row per member, problem rows first: state, peer id, address, zone, capacity, share of the keys, keys held (as nodetool status)')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/members.ts')).membersCommand(ctx))))

  usageHint(program.command('peers')
    .description('list the peers the daemon knows')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/peers.ts')).peersCommand(ctx))))

  usageHint(program.command('ring')
    .description('list every member with its zone, capacity, expected share of the keys and keys held (as nodetool ring)')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/ring.ts')).ringCommand(ctx))))

  usageHint(program.command('limits')
    .description('list every limit the daemon runs with (connections, streams, frames, quotas, API timeouts) and the worst-case memory each implies')
    .addOption(json())
    .action(run(async ctx => (await import('./commands/limits.ts')).limitsCommand(ctx))))

  const quorum = (name: 'n' | 'r' | 'w', what: string): Option => new Option(`--${name} <${name}>`, what).argParser(settingArg(name) ?? Number)

  usageHint(program.command('put')
    .description('store a value: VALUE, or standard input when omitted (binary-safe); --batch writes many keys from JSON lines on standard input')
    .argument('[key]', 'the key (1 byte to 1 KiB of UTF-8); none with --batch')
    .argument('[value]', 'the value; read from standard input when omitted')
    .option('--context <token>', 'the context of a previous get: replace exactly the siblings it saw')
    .option('--if-none-match', 'create only: refuse (exit 11) if the key has a value')
    .option('--if-match <token>', 'write only if the key holds exactly what this context (of a previous get) saw, else refuse (exit 11)')
    .option('--batch', 'read one JSON object per line from standard input ({"key": "k", "value": "v"}, optional encoding, context, ifNoneMatch, ifMatch) and write them in one request')
    .addOption(quorum('n', 'replicas for this write (default 3)'))
    .addOption(quorum('w', 'acknowledgements to wait for (default 2)'))
    .option('--strict', 'refuse sloppy quorum: only home replicas count towards --w')
    .option('--trace', 'print what the request did (replicas asked, replies, quorum, hints) as a timeline on stderr')
    .addOption(json())
    .action(run(async (ctx, key: string | undefined, value: string | undefined, opts: WriteCommandOptions & { batch?: boolean }) => {
      if (opts.batch === true) {
        if (key != null) throw new InvalidParametersError('put --batch reads keys and values from standard input: pass no KEY or VALUE')
        return (await import('./commands/batch.ts')).putBatchCommand(ctx, opts, environment.stdin ?? readStdin)
      }
      if (key == null) throw new InvalidParametersError('put needs a KEY (or --batch with JSON lines on standard input)')
      return (await import('./commands/put.ts')).putCommand(ctx, key, value, opts, environment.stdin ?? readStdin)
    })))

  usageHint(program.command('get')
    .description('read a value; several concurrent values print as siblings (exit 4); several keys are read in one batch request (exit 12 if any failed)')
    .argument('<keys...>', 'the key, or several')
    .addOption(quorum('n', 'replicas of the key (default 3)'))
    .addOption(quorum('r', 'replies to wait for (default 2)'))
    .addOption(new Option('--resolve <policy>', 'read-time resolution of siblings').choices(['lww']))
    .option('--trace', 'print what the request did (replicas asked, replies, quorum, read repairs) as a timeline on stderr')
    .addOption(json())
    .action(run(async (ctx, keys: string[], opts: GetCommandOptions) => {
      if (keys.length > 1) {
        if (opts.trace === true) throw new InvalidParametersError('--trace traces one request of one key: pass a single KEY')
        return (await import('./commands/batch.ts')).getManyCommand(ctx, keys, opts)
      }
      return (await import('./commands/get.ts')).getCommand(ctx, keys[0] ?? '', opts)
    })))

  usageHint(program.command('delete')
    .description('delete a key: reads it first (--r) and writes a tombstone over what it read; --context supersedes what an earlier get saw')
    .argument('<key>', 'the key')
    .option('--context <token>', 'the context of a previous get: delete exactly what it saw, without reading again')
    .option('--if-match <token>', 'delete only if the key holds exactly what this context (of a previous get) saw, else refuse (exit 11)')
    .option('--blind', 'write a tombstone without reading first: it supersedes nothing and becomes a sibling of any value there')
    .addOption(quorum('n', 'replicas for this write (default 3)'))
    .addOption(quorum('r', 'replies the read before the delete waits for (default 2)'))
    .addOption(quorum('w', 'acknowledgements to wait for (default 2)'))
    .option('--strict', 'refuse sloppy quorum: only home replicas count towards --w')
    .option('--trace', 'print what the request did (replicas asked, replies, quorum, hints) as a timeline on stderr')
    .addOption(json())
    .action(run(async (ctx, key: string, opts: WriteCommandOptions) => (await import('./commands/put.ts')).deleteCommand(ctx, key, opts))))

  usageHint(program.command('keys')
    .description('list the network\'s keys in bytewise order, one a line (pages through the daemon\'s listing as it prints)')
    .option('--prefix <text>', 'only keys starting with this text')
    .option('--limit <n>', 'stop after this many keys (default: every key)', positiveIntArg)
    .addOption(json())
    .action(run(async (ctx, opts: KeysCommandOptions) => (await import('./commands/keys.ts')).keysCommand(ctx, opts))))

  usageHint(program.command('locate')
    .description('where a key lives: its preference list with each peer\'s state, which replicas hold it (clocks, siblings), hinted copies')
    .argument('<key>', 'the key')
    .addOption(quorum('n', 'replicas of the key (default 3)'))
    .addOption(json())
    .action(run(async (ctx, key: string, opts: LocateCommandOptions) => (await import('./commands/locate.ts')).locateCommand(ctx, key, opts))))

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
    .option('--open', 'run an open network (default: closed, every peer on a roster signed by <dir>/operator.key)')
    .option('--netns', 'one network namespace per daemon (root; needs iproute2 and iptables): faults then act in the kernel')
    .option('--zones <a,b,c>', 'give the peers these zones, round-robin (peer 0 → a, 1 → b, …)', zonesArg)
    .option('--max-connections <n>', 'every daemon\'s connection budget (default: the daemon\'s own)', settingArg('maxConnections') ?? Number)
    .addOption(json())
    .action(runUntilStopped(async (ctx, opts: TestnetOptions) => (await import('./commands/testnet.ts')).testnetCommand(ctx, opts))))

  // `fault` takes the test net (--dir) and --json; each fault is a subcommand with its own arguments
  const fault = program.command('fault')
    .description('inject a fault into a running test net; peers are named by index, groups are comma-separated (0,1,2)\n(loss needs a test net started with `npx p2pstore testnet --netns`, as root with iptables)')
    .requiredOption('--dir <dir>', 'the test net directory (`npx p2pstore testnet --dir DIR`, or the one it printed)')
    .option('--one-way', 'partition: the first group cannot reach the second, the second can still reach the first')
    .addOption(json())
    .showHelpAfterError('usage: p2pstore fault --dir DIR <fault> [args…]  (faults: kill, restart, pause, resume, wipe, partition, isolate, bridge, loss, heal, status)\n(run `npx p2pstore fault --help` for details)')
  const faultCommand = (name: string, description: string): Command => fault.command(name).description(description)
    .showHelpAfterError(`(run \`npx p2pstore fault ${name} --help\` for details)`)
  const faultOpts = (): FaultOptions => fault.opts<FaultOptions>()
  const peerIndex = (): [string, string] => ['<index>', 'the peer, by index (see `fault status`)']
  const probabilityArg = (value: string): number => {
    const p = Number(value)
    if (value.trim() === '' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`the loss probability must be from 0 to 1, got "${value}"`)
    return p
  }
  faultCommand('kill', 'SIGKILL the peer: a crash, no leave, nothing flushed beyond what was synced').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).killFault(ctx, faultOpts(), i)))
  faultCommand('restart', 'start the peer again on its data dir and ports').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).restartFault(ctx, faultOpts(), i)))
  faultCommand('pause', 'SIGSTOP the peer: connected but silent, as a long GC pause').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).pauseFault(ctx, faultOpts(), i)))
  faultCommand('resume', 'SIGCONT a paused peer').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).resumeFault(ctx, faultOpts(), i)))
  faultCommand('wipe', 'kill the peer, delete its storage (identity kept) and restart it').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).wipeFault(ctx, faultOpts(), i)))
  faultCommand('partition', 'cut groups off from each other (--one-way: the first cannot reach the second)')
    .argument('<groups...>', 'two or more groups of peer indexes, e.g. 0,1 2,3,4')
    .action(run(async (ctx, groups: string[]) => (await import('./commands/fault.ts')).partitionFault(ctx, faultOpts(), groups)))
  faultCommand('isolate', 'the peer alone against the rest').argument(...peerIndex())
    .action(run(async (ctx, i: string) => (await import('./commands/fault.ts')).isolateFault(ctx, faultOpts(), i)))
  faultCommand('bridge', 'two sides that only the middle peers reach')
    .argument('<side>', 'peers of one side, e.g. 0,1').argument('<bridge>', 'the peers that reach both sides').argument('<other-side>', 'peers of the other side')
    .action(run(async (ctx, left: string, middle: string, right: string) => (await import('./commands/fault.ts')).bridgeFault(ctx, faultOpts(), [left, middle, right])))
  faultCommand('loss', 'drop a share of the packets arriving at the peer (only on a `testnet --netns` test net)').argument(...peerIndex())
    .argument('<probability>', 'from 0 to 1, e.g. 0.2; 0 removes it', probabilityArg)
    .action(run(async (ctx, i: string, p: number) => (await import('./commands/fault.ts')).lossFault(ctx, faultOpts(), i, p)))
  faultCommand('heal', 'lift every partition and loss')
    .action(run(async ctx => (await import('./commands/fault.ts')).healFault(ctx, faultOpts())))
  faultCommand('status', "every peer's process state: running, paused or stopped")
    .action(run(async ctx => (await import('./commands/fault.ts')).statusFault(ctx, faultOpts())))

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
    .option('--max-connections <n>', 'every daemon\'s connection budget (default: the daemon\'s own)', settingArg('maxConnections') ?? Number)
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
    .option('--grace <duration>', 'keep the old secret working this long: 24h, 30m (default 0: refused at once)', durationOrZeroArg)
    .addOption(save())
    .action(run(async (ctx, id: string, opts: TokenRotateOptions) => (await import('./commands/token.ts')).tokenRotateCommand(ctx, id, opts)))

  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      const shown = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)
      exitCode = shown ? EXIT.ok : EXIT.badInput
    } else {
      exitCode = out.error(err)
    }
  }
  // stdout is a pipe whose reader may have gone: find out before choosing the exit code
  await out.flush()
  return out.closedExitCode ?? exitCode
}

/** commander's option description, plus `(required)` on mandatory options. */
function describeOption (option: Option): string {
  const text = Help.prototype.optionDescription.call(new Help(), option)
  return option.mandatory ? `${text} (required)` : text
}

/** A duration's units in milliseconds (`--timeout`, `--expires-in`, `--grace`). */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: second, m: 60 * second, h: 3600 * second, d: 86_400 * second, w: 604_800 * second }

/** `500`, `500ms`, `2.5s`, `1m`, `24h`, `30d`, `2w` → milliseconds (a bare number is milliseconds); at least 1 ms. */
export function durationArg (value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(value.trim())
  const ms = match == null ? NaN : Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? NaN)
  if (!Number.isFinite(ms) || ms < 1) throw new InvalidArgumentError('expected a duration: milliseconds, or a number with ms, s, m, h, d or w (e.g. 500ms, 10s, 24h, 30d)')
  return Math.round(ms)
}

/** Like `durationArg`, but `0` is a value too (e.g. `--grace 0`: no grace). */
function durationOrZeroArg (value: string): number {
  return value.trim() === '0' ? 0 : durationArg(value)
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

function zonesArg (value: string): string[] {
  const zones = value.split(',').map(z => z.trim())
  if (zones.some(z => z === '')) throw new InvalidArgumentError('expected zone labels separated by commas, e.g. a,b,c')
  return zones
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
