/**
 * The daemon process: a `Peer` from the data dir's identity and config, the HTTP API in front of
 * it, the `<datadir>/api` file that tells the CLI where the API is, and clean shutdown on SIGINT /
 * SIGTERM. `peer.ts` never imports this file; the CLI's `daemon` and `testnet` commands do.
 *
 * @packageDocumentation
 */

import fs from 'node:fs/promises'
import { InvalidParametersError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { createApiServer, isLoopbackHost } from './api/index.ts'
import { deprecatedKeys, readBootstrapFile, resolveDaemonConfig } from './config.ts'
import { DATADIR_FILES, PROFILES, ROSTER_FILE_POLL_INTERVAL, SHUTDOWN_TIMEOUT } from './constants.ts'
import { DataDir } from './datadir/index.ts'
import { AddressInUseError } from './errors.ts'
import { limitsReport } from './limits/index.ts'
import { createPeer } from './peer.ts'
import { dearmourRoster } from './roster/index.ts'
import { encryptionKeyWarnings, resolveEncryptionKey } from './storage/index.ts'
import { RepeatingTask } from './tasks/index.ts'
import { openDaemonTokens } from './tokens/index.ts'
import type { DaemonFlags } from './config.ts'
import type { Peer } from './peer.ts'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'

/** Options of `Daemon`. */
export interface DaemonInit {
  /** the data dir; created on first run */
  dataDir: string
  /** settings given on the command line; they win over `config.json` */
  flags?: DaemonFlags
  /**
   * Serve the fault-injection routes (`/v1/faults`: partitions) on the API. Only test nets and the
   * consistency checker turn this on; it is not a `config.json` setting.
   *
   * @default false
   */
  faultInjection?: boolean
  /**
   * The key-encryption key of encryption at rest as base64 (the CLI passes
   * `$P2PSTORE_ENCRYPTION_KEY`); `flags.encryptionKeyFile` wins over it, and it over config.json's.
   *
   * @default undefined
   */
  encryptionKey?: string
  /**
   * Start with the API bound beyond loopback although the data dir holds no API token: the API is
   * then open to anyone who can reach it. Never a `config.json` setting.
   *
   * @default false
   */
  insecure?: boolean
  /** When the data dir holds no API token, create an admin token and save it in `<datadir>/api-token`. @default false */
  initToken?: boolean
  /** @default defaultLogger() */
  logger?: ComponentLogger
  /**
   * Called with the peer after it is built and before it starts, so that listeners see its first
   * events (the first `join:retry` is dispatched during `start()`).
   *
   * @default undefined
   */
  onPeer?(peer: Peer): void
}

/** What a started daemon reports (and sends to a test-net launcher over IPC). */
export interface DaemonInfo {
  peerId: string
  api: string
  multiaddrs: string[]
  dataDir: string
  /** what the operator should fix (e.g. the encryption key file on the data dir's disk) */
  warnings?: string[]
  /** `tokens`: the API demands a token; `open`: it serves anyone who can reach it */
  apiAuth: 'tokens' | 'open'
}

/** A peer plus its HTTP API, bound to one data dir. */
export class Daemon {
  readonly dataDir: DataDir
  private readonly init: DaemonInit
  private readonly log: Logger
  private peer?: Peer
  private api?: FastifyInstance
  private stopping?: Promise<void>
  private rosterWatch?: RepeatingTask

  constructor (init: DaemonInit) {
    this.init = init
    this.dataDir = new DataDir(init.dataDir)
    this.log = (init.logger ?? defaultLogger()).forComponent('p2pstore:daemon')
  }

  /** The running peer (after `start()`). */
  get node (): Peer | undefined {
    return this.peer
  }

  /**
   * Opens and locks the data dir, starts the peer and the API, and writes `<datadir>/api`. On any
   * failure everything already started is stopped again before the error is thrown.
   */
  async start (): Promise<DaemonInfo> {
    const { privateKey } = await this.dataDir.open()
    await this.dataDir.lock()
    try {
      const file = await this.dataDir.readConfig()
      const config = resolveDaemonConfig(this.init.flags ?? {}, file)
      for (const { alias, key } of deprecatedKeys(file)) this.log('config.json: "%s" is a deprecated name of "%s"; rename it', alias, key)
      // before the peer starts: a daemon that must not serve its API fails fast
      const tokens = await openDaemonTokens(this.dataDir, { apiHost: config.apiHost, beyondLoopback: !isLoopbackHost(config.apiHost), insecure: this.init.insecure, initToken: this.init.initToken })
      for (const note of tokens.notes) this.log(note)
      const bootstrap = [...config.bootstrap]
      for (const file of config.bootstrapFiles) bootstrap.push(...await readBootstrapFile(file))
      const swarmKey = config.swarmKeyFile == null ? undefined : await readSwarmKey(config.swarmKeyFile)
      const encryptionKey = await resolveEncryptionKey(this.init.flags?.encryptionKeyFile, this.init.encryptionKey) ??
        await resolveEncryptionKey(config.encryptionKeyFile, undefined)
      const warnings = encryptionKey?.file == null ? [] : await encryptionKeyWarnings(encryptionKey.file, this.dataDir.path)
      for (const warning of warnings) this.log.error('warning: %s', warning)

      this.peer = await createPeer({
        dataDir: this.dataDir.path,
        privateKey,
        listen: config.listen,
        announce: config.announce,
        bootstrap,
        swarmKey,
        allow: config.allow,
        maxConnections: config.maxConnections,
        maxConnectionsPerIp: config.maxConnectionsPerIp,
        maxConnectionsPerRange: config.maxConnectionsPerRange,
        inboundConnectionRate: config.inboundConnectionRate,
        maxPendingConnections: config.maxPendingConnections,
        inboundUpgradeTimeout: config.inboundUpgradeTimeout,
        streamWriteBuffer: config.streamWriteBuffer,
        slowReaderTimeout: config.slowReaderTimeout,
        writeMemoryPerPeer: config.writeMemoryPerPeer,
        writeMemoryTotal: config.writeMemoryTotal,
        penaltyHalfLife: config.penaltyHalfLife,
        banThreshold: config.banThreshold,
        banDuration: config.banDuration,
        frameMemoryPerPeer: config.frameMemoryPerPeer,
        frameMemoryTotal: config.frameMemoryTotal,
        kvPeerRequestRate: config.kvPeerRequestRate,
        kvPeerRequestBurst: config.kvPeerRequestBurst,
        kvPeerByteRate: config.kvPeerByteRate,
        kvPeerByteBurst: config.kvPeerByteBurst,
        kvPeerMaxInFlight: config.kvPeerMaxInFlight,
        kvGlobalRequestRate: config.kvGlobalRequestRate,
        hintedBytesPerPeer: config.hintedBytesPerPeer,
        hintedBytesTotal: config.hintedBytesTotal,
        dhtRefreshInterval: config.dhtRefreshInterval,
        n: config.n,
        r: config.r,
        w: config.w,
        sync: config.sync,
        syncReads: config.syncReads,
        encryption: encryptionKey == null
          ? undefined
          : {
              key: encryptionKey.key,
              keySource: encryptionKey.source,
              rotateInterval: config.encryptionRotateInterval,
              onProgress: (done, total) => { this.log('encrypting the data dir: %d of %d records', done, total) }
            },
        // gossip, handoff, anti-entropy and tombstone-grace timing
        ...PROFILES[config.profile],
        open: config.open,
        capacity: config.capacity,
        zone: config.zone,
        logger: this.init.logger,
        start: false
      })
      this.init.onPeer?.(this.peer)
      await this.peer.start()
      this.watchRoster(this.peer)

      this.api = createApiServer({
        peer: this.peer,
        tokens,
        faults: this.init.faultInjection === true ? this.peer : undefined,
        limitsReport: limitsReport(config),
        maxValueBytes: config.apiBodyLimit,
        authFailureLimit: config.apiAuthFailureLimit,
        limits: {
          requestTimeout: config.apiRequestTimeout,
          headersTimeout: config.apiHeadersTimeout,
          maxConnections: config.apiMaxConnections,
          maxConnectionsPerIp: config.apiMaxConnectionsPerIp
        }
      })
      let url: string
      try {
        url = await this.api.listen({ host: config.apiHost, port: config.apiPort })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new AddressInUseError(`cannot start the API on ${config.apiHost}:${config.apiPort}: address already in use`, { cause: err })
        }
        throw err
      }
      await this.dataDir.writeText(DATADIR_FILES.api, `${url}\n`)
      this.log('API listening on %s', url)

      return {
        peerId: this.peer.peerId.toString(),
        api: url,
        multiaddrs: this.peer.getMultiaddrs().map(ma => ma.toString()),
        dataDir: this.dataDir.path,
        ...(warnings.length > 0 ? { warnings } : {}),
        apiAuth: tokens.required || tokens.store.entries().length > 0 ? 'tokens' : 'open'
      }
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Removes the api file, closes the API, stops the peer, releases the lock. Idempotent. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.rosterWatch?.stop()
      await this.dataDir.remove(DATADIR_FILES.api).catch(() => {})
      await this.api?.close()
      await this.peer?.stop()
      await this.dataDir.unlock()
    })()
    return this.stopping
  }

  /**
   * Looks at `<datadir>/roster` every ROSTER_FILE_POLL_INTERVAL: a newer roster written there (by
   * `p2pstore roster add|remove` on this data dir) is adopted, enforced and pushed to every member.
   */
  private watchRoster (peer: Peer): void {
    if (peer.admission.open) return
    const file = DATADIR_FILES.roster
    // a stat per check; the file is read and verified only when it changed (it is written atomically)
    let seen = this.dataDir.fileStamp(file)
    this.rosterWatch = new RepeatingTask(async () => {
      const stamp = this.dataDir.fileStamp(file)
      if (stamp == null || stamp === seen) return
      seen = stamp
      const text = await this.dataDir.readText(file)
      if (text == null) return
      const held = peer.roster?.sequence ?? 0n
      const adopted = await peer.updateRoster(dearmourRoster(text)).catch((err: Error) => {
        if (err.name !== 'StaleRosterError') this.log.error('cannot adopt %s - %e', this.dataDir.file(file), err)
        return undefined
      })
      if (adopted != null) this.log('roster file: adopted sequence %s (held %s)', adopted.sequence, held)
    }, { interval: ROSTER_FILE_POLL_INTERVAL, log: this.log, name: 'roster file check' })
    this.rosterWatch.start()
  }
}

