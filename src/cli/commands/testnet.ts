import { ProcessTestnet } from '../../testnet/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore testnet`. */
export interface TestnetOptions {
  peers: number
  dir?: string
  swarmKey?: string
  netns?: boolean
  open?: boolean
  /** zones, round-robin (`--zones a,b,c`) */
  zones?: string[]
  /** every daemon's connection budget (`--max-connections`) */
  maxConnections?: number
}

/**
 * `p2pstore testnet --peers N`: N daemons as processes on 127.0.0.1, in the foreground until
 * SIGINT/SIGTERM; writes `<dir>/testnet.json` once every peer knows every other. A stop during
 * start-up abandons it: what was spawned is stopped, a temp dir removed, and the command fails
 * with an `AbortError` (exit 9) without ever saying "ready".
 */
export async function testnetCommand (ctx: CommandContext, opts: TestnetOptions): Promise<number> {
  let lastLine = ''
  const progress = (line: string): void => {
    if (line !== lastLine) ctx.out.info(line)
    lastLine = line
  }
  const net = new ProcessTestnet({
    peers: opts.peers,
    dir: opts.dir,
    swarmKeyFile: opts.swarmKey,
    netns: opts.netns,
    onNotice: message => { ctx.out.info(message) },
    open: opts.open,
    zones: opts.zones,
    maxConnections: opts.maxConnections,
    onProgress: p => {
      if (p.phase === 'starting') progress(`starting peers: ${p.started}/${p.total}`)
      else if (p.phase === 'joining') progress(`joining: ${p.settled}/${p.total} peers know every other peer`)
      else progress(`test net ready in ${(p.elapsedMs / 1000).toFixed(1)} s`)
    }
  })

  const stopRequested = new Promise<string>(resolve => {
    if (ctx.signal.aborted) resolve(String(ctx.signal.reason ?? 'stop requested'))
    ctx.signal.addEventListener('abort', () => { resolve(String(ctx.signal.reason ?? 'stop requested')) }, { once: true })
  })
  void stopRequested.then(reason => {
    if (net.peers.length === 0) ctx.out.info(`${reason}: abandoning the start-up and stopping what was started…`)
  })

  // rejects with an AbortError once it has cleaned up after a stop during start-up
  const peers = await net.start({ signal: ctx.signal })

  const first = peers[0]
  const bootstrap = first == null ? undefined : withPeerId(first.multiaddrs[0], first.peerId)
  ctx.out.result({ dir: net.dir, file: net.file, bootstrap, peers }, () => {
    ctx.out.columns(['INDEX', 'PEER ID', 'API'], peers.map(p => [String(p.index), p.peerId, p.api]))
    ctx.out.line()
    ctx.out.line(`test net:       ${net.dir} (peers in ${net.file})`)
    if (bootstrap != null) ctx.out.line(`bootstrap from: ${bootstrap}`)
    ctx.out.line(`try:            npx p2pstore --api ${first?.api ?? ''} peers`)
    ctx.out.line(`faults:         npx p2pstore fault --dir ${net.dir} status`)
    ctx.out.line('Ctrl-C stops every peer')
  })

  const reason = await stopRequested
  ctx.out.info(`${reason}: stopping ${peers.length} peers…`)
  await net.stop()
  ctx.out.info('test net stopped')
  return 0
}

/** `ma` ending in `/p2p/<peerId>`, as a bootstrap address must. */
function withPeerId (ma: string | undefined, peerId: string): string | undefined {
  if (ma == null) return undefined
  return ma.endsWith(`/p2p/${peerId}`) ? ma : `${ma}/p2p/${peerId}`
}
