import { Daemon, startSeparator, stopOnSignals, timestampLines } from '../../daemon.ts'
import { settingFlags } from '../settings.ts'
import type { Peer } from '../../peer.ts'
import type { CommandContext } from '../context.ts'
import type { SettingOptions } from '../settings.ts'

/**
 * Flags of `p2pstore daemon`: one per setting of SETTINGS (config.ts; each overrides the same key
 * of `<datadir>/config.json`, see `settingFlags()`), plus these, which are not settings.
 */
export interface DaemonOptions extends SettingOptions {
  /** serve `/v1/faults` (test nets and `p2pstore check` only) */
  faultInjection?: boolean
  /** prefix every line of output with an ISO timestamp, and start with a separator line (test nets' daemon.log) */
  logTimestamps?: boolean
  /** `$P2PSTORE_ENCRYPTION_KEY` (base64), passed by the CLI */
  encryptionKey?: string
  insecure?: boolean
  initToken?: boolean
}

function networkLine (peer: Peer | undefined): string {
  const pnet = peer?.config.swarmKey == null ? '' : ' + swarm key'
  if (peer == null) return 'unknown'
  if (peer.admission.open) return pnet === '' ? 'OPEN (no roster: anyone who reaches it reads and writes)' : 'private (swarm key only, no roster)'
  const roster = peer.roster
  return roster == null
    ? `closed: network ${peer.admission.network ?? ''}, waiting for its roster from a bootstrap peer${pnet}`
    : `closed: network ${roster.network}, roster ${roster.sequence} (${roster.members.length} members)${pnet}`
}

/**
 * `p2pstore daemon`: runs a peer and its API in the foreground until SIGINT/SIGTERM, then stops
 * cleanly and resolves with exit code 0. First use of a data dir initializes it.
 */
export async function daemonCommand (ctx: CommandContext, opts: DaemonOptions): Promise<number> {
  const flags = settingFlags(opts)
  if (opts.logTimestamps === true) {
    // a log file shared by every start of this daemon: where each one begins, and when each line was
    ctx.out.info(startSeparator())
    timestampLines(process.stdout)
    timestampLines(process.stderr)
  }
  const daemon = new Daemon({
    dataDir: ctx.dataDir,
    flags,
    faultInjection: opts.faultInjection,
    encryptionKey: opts.encryptionKey,
    insecure: opts.insecure,
    initToken: opts.initToken,
    // before the peer starts: the first join attempt happens during start()
    onPeer: peer => {
      peer.addEventListener('join:retry', ({ detail }) => {
        ctx.out.info(`bootstrap: no peer answered (attempt ${detail.attempt}); retrying in ${(detail.delayMs / 1000).toFixed(1)} s`)
        for (const error of detail.errors) ctx.out.info(`  ${error}`)
        // with a swarm key, a peer of another private network (or of none) resets the connection
        // or leaves the handshake hanging: the words libp2p has for it say nothing of keys
        if (peer.config.swarmKey != null && detail.errors.some(e => SWARM_KEY_SYMPTOMS.test(e) && !e.includes('swarm keys'))) {
          ctx.out.info('  this daemon runs with a swarm key: if those peers are up, the swarm keys probably differ (every peer needs the same --swarm-key file)')
        }
      })
      peer.addEventListener('join:joined', ({ detail }) => {
        ctx.out.info(`joined the network via ${detail.via.join(', ')}; lookup found ${detail.discovered} peers`)
      })
      // one plain line per ban and per unban, also with --json, for a log watcher to act on
      peer.addEventListener('peer:banned', ({ detail }) => { ctx.out.progress(detail.line) })
      peer.addEventListener('peer:unbanned', ({ detail }) => { ctx.out.progress(detail.line) })
      peer.addEventListener('join:isolated', () => {
        ctx.out.info('lost every connection; joining again through the bootstrap peers')
      })
    }
  })
  const done = new Promise<number>(resolve => {
    stopOnSignals(daemon, resolve, message => { ctx.out.info(message) })
  })

  const info = await daemon.start()
  for (const warning of info.warnings ?? []) ctx.out.progress(`warning: ${warning}`)
  if (info.apiAuth === 'open' && opts.insecure === true) {
    ctx.out.progress(`WARNING: --insecure: the API at ${info.api} demands no token; anyone who can reach it can read, write and delete every key`)
  }
  const peer = daemon.node

  ctx.out.result({ event: 'ready', ...info }, () => {
    ctx.out.table([
      ['peer id', info.peerId],
      ['data dir', info.dataDir],
      ['API', info.api],
      ['network', networkLine(peer)],
      ...info.multiaddrs.map((ma, i): [string, string] => [i === 0 ? 'listening' : '', ma])
    ])
    ctx.out.line('daemon is ready (Ctrl-C to stop)')
  })
  if (peer?.admission.open === true) {
    const beyondLoopback = info.multiaddrs.some(ma => !/^\/ip[46]\/(127\.|::1\/)/.test(ma)) || (peer.config.listen.some(ma => /^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//.test(ma)))
    ctx.out.info(beyondLoopback
      ? 'WARNING: OPEN NETWORK LISTENING BEYOND LOOPBACK: any libp2p peer that can reach these addresses can read, overwrite and delete every key and join the membership. Run `p2pstore init` for a closed network (see SECURITY.md).'
      : 'warning: open network: any libp2p peer that reaches this daemon can read and write every key (SECURITY.md)')
  }
  // a test-net launcher that spawned us with an IPC channel learns our addresses this way
  process.send?.({ type: 'ready', info })

  const code = await done
  ctx.out.info(code === 0 ? 'stopped' : 'stopped with errors')
  return code
}

/** How a dial to a peer with another swarm key (or none) fails on this side. */
const SWARM_KEY_SYMPTOMS = /ECONNRESET|aborted due to timeout|TimeoutError/
