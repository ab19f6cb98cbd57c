/**
 * A lab's /24: the default one of a process, parsing a given one, the next candidate, and whether
 * a route of the root namespace overlaps it.
 */

import { ip } from './command.ts'

/** `a.b.c.0/24` → `a.b.c`, or undefined when `subnet` is not an IPv4 /24 written so. */
export function parseSubnet (subnet: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet)
  if (match == null || match.slice(1).some(octet => Number(octet) > 255)) return undefined
  return match.slice(1, 4).map(Number).join('.')
}

/** The default subnet of the `sequence`-th lab of process `pid`. */
export function defaultSubnet (pid: number, sequence: number): string {
  // spread the labs of one process apart; another process's range starts 64 /24s on
  const n = (pid * 64 + sequence) % 65536
  return `10.${Math.floor(n / 256)}.${n % 256}.0/24`
}

/** The /24 after `base` within its /8, wrapping around. */
export function nextBase (base: string): string {
  const [a, b, c] = base.split('.').map(Number)
  const n = ((b ?? 0) * 256 + (c ?? 0) + 1) % 65536
  return `${a ?? 10}.${Math.floor(n / 256)}.${n % 256}`
}

/** One route of `ip -j route`. */
export interface Route { dst: string, dev?: string }

/** Every IPv4 route of the root namespace, every table. */
export async function rootRoutes (): Promise<Route[]> {
  const routes: unknown = JSON.parse(await ip(['-j', '-4', 'route', 'show', 'table', 'all']))
  return Array.isArray(routes) ? routes.filter((r): r is Route => typeof (r as Partial<Route>).dst === 'string') : []
}

/** A route of the root namespace that overlaps the /24 `base`.0, described, or undefined. */
export function overlappingRoute (routes: Route[], base: string): string | undefined {
  const ours = ipv4ToInt(`${base}.0`) ?? 0
  for (const route of routes) {
    const [address, bits] = route.dst.split('/')
    const start = address == null ? undefined : ipv4ToInt(address)
    const length = bits == null ? 32 : Number(bits)
    // default routes cover everything and are no clash: the /24's own route is more specific
    if (start == null || length === 0) {
      continue
    }
    // two ranges overlap when they agree on the bits of the shorter prefix
    const size = 2 ** (32 - Math.min(length, 24))
    if (Math.floor(start / size) === Math.floor(ours / size)) {
      return `route ${route.dst}${route.dev == null ? '' : ` dev ${route.dev}`}`
    }
  }
  return undefined
}

function ipv4ToInt (address: string): number | undefined {
  const octets = address.split('.').map(Number)
  if (octets.length !== 4 || octets.some(o => !Number.isInteger(o) || o < 0 || o > 255)) {
    return undefined
  }
  return octets.reduce((n, o) => n * 256 + o, 0)
}
