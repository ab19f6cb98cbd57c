import { InvalidParametersError } from '@libp2p/interface'
import { DATADIR_FILES } from '../../constants.ts'
import { DataDir } from '../../datadir/index.ts'
import { NoRosterError } from '../../errors.ts'
import { loadCredentials, readOperatorKey, saveRoster, signRoster } from '../../roster/index.ts'
import type { Roster, RosterMember } from '../../roster/index.ts'
import type { CommandContext } from '../context.ts'

/** Options of `p2pstore roster`. */
export interface RosterOptions {
  /** the operator key. @default <datadir>/operator.key */
  operatorKey?: string
  /** `add`: a label for the members added */
  label?: string
}

/**
 * `p2pstore roster show|add|remove|sign`: reads or re-signs the data dir's roster. `add`, `remove`
 * and `sign` need the operator key and write the next sequence number into `<datadir>/roster`; a
 * daemon running on that data dir notices within a second and pushes it to every member.
 */
export async function rosterCommand (ctx: CommandContext, action: string, ids: string[], opts: RosterOptions): Promise<number> {
  const dir = new DataDir(ctx.dataDir)
  const held = await loadCredentials(dir)
  const current = held.roster
  if (current == null) {
    throw new NoRosterError(`${dir.file(DATADIR_FILES.roster)} does not exist${held.network == null ? '' : ` (this peer trusts network ${held.network} but has not received its roster yet)`}`)
  }
  let roster: Roster = current
  if (action !== 'show') {
    if (!['add', 'remove', 'sign'].includes(action)) throw new InvalidParametersError(`roster: unknown action ${JSON.stringify(action)} (show, add, remove or sign)`)
    if (action !== 'sign' && ids.length === 0) throw new InvalidParametersError(`roster ${action}: name at least one peer id`)
    const operator = await readOperatorKey(opts.operatorKey ?? dir.file(DATADIR_FILES.operatorKey))
    let members: RosterMember[] = current.members
    if (action === 'add') members = [...members, ...ids.map(peerId => ({ peerId, label: opts.label }))]
    if (action === 'remove') {
      const unknown = ids.filter(id => !members.some(m => m.peerId === id))
      if (unknown.length > 0) throw new InvalidParametersError(`roster remove: not on the roster: ${unknown.join(', ')}`)
      members = members.filter(m => !ids.includes(m.peerId))
    }
    roster = await signRoster(operator, { sequence: current.sequence + 1n, members })
    if (roster.network !== current.network) throw new InvalidParametersError(`that operator key signs network ${roster.network}, not this roster's ${current.network}`)
    await saveRoster(dir, roster)
  }
  ctx.out.result({ network: roster.network, sequence: roster.sequence.toString(), issuedAt: new Date(roster.issuedAt).toISOString(), members: roster.members, file: dir.file(DATADIR_FILES.roster) }, () => {
    ctx.out.table([['network', roster.network], ['sequence', roster.sequence.toString()], ['signed', new Date(roster.issuedAt).toISOString()], ['file', dir.file(DATADIR_FILES.roster)]])
    ctx.out.columns(['MEMBER', 'LABEL'], roster.members.map(m => [m.peerId, m.label ?? '']))
    if (action !== 'show') ctx.out.info(`roster ${roster.sequence} written; a daemon on this data dir pushes it to every member within seconds`)
  })
  return 0
}