/** What `timestampLines()` needs of a stream: its `write`. */
export interface WritableLines {
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean
}

/**
 * Prefixes every line written to `stream` from now on with an ISO timestamp and a space, so a
 * daemon's log file (a test net's `daemon.log`) says when each line happened. Lines split across
 * writes get one prefix. Used by `p2pstore daemon --log-timestamps`; DEBUG logs then run with
 * `DEBUG_HIDE_DATE` so that they carry one timestamp, not two.
 */
export function timestampLines (stream: WritableLines, now: () => Date = () => new Date()): void {
  const write = stream.write.bind(stream)
  let atLineStart = true
  stream.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (text === '') return write(chunk, ...rest)
    const stamp = `${now().toISOString()} `
    const lines = text.split('\n')
    // the last piece is the start of a line not yet ended (empty after a final newline)
    const stamped = lines.map((line, i) => {
      const starts = i === 0 ? atLineStart : true
      return starts && !(i === lines.length - 1 && line === '') ? stamp + line : line
    }).join('\n')
    atLineStart = text.endsWith('\n')
    return write(stamped, ...rest)
  }
}

/** The line a daemon writes first to a log shared across its restarts. */
export function startSeparator (pid: number = process.pid, now: Date = new Date()): string {
  return `--- daemon started ${now.toISOString()} (pid ${pid}) ---`
}

