/**
 * Network-namespace labs: a multi-host network on one machine whose partitions and packet loss
 * the kernel enforces. `lab.ts` holds `NetnsLab`; the jobs it uses each have a file: `command.ts`
 * (running `ip`/`iptables-restore`, classifying failures), `probe.ts` (can this machine run a
 * lab?), `links.ts` (namespaces and links: names, create, delete), `topology.ts` (the switch, the
 * controller link, each host's wiring), `iptables.ts` (the fault rules), `subnet.ts` (the
 * lab's /24), `host.ts` (what one process knows of its labs) and `stale.ts` (labs of crashed runs).
 *
 * @packageDocumentation
 */

export { NetnsLab, NETNS_LAB_MAX_HOSTS } from './lab.ts'
export type { NetnsLabAvailability, NetnsLabInit } from './lab.ts'
export { NetnsHost } from './host.ts'
export { cleanupStaleLabs } from './stale.ts'
