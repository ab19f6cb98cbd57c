/**
 * Whether this machine can run a lab: root, `ip`, bridge and veth support, and an iptables that
 * takes exactly the rules a lab uses. Tried in a throw-away namespace.
 */

import { logger } from '@libp2p/logger'
import { ip, message, run } from './command.ts'
import { CUT_CHAIN, faultChains, healRules, HOST_IF, IPTABLES_CANDIDATES, LOSS_CHAIN, restore } from './iptables.ts'
import { BRIDGE, deleteNamespace } from './links.ts'

const log = logger('p2pstore:faults:netns:probe')

/** What a probe found: the iptables front end to use, or why there is none. */
export type Probe = { ok: true, iptables: string } | { ok: false, reason: string }

/** Probes once; `name` is the throw-away namespace to try things in. */
export async function probeOnce (name: string): Promise<Probe> {
  const uid = process.getuid?.()
  if (uid !== 0) {
    return { ok: false, reason: `not root (uid ${uid ?? 'unknown'}): creating network namespaces needs root` }
  }
  try {
    await run('ip', ['-V'])
  } catch (err) {
    return { ok: false, reason: `\`ip -V\` failed (${message(err)}): install iproute2` }
  }

  try {
    await ip(['netns', 'add', name])
  } catch (err) {
    return { ok: false, reason: `cannot create a network namespace: ${message(err)}` }
  }
  try {
    try {
      await ip(['-n', name, 'link', 'add', BRIDGE, 'type', 'bridge'])
      await ip(['-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', HOST_IF])
    } catch (err) {
      return { ok: false, reason: `the kernel lacks bridge or veth support: ${message(err)}` }
    }
    const failures: string[] = []
    for (const candidate of IPTABLES_CANDIDATES) {
      try {
        // exactly what a lab does: the chains, a cut, a loss rule, then a heal
        await restore(candidate, name, faultChains('probe', '192.0.2.2'), { flush: true })
        await restore(candidate, name, [
          `-A ${CUT_CHAIN} -s 192.0.2.1/32 -m comment --comment p2pstore:probe:cut -j DROP`,
          `-A ${LOSS_CHAIN} -m statistic --mode random --probability 0.5 -m comment --comment p2pstore:probe:loss -j DROP`
        ])
        await restore(candidate, name, healRules())
        log('using %s', candidate)
        return { ok: true, iptables: candidate }
      } catch (err) {
        failures.push(`${candidate}: ${message(err)}`)
      }
    }
    // `ip netns exec` reports a missing program in its stderr
    if (failures.every(failure => /no such file|ENOENT/i.test(failure))) {
      return { ok: false, reason: 'iptables is not installed (Debian does not install it by default): `apt-get install iptables`' }
    }
    return {
      ok: false,
      reason: 'no working iptables (install it with `apt-get install iptables`; the kernel needs the comment ' +
        `and statistic matches): ${failures.join('; ')}`
    }
  } finally {
    await deleteNamespace(name).catch((err: unknown) => {
      log.error('could not delete probe namespace %s - %e', name, err)
    })
  }
}
