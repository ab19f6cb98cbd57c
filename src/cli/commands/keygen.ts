import fs from 'node:fs/promises'
import { InvalidParametersError } from '@libp2p/interface'
import { generateKey } from '@libp2p/pnet'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore keygen`. */
export interface KeygenOptions {
  swarmKey?: string
  force?: boolean
}

/**
 * `p2pstore keygen --swarm-key FILE`: writes a new pre-shared key for a private network (libp2p pnet
 * format, mode 0600). Every peer of the private network must be started with a copy of it.
 */
export async function keygenCommand (ctx: CommandContext, opts: KeygenOptions): Promise<number> {
  if (opts.swarmKey == null) {
    throw new InvalidParametersError('keygen: say what to generate, e.g. `npx p2pstore keygen --swarm-key ./swarm.key`')
  }
  const key = new Uint8Array(95)
  generateKey(key)
  try {
    await fs.writeFile(opts.swarmKey, key, { mode: 0o600, flag: opts.force === true ? 'w' : 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InvalidParametersError(`${opts.swarmKey} already exists; keep it, or pass --force to replace it (peers using the old key will no longer connect)`)
    }
    throw new InvalidParametersError(`cannot write ${opts.swarmKey}: ${(err as Error).message}`)
  }
  await fs.chmod(opts.swarmKey, 0o600)
  ctx.out.result({ swarmKey: opts.swarmKey }, () => {
    ctx.out.line(`wrote swarm key ${opts.swarmKey}`)
    ctx.out.info('copy it to every peer of the private network and start each with `npx p2pstore daemon --swarm-key FILE`')
  })
  return 0
}
