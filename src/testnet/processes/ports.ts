/**
 * Ports of a process test net: remembered in `ports.json` after a stop so that a reused dir gets
 * the same ones, checked free before reuse, and read from multiaddrs and API URLs.
 */

import { once } from 'node:events'
import fs from 'node:fs/promises'
import net from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { writeFileAtomic } from '../../util/index.ts'

/** One peer's ports in `ports.json`, kept after a stop so a reused dir gets the same ports. */
export interface RememberedPorts {
  index: number
  listenPort?: number
  apiPort?: number
}

/** The ports a daemon is started on; 0 or absent means any free port. */
export interface DaemonPorts {
  listenPort?: number
  apiPort?: number
}

/** What `ports.json` remembers; nothing when it is missing or unreadable. */
export async function readPorts (file: string): Promise<RememberedPorts[]> {
  try {
    const { peers } = JSON.parse(await fs.readFile(file, 'utf8')) as { peers?: RememberedPorts[] }
    return Array.isArray(peers) ? peers : []
  } catch {
    return []
  }
}

/** Writes `ports.json` atomically. */
export async function writePorts (file: string, ports: RememberedPorts[]): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ peers: ports }, null, 2)}\n`, { sync: false })
}

/** Whether nothing listens on `host:port` (a listen there succeeds). */
export async function isPortFree (host: string, port: number): Promise<boolean> {
  const server = net.createServer()
  try {
    server.listen({ host, port })
    await once(server, 'listening')
    await new Promise(resolve => { server.close(resolve) })
    return true
  } catch {
    return false
  }
}

/** The port of an API URL, when it has one. */
export function apiPort (api: string): number | undefined {
  try {
    const port = Number(new URL(api).port)
    return port > 0 ? port : undefined
  } catch {
    return undefined
  }
}

/** The IPv4 host and TCP port of `ma`, when it is a `/ip4/…/tcp/…` address. */
function ip4Tcp (ma: string): { host: string, port: number } | undefined {
  try {
    const components = multiaddr(ma).getComponents()
    const [ip4, tcp] = components
    if (ip4?.name !== 'ip4' || tcp?.name !== 'tcp' || ip4.value == null || tcp.value == null) return undefined
    return { host: ip4.value, port: Number(tcp.value) }
  } catch {
    return undefined
  }
}

/** Those of `multiaddrs` on IPv4 address `host`. */
export function onHost (multiaddrs: string[], host: string): string[] {
  return multiaddrs.filter(ma => ip4Tcp(ma)?.host === host)
}

/** The TCP port of the first of `multiaddrs` on `host`. */
export function tcpPort (multiaddrs: string[], host: string): number | undefined {
  for (const ma of multiaddrs) {
    const address = ip4Tcp(ma)
    if (address?.host === host) return address.port
  }
  return undefined
}

/** `a.b.c.d/n` as the multiaddr `/ip4/a.b.c.d/ipcidr/n`. */
export function cidrMultiaddr (cidr: string): string {
  const [address, bits] = cidr.split('/')
  return multiaddr(`/ip4/${address}/ipcidr/${bits}`).toString()
}
