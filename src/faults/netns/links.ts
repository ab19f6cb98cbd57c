/**
 * Namespaces and links of a lab: their names, and creating, listing and deleting them
 * idempotently.
 */

import { createHash } from 'node:crypto'
import { TestnetError } from '../../errors.ts'
import { failureOf, ip } from './command.ts'

/** The switch namespace's bridge. */
export const BRIDGE = 'br0'

/** Switch side of the controller link; the root side is `controllerInterface(prefix)`. */
export const CONTROLLER_SWITCH_IF = 'c'

/** Longest interface name Linux takes (IFNAMSIZ 16, less the terminating NUL). */
const MAX_IFNAME = 15

/** The bridge's ifalias, naming the process that owns the lab (see `cleanupStaleLabs`). */
export const OWNER_MARK = 'p2pstore-lab:pid='

/** Namespace prefixes: short, and safe inside a namespace name and an iptables comment. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,23}$/

/** The switch namespace of the lab of `prefix`. */
export function switchNamespace (prefix: string): string {
  return `${prefix}-sw`
}

/**
 * The root side of a lab's controller link: `<prefix>-c`, or for a prefix too long for an
 * interface name, `p2psc-` and a hash of it.
 */
export function controllerInterface (prefix: string): string {
  const name = `${prefix}-c`
  return name.length <= MAX_IFNAME ? name : `p2psc-${createHash('sha256').update(prefix).digest('hex').slice(0, 9)}`
}

/** Creates namespace `name`; one that exists already is another lab's or a crashed run's. */
export async function addNamespace (name: string, prefix: string): Promise<void> {
  try {
    await ip(['netns', 'add', name])
  } catch (err) {
    if (failureOf(err) === 'exists') {
      throw new TestnetError(`network namespace ${name} already exists: another lab uses prefix "${prefix}", ` +
        'or a crashed run left it (remove it with cleanupStaleLabs() or `ip netns del`)', { cause: err })
    }
    throw err
  }
}

/** Deletes network namespace `name`; one already gone is no error. */
export async function deleteNamespace (name: string): Promise<void> {
  try {
    await ip(['netns', 'del', name])
  } catch (err) {
    if (failureOf(err) !== 'missing') throw err
  }
}

/** Deletes link `name` of the root namespace; one already gone (e.g. with its switch namespace) is no error. */
export async function deleteLink (name: string): Promise<void> {
  try {
    await ip(['link', 'del', name])
  } catch (err) {
    if (failureOf(err) !== 'missing') throw err
  }
}

/** Every network namespace of this machine, by name. */
export async function listNamespaces (): Promise<string[]> {
  // lines look like "p2ps12-h0 (id: 3)" or "p2ps12-h0"
  return (await ip(['netns', 'list']))
    .split('\n')
    .map(line => line.trim().split(/\s+/)[0] ?? '')
    .filter(name => name !== '')
}
