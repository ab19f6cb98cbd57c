/**
 * The lab's iptables rules: two chains of our own in each host's filter table (`p2ps-cut`,
 * `p2ps-loss`), jumped to from `INPUT` for packets on `eth0`, and the rules that cut, lose and
 * heal. Every change to one host is one `iptables-restore` run, so it is atomic.
 */

import { run } from './command.ts'

/** `-w` of iptables(-restore): seconds to wait for the xtables lock (legacy backend only). */
export const XTABLES_WAIT_SECONDS = 5

/** Chains of our own in each host's filter table, jumped to from `INPUT` for packets on `eth0`. */
export const CUT_CHAIN = 'p2ps-cut'
export const LOSS_CHAIN = 'p2ps-loss'

/** Host side of every host's veth; the switch side is `h<i>`. */
export const HOST_IF = 'eth0'

/** iptables front ends to try, best first: the system's choice, then each backend by name. */
export const IPTABLES_CANDIDATES = ['iptables', 'iptables-nft', 'iptables-legacy']

/**
 * The filter table of a fresh host: `INPUT` from the lab accepts the controller, and jumps to the
 * loss, then the cut chain for everything else.
 */
export function faultChains (prefix: string, controller: string): string[] {
  return [
    `:${LOSS_CHAIN} - [0:0]`,
    `:${CUT_CHAIN} - [0:0]`,
    `-A INPUT -i ${HOST_IF} -s ${controller}/32 -m comment --comment p2pstore:${prefix}:controller -j ACCEPT`,
    `-A INPUT -i ${HOST_IF} -m comment --comment p2pstore:${prefix}:loss -j ${LOSS_CHAIN}`,
    `-A INPUT -i ${HOST_IF} -m comment --comment p2pstore:${prefix}:cut -j ${CUT_CHAIN}`
  ]
}

/** Rules that drop every packet from each of `sources` (IPv4 addresses) arriving at a host. */
export function cutRules (prefix: string, sources: Iterable<string>): string[] {
  return [...sources].map(source => `-A ${CUT_CHAIN} -s ${source}/32 -m comment --comment p2pstore:${prefix}:cut -j DROP`)
}

/** Rules that replace a host's loss setting: drop arriving packets with `probability` (0 removes it). */
export function lossRules (prefix: string, probability: number): string[] {
  const rules = [`-F ${LOSS_CHAIN}`]
  if (probability > 0) {
    rules.push(`-A ${LOSS_CHAIN} -m statistic --mode random --probability ${probability} ` +
      `-m comment --comment p2pstore:${prefix}:loss -j DROP`)
  }
  return rules
}

/** Rules that remove every cut and loss of a host. */
export function healRules (): string[] {
  return [`-F ${CUT_CHAIN}`, `-F ${LOSS_CHAIN}`]
}

/**
 * Applies `rules` to the filter table inside namespace `ns` in one `iptables-restore` run, so a
 * change to one host is atomic. Without `flush`, existing rules are kept (`--noflush`).
 */
export async function restore (iptables: string, ns: string, rules: string[], options: { flush?: boolean } = {}): Promise<void> {
  const args = ['netns', 'exec', ns, `${iptables}-restore`, '-w', String(XTABLES_WAIT_SECONDS)]
  if (options.flush !== true) {
    args.push('--noflush')
  }
  await run('ip', args, { input: ['*filter', ...rules, 'COMMIT', ''].join('\n') })
}

/** Whether `iptables` sees the lab's chains in namespace `ns` (the backend that made them: rules of one are invisible to the other). */
export async function seesChains (iptables: string, ns: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, iptables, '-w', String(XTABLES_WAIT_SECONDS), '-S', CUT_CHAIN])
}
