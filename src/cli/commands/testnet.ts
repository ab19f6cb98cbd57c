import { ProcessTestnet } from '../../testnet/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore testnet`. */
export interface TestnetOptions {
  peers: number
  dir?: string
  swarmKey?: string
  netns?: boolean
  open?: boolean
}

/**
 * `p2pstore testnet --peers N`: N daemons as processes on 127.0.0.1, in the foreground until
 * SIGINT/SIGTERM; writes `<dir>/testnet.json` once every peer knows every other.
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
    open: opts.open,
    onProgress: p => {
      if (p.phase === 'starting') progress(`starting peers: ${p.started}/${p.total}`)
      else if (p.phase === 'joining') progress(`joining: ${p.settled}/${p.total} peers know every other peer`)
      else progress(`test net ready in ${(p.elapsedMs / 1000).toFixed(1)} s`)
    }
  })

  const stopRequested = new Promise<string>(resolve => {
    if (ctx.signal.aborted) resolve('stop requested')
    ctx.signal.addEventListener('abort', () => { resolve(String(ctx.signal.reason ?? 'stop requested')) }, { once: true })
  })

  const started = net.start()
  const first = await Promise.race([started.then(() => undefined), stopRequested])
  if (first !== undefined) {
    // stopped while starting: start() cleans up after itself once it notices
    ctx.out.info(`${first}: stopping the test net…`)
    await net.stop()
    await started.catch(() => {})
    return 0
  }

  const peers = net.peers
  ctx.out.result({ dir: net.dir, file: net.file, peers }, () => {
    ctx.out.columns(['INDEX', 'PEER ID', 'API'], peers.map(p => [String(p.index), p.peerId, p.api]))
    ctx.out.line()
    ctx.out.line(`test net: ${net.dir} (peers in ${net.file})`)
    ctx.out.line(`try:      p2pstore --api ${peers[0]?.api ?? ''} peers`)
    ctx.out.line('Ctrl-C stops every peer')
  })

  const reason = await stopRequested
  ctx.out.info(`${reason}: stopping ${peers.length} peers…`)
  await net.stop()
  ctx.out.info('test net stopped')
  return 0
}