/** Reads a swarm key file written by `p2pstore keygen --swarm-key` (libp2p pnet format). */
export async function readSwarmKey (file: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(file)
  } catch (err) {
    throw new InvalidParametersError(`cannot read swarm key ${file}: ${(err as Error).message}; create one with \`p2pstore keygen --swarm-key ${file}\``)
  }
  if (!SWARM_KEY_FORMAT.test(new TextDecoder().decode(bytes))) {
    throw new InvalidParametersError(`${file} is not a swarm key (expected /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits on three lines); create one with \`p2pstore keygen --swarm-key FILE\``)
  }
  return bytes
}

/** The libp2p pnet v1 swarm key file: tag, codec, 32 bytes in hex. */
const SWARM_KEY_FORMAT = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n[0-9a-fA-F]{64}\s*$/

/**
 * Runs `daemon.stop()` on SIGINT / SIGTERM (and when an IPC parent, such as a test-net launcher,
 * goes away), then calls `exit(code)`: 0 after a clean stop, 1 when the stop failed or took longer
 * than `SHUTDOWN_TIMEOUT`. A second signal exits at once.
 */
export function stopOnSignals (daemon: Daemon, exit: (code: number) => void, report?: (message: string) => void): () => void {
  let stopping = false
  const handler = (reason: string): void => {
    if (stopping) {
      report?.(`${reason} again: exiting without waiting for a clean stop`)
      exit(1)
      return
    }
    stopping = true
    report?.(`${reason}: stopping…`)
    const timer = setTimeout(() => {
      report?.(`clean stop took longer than ${SHUTDOWN_TIMEOUT / 1000} s: exiting anyway`)
      exit(1)
    }, SHUTDOWN_TIMEOUT)
    timer.unref()
    daemon.stop().then(() => { exit(0) }, (err: Error) => {
      report?.(`stop failed: ${err.message}`)
      exit(1)
    })
  }
  const onSigint = (): void => { handler('SIGINT') }
  const onSigterm = (): void => { handler('SIGTERM') }
  const onDisconnect = (): void => { handler('parent process exited') }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigterm)
  if (process.send != null) process.on('disconnect', onDisconnect)
  return () => {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigterm)
    process.off('disconnect', onDisconnect)
  }
}
