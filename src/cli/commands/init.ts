import fs from 'node:fs/promises'
import { InvalidParametersError } from '@libp2p/interface'
import { defaultDaemonConfig } from '../../config.ts'
import { DATADIR_FILES } from '../../constants.ts'
import { DataDir } from '../../datadir/index.ts'
import { createOperatorKey, dearmourRoster, loadCredentials, saveNetwork, saveRoster, signRoster, verifyRoster } from '../../roster/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore init`. */
export interface InitOptions {
  /** join: a roster file copied from a member */
  roster?: string
  /** join: the network id alone; the roster comes from the bootstrap peers */
  network?: string
  /** an open network: no credentials at all */
  open?: boolean
  /** where to create the operator key of a new network. @default <datadir>/operator.key */
  operatorKey?: string
}

/**
 * `p2pstore init`: creates the data dir, the peer's identity and `config.json`, and the network's
 * credentials. Alone it starts a new closed network: an operator key and a roster naming this peer.
 * `--roster FILE` / `--network ID` join an existing one, `--open` makes an open network.
 */
export async function initCommand (ctx: CommandContext, opts: InitOptions = {}): Promise<number> {
  if ([opts.roster, opts.network, opts.open === true ? true : undefined].filter(x => x != null).length > 1) {
    throw new InvalidParametersError('init: choose one of --roster FILE, --network ID and --open')
  }
  const dir = new DataDir(ctx.dataDir)
  const { created, privateKey } = await dir.open()
  const existing = await dir.readConfig()
  if (Object.keys(existing).length === 0) await dir.writeConfig({ ...defaultDaemonConfig(), open: opts.open === true })
  else if (opts.open === true) await dir.writeConfig({ ...existing, open: true })

  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const held = await loadCredentials(dir)
  let action: 'created' | 'joined' | 'open' | 'unchanged' = 'unchanged'
  let operatorKey: string | undefined
  if (opts.roster != null) {
    const text = await fs.readFile(opts.roster, 'utf8').catch((err: Error) => { throw new InvalidParametersError(`cannot read roster ${opts.roster}: ${err.message}`) })
    const roster = await verifyRoster(dearmourRoster(text, opts.roster), { network: held.network })
    await saveNetwork(dir, roster.network)
    await saveRoster(dir, roster)
    action = 'joined'
  } else if (opts.network != null) {
    await saveNetwork(dir, opts.network)
    action = 'joined'
  } else if (opts.open === true) {
    action = 'open'
  } else if (held.network == null && existing.open !== true) {
    // a new network: this peer is its first member, and its operator key signs the roster
    operatorKey = opts.operatorKey ?? dir.file(DATADIR_FILES.operatorKey)
    const operator = await createOperatorKey(operatorKey)
    const roster = await signRoster(operator, { sequence: 1n, members: [{ peerId, label: 'first peer' }] })
    await saveNetwork(dir, roster.network)
    await saveRoster(dir, roster)
    action = 'created'
  }
  const now = await loadCredentials(dir)
  const member = now.roster?.members.some(m => m.peerId === peerId) ?? false

  ctx.out.result({ peerId, dataDir: dir.path, created, network: now.network ?? 'open', operatorKey, member }, () => {
    ctx.out.line(created ? `initialized ${dir.path}` : `${dir.path} was already initialized`)
    ctx.out.table([
      ['peer id', peerId],
      ['config', dir.file('config.json')],
      ['network', now.network ?? (action === 'open' || existing.open === true ? 'OPEN (anyone who can reach it reads and writes every key)' : 'none')],
      ...(now.roster == null ? [] : [['roster', `sequence ${now.roster.sequence}, ${now.roster.members.length} members (${dir.file(DATADIR_FILES.roster)})`] as [string, string]]),
      ...(operatorKey == null ? [] : [['operator key', operatorKey] as [string, string]])
    ])
    if (action === 'created') {
      ctx.out.info(`a new closed network: only peers on its roster may connect. The operator key ${operatorKey ?? ''} signs the roster;`)
      ctx.out.info('for production keep it off the daemons\' machines (move it, and pass --operator-key FILE to `npx p2pstore roster`).')
      ctx.out.info(`to add a machine: on it run \`npx p2pstore init --roster FILE\` with a copy of ${dir.file(DATADIR_FILES.roster)}, then here \`npx p2pstore roster add <its peer id>\``)
    }
    if (action === 'joined' && !member) {
      ctx.out.info(`this peer is not on the roster yet: the operator must run \`npx p2pstore roster add ${peerId}\``)
    }
    if (created) ctx.out.info('next: `npx p2pstore daemon` starts the peer')
  })
  return 0
}
