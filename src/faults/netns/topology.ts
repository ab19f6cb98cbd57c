/**
 * The lab's wiring, piece by piece: the switch (a bridge in a namespace of its own, marked with
 * its owner's pid), the controller link from the root namespace, and each host's veth, address
 * and fault chains. Creating the namespaces themselves is the lab's job: it keeps the list of
 * what it made, to delete it again.
 */

import { TestnetError } from '../../errors.ts'
import { failureOf, ip } from './command.ts'
import { faultChains, HOST_IF, restore } from './iptables.ts'
import { BRIDGE, CONTROLLER_SWITCH_IF, controllerInterface, OWNER_MARK } from './links.ts'

/** The bridge in switch namespace `sw`, its owner marked first (see `cleanupStaleLabs`), then up. */
export async function buildSwitch (sw: string): Promise<void> {
  // mark the owner first, so that cleanupStaleLabs() in another process leaves this lab alone
  await ip(['-n', sw, 'link', 'add', BRIDGE, 'type', 'bridge'])
  await ip(['-n', sw, 'link', 'set', BRIDGE, 'alias', `${OWNER_MARK}${process.pid}`])
  await ip(['-n', sw, 'link', 'set', BRIDGE, 'up'])
  await ip(['-n', sw, 'link', 'set', 'lo', 'up'])
}

/**
 * Creates the controller link of the lab of `prefix`: a veth from the root namespace into switch
 * namespace `sw`. Its root side dies with the switch namespace, so a crashed owner leaves nothing
 * in the root namespace once `cleanupStaleLabs()` has deleted the switch.
 */
export async function addControllerLink (prefix: string, sw: string): Promise<void> {
  const controller = controllerInterface(prefix)
  try {
    await ip(['link', 'add', controller, 'type', 'veth', 'peer', 'name', CONTROLLER_SWITCH_IF, 'netns', sw])
  } catch (err) {
    if (failureOf(err) === 'exists') {
      throw new TestnetError(`interface ${controller} already exists in the root namespace: another lab uses prefix "${prefix}" ` +
        `(remove a stale one with \`ip link del ${controller}\`)`, { cause: err })
    }
    throw err
  }
}

/** Puts the controller link on the bridge and gives its root side `address`/24. */
export async function configureControllerLink (prefix: string, sw: string, address: string): Promise<void> {
  const controller = controllerInterface(prefix)
  await ip(['-n', sw, 'link', 'set', CONTROLLER_SWITCH_IF, 'master', BRIDGE, 'up'])
  await ip(['addr', 'add', `${address}/24`, 'dev', controller])
  await ip(['link', 'set', controller, 'up'])
}

/** What one host of a lab is wired with. */
export interface HostWiring {
  prefix: string
  /** the switch namespace */
  sw: string
  /** the host's namespace, already created */
  ns: string
  index: number
  /** the host's address on the lab's /24 */
  address: string
  /** the controller's address, accepted before every fault chain */
  controller: string
  /** the iptables front end that works here */
  iptables: string
}

/** Host `index`: a veth into the switch, `lo` up, its address, and the (empty) fault chains. */
export async function buildHost (host: HostWiring): Promise<void> {
  const { sw, ns, index } = host
  await ip(['-n', sw, 'link', 'add', `h${index}`, 'type', 'veth', 'peer', 'name', HOST_IF, 'netns', ns])
  await ip(['-n', sw, 'link', 'set', `h${index}`, 'master', BRIDGE, 'up'])
  await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
  await ip(['-n', ns, 'addr', 'add', `${host.address}/24`, 'dev', HOST_IF])
  await ip(['-n', ns, 'link', 'set', HOST_IF, 'up'])
  // a fresh namespace has an empty filter table: this replaces it whole
  await restore(host.iptables, ns, faultChains(host.prefix, host.controller), { flush: true })
}
