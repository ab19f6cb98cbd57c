import { Daemon, stopOnSignals } from '../../daemon.ts'
import type { DaemonConfig } from '../../config.ts'
import type { CommandContext } from '../context.ts'

/** Flags of `p2pstore daemon`; each overrides the same key of `<datadir>/config.json`. */
export interface DaemonOptions {
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  bootstrapFile?: string[]
  swarmKey?: string
  apiHost?: string
  apiPort?: number
  allow?: string[]
  dhtRefreshInterval?: number
  gossip?: 'default' | 'testnet'
  faultInjection?: boolean
  insecure?: boolean
  initToken?: boolean
}

/**
 * `p2pstore daemon`: runs a peer and its API in the foreground until SIGINT/SIGTERM, then stops
 * cleanly and resolves with exit code 0. First use of a data dir initializes it.
 */
export async function daemonCommand (ctx: CommandContext, opts: DaemonOptions): Promise<number> {
  const flags: Partial<DaemonConfig> = {
    listen: opts.listen,
    announce: opts.announce,
    bootstrap: opts.bootstrap,
    bootstrapFiles: opts.bootstrapFile,
    swarmKeyFile: opts.swarmKey,
    apiHost: opts.apiHost,
    apiPort: opts.apiPort,
    allow: opts.allow,
    dhtRefreshInterval: opts.dhtRefreshInterval,
    gossip: opts.gossip
  }
  const daemon = new Daemon({ dataDir: ctx.dataDir, flags, faultInjection: opts.faultInjection, insecure: opts.insecure, initToken: opts.initToken })
  const done = new Promise<number>(resolve => {
    stopOnSignals(daemon, resolve, message => { ctx.out.info(message) })
  })

  const info = await daemon.start()
  if (info.apiAuth === 'open' && opts.insecure === true) {
    ctx.out.progress(`WARNING: --insecure: the API at ${info.api} demands no token; anyone who can reach it can read, write and delete every key`)
  }
  const peer = daemon.node
  peer?.addEventListener('join:retry', ({ detail }) => {
    ctx.out.info(`bootstrap: no peer answered (attempt ${detail.attempt}); retrying in ${(detail.delayMs / 1000).toFixed(1)} s`)
    for (const error of detail.errors) ctx.out.info(`  ${error}`)
  })
  peer?.addEventListener('join:joined', ({ detail }) => {
    ctx.out.info(`joined the network via ${detail.via.join(', ')}; lookup found ${detail.discovered} peers`)
  })
  peer?.addEventListener('join:isolated', () => {
    ctx.out.info('lost every connection; joining again through the bootstrap peers')
  })

  ctx.out.result({ event: 'ready', ...info }, () => {
    ctx.out.table([
      ['peer id', info.peerId],
      ['data dir', info.dataDir],
      ['API', info.api],
      ['network', flags.swarmKeyFile == null && peer?.config.swarmKey == null ? 'public' : 'private (swarm key)'],
      ...info.multiaddrs.map((ma, i): [string, string] => [i === 0 ? 'listening' : '', ma])
    ])
    ctx.out.line('daemon is ready (Ctrl-C to stop)')
  })
  // a test-net launcher that spawned us with an IPC channel learns our addresses this way
  process.send?.({ type: 'ready', info })

  const code = await done
  ctx.out.info(code === 0 ? 'stopped' : 'stopped with errors')
  return code
}
