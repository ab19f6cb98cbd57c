/**
 * Spawning one `p2pstore daemon` of a process test net and waiting until it reports itself ready.
 */

import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AbortError } from '@libp2p/interface'
import { TestnetError } from '../../errors.ts'
import type { DaemonPorts } from './ports.ts'
import type { ProfileName } from '../../constants.ts'
import type { DaemonInfo } from '../../daemon.ts'
import type { ChildProcess } from 'node:child_process'

/** How to start one daemon. */
export interface DaemonSpawnInit {
  dataDir: string
  /** the address it listens and serves its API on */
  host: string
  ports: DaemonPorts
  bootstrap: string[]
  /** the range exempt from the inbound rate limit (every peer of a test net is one host to it); none if undefined */
  allow?: string
  /** ask the daemon for an admin API token (an API beyond loopback needs one) */
  initToken: boolean
  dhtRefreshInterval?: number
  faultInjection?: boolean
  swarmKeyFile?: string
  open?: boolean
  /** the daemon's zone (`--zone`), for test nets spread over zones */
  zone?: string
  /** the daemon's connection budget (`--max-connections`). @default the daemon's own */
  maxConnections?: number
  /** the daemon's timing profile (`--profile`) */
  profile: ProfileName
  /** flags for node itself, before the script (e.g. `--cpu-prof`) */
  nodeArgs?: string[]
  /** an IPC channel: the daemon reports ready over it, and exits when this process dies */
  ipc: boolean
  /** rewrites the command line, e.g. to run it inside a network namespace */
  wrap?(command: string, args: string[]): { command: string, args: string[] }
}

/** A spawned daemon. */
export interface SpawnedDaemon {
  process: ChildProcess
  /** resolves with the exit code once it exits */
  exited: Promise<number | null>
  logFile: string
}

/** Spawns `p2pstore daemon` with its output appended to `<dataDir>/daemon.log`. */
export function spawnDaemon (init: DaemonSpawnInit): SpawnedDaemon {
  const logFile = path.join(init.dataDir, 'daemon.log')
  const args = [
    ...(init.nodeArgs ?? []),
    cliPath(), 'daemon',
    '--data', init.dataDir,
    '--listen', `/ip4/${init.host}/tcp/${init.ports.listenPort ?? 0}`,
    '--api-host', init.host,
    '--api-port', String(init.ports.apiPort ?? 0),
    // off loopback the API needs a token: an admin token whose secret apiToken() reads
    ...(init.initToken ? ['--init-token'] : []),
    ...(init.allow == null ? [] : ['--allow', init.allow]),
    // the daemon's own default unless asked: SWIM's probes connect every member to every other,
    // which fills the routing tables, and a self-query every 5 s cost 1.1 % of a core per idle daemon
    ...(init.dhtRefreshInterval == null ? [] : ['--dht-refresh-interval', String(init.dhtRefreshInterval)]),
    '--profile', init.profile,
    '--log-timestamps',
    ...(init.faultInjection === false ? [] : ['--fault-injection']),
    ...init.bootstrap.flatMap(ma => ['--bootstrap', ma]),
    ...(init.swarmKeyFile == null ? [] : ['--swarm-key', init.swarmKeyFile]),
    ...(init.open === true ? ['--open'] : []),
    ...(init.zone == null ? [] : ['--zone', init.zone]),
    ...(init.maxConnections == null ? [] : ['--max-connections', String(init.maxConnections)])
  ]
  const log = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    // own process group: a terminal's Ctrl-C reaches only the launcher, which then stops every
    // daemon once, in order; the IPC channel still ends a daemon whose launcher died. An attached
    // controller is short-lived: its daemons get no channel and outlive it.
    // `ip netns exec` execs the daemon after entering the namespace: the child's pid is the
    // daemon's, and the IPC channel's descriptor is inherited through the exec
    const command = init.wrap?.(process.execPath, args) ?? { command: process.execPath, args }
    // the daemon stamps its own lines (--log-timestamps): DEBUG logs would carry a second date
    const env = { ...process.env, DEBUG_HIDE_DATE: 'true' }
    child = spawn(command.command, command.args, { stdio: ['ignore', log, log, ...(init.ipc ? ['ipc' as const] : [])], detached: true, env })
  } finally {
    closeSync(log)
  }
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
  return { process: child, exited, logFile }
}

/**
 * Resolves with what the daemon reports over its IPC channel once it is ready; rejects when it
 * exits first, after `timeout` ms, or with an `AbortError` when `signal` fires.
 */
export async function daemonReady (daemon: SpawnedDaemon, name: string, timeout: number, signal?: AbortSignal): Promise<DaemonInfo> {
  return new Promise<DaemonInfo>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortError(`stopped while ${name} was starting`))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      reject(new TestnetError(`${name} did not start within ${timeout / 1000} s; see ${daemon.logFile}`))
    }, timeout)
    signal?.addEventListener('abort', onAbort, { once: true })
    daemon.process.on('message', (message: { type?: string, info?: DaemonInfo }) => {
      if (message.type === 'ready' && message.info != null) {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(message.info)
      }
    })
    void daemon.exited.then(code => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      reject(new TestnetError(`${name} exited with code ${code} while starting: ${tail(daemon.logFile)}`))
    })
  })
}

/** The last three lines of a log, for an error message. */
function tail (file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    return lines.slice(-3).join(' | ')
  } catch {
    return `(no log at ${file})`
  }
}

/** `bin/p2pstore.js` of this package, found from this module's location (src/ under tsx, dist/src/ when built). */
export function cliPath (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = path.join(dir, 'bin', 'p2pstore.js')
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) throw new TestnetError('cannot find bin/p2pstore.js of this package')
    dir = parent
  }
}

/** Throws an `AbortError` when `signal` has fired. */
export function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError(`stopped (${abortReason(signal)})`)
}

/** Why `signal` fired, in words. */
export function abortReason (signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : 'stop requested'
}
