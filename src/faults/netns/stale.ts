/**
 * Removing what crashed runs left: labs whose owner process is gone.
 */

import { statSync } from 'node:fs'
import { InvalidParametersError } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { isAlive } from '../../util/index.ts'
import { ip } from './command.ts'
import { BRIDGE, controllerInterface, deleteLink, deleteNamespace, listNamespaces, OWNER_MARK, PREFIX_PATTERN, switchNamespace } from './links.ts'

const log = logger('p2pstore:faults:netns:stale')

/** A namespace without an owner marker younger than this may still be in `setup()`: keep it. */
const STALE_GRACE = 30_000

/**
 * Deletes the namespaces and controller links of labs whose owner process is gone, e.g. after a
 * test run was killed. Without `prefix`, looks at every lab named by the default scheme
 * (`p2ps<digits>-…` and `p2ps<digits>-<n>-…`); with it,
 * at the lab of that prefix only. A lab whose owner (recorded on its bridge) is still alive is
 * kept, and so is one without an owner record created in the last 30 s, which may be in `setup()`.
 *
 * @returns how many namespaces were deleted
 */
export async function cleanupStaleLabs (prefix?: string): Promise<number> {
  if (prefix != null && !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidParametersError(`prefix must be 1 to 24 letters, digits, "_", "." or "-", got ${JSON.stringify(prefix)}`)
  }
  const scheme = prefix == null
    ? /^(p2ps\d+(?:-\d+)?)-(sw|h\d+)$/
    : new RegExp(`^(${prefix.replaceAll('.', '\\.')})-(sw|h\\d+)$`)

  const labs = new Map<string, string[]>()
  for (const name of await listNamespaces()) {
    const lab = scheme.exec(name)?.[1]
    if (lab != null) {
      labs.set(lab, [...(labs.get(lab) ?? []), name])
    }
  }

  let deleted = 0
  for (const [lab, names] of labs) {
    if (await isLive(lab, names)) {
      log('lab %s is alive, keeping it', lab)
      continue
    }
    await deleteLink(controllerInterface(lab))
    // hosts first, the switch last: a half-deleted lab still carries its owner mark
    for (const name of names.sort((a, b) => Number(a.endsWith('-sw')) - Number(b.endsWith('-sw')))) {
      await deleteNamespace(name)
      deleted++
    }
    log('deleted stale lab %s (%d namespaces)', lab, names.length)
  }
  return deleted
}

/** Whether a lab's owner process still runs, or the lab may be a setup in progress. */
async function isLive (lab: string, names: string[]): Promise<boolean> {
  const sw = switchNamespace(lab)
  if (names.includes(sw)) {
    const owner = await ownerOf(sw)
    if (owner != null) {
      return isAlive(owner)
    }
  }
  const youngest = Math.max(...names.map(name => {
    try {
      return statSync(`/run/netns/${name}`).mtimeMs
    } catch {
      return 0
    }
  }))
  return Date.now() - youngest < STALE_GRACE
}

async function ownerOf (sw: string): Promise<number | undefined> {
  try {
    const links: unknown = JSON.parse(await ip(['-j', '-n', sw, 'link', 'show', BRIDGE]))
    const alias = Array.isArray(links) ? (links[0] as { ifalias?: unknown } | undefined)?.ifalias : undefined
    if (typeof alias === 'string' && alias.startsWith(OWNER_MARK)) {
      const pid = Number(alias.slice(OWNER_MARK.length))
      return Number.isInteger(pid) && pid > 0 ? pid : undefined
    }
  } catch (err) {
    log('no owner mark on %s - %e', sw, err)
  }
  return undefined
}
