import { defaultDaemonConfig } from '../../config.ts'
import { DataDir } from '../../datadir/index.ts'
import type { CommandContext } from '../context.ts'

/** `p2pstore init`: creates the data dir, the peer's identity and a `config.json` with the defaults. */
export async function initCommand (ctx: CommandContext): Promise<number> {
  const dir = new DataDir(ctx.dataDir)
  const { created, privateKey } = await dir.open()
  const existing = await dir.readConfig()
  if (Object.keys(existing).length === 0) await dir.writeConfig({ ...defaultDaemonConfig() })

  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  ctx.out.result({ peerId, dataDir: dir.path, created }, () => {
    ctx.out.line(created ? `initialized ${dir.path}` : `${dir.path} is already initialized; nothing changed`)
    ctx.out.table([['peer id', peerId], ['config', dir.file('config.json')]])
    if (created) ctx.out.info('next: `npx p2pstore daemon` starts the peer')
  })
  return 0
}
