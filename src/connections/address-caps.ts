import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of AddressCaps. */
export interface AddressCapsInit {
  /** most inbound connections (open or still upgrading) from one IP address. @default DEFAULT_MAX_CONNECTIONS_PER_IP (8) */
  perIp: number
  /** most from one address range: a /24 of IPv4, a /64 of IPv6. @default DEFAULT_MAX_CONNECTIONS_PER_RANGE (32) */
  perRange: number
  /** address ranges never capped (the `allow` setting: `/ip4/10.0.0.0/ipcidr/8`). @default [] */
  allow?: Multiaddr[]
  /**
   * Cap loopback addresses too, even when `allow` names them. Off by default: test nets run every
   * peer on 127.0.0.1. @default false
   */
  limitLoopback?: boolean
}

/** An IP address as bytes (4 or 16), or undefined for an address without one (a DNS name, a relay). */
type IpBytes = Uint8Array

/** One CIDR range of the allow list. */
interface Cidr { bytes: IpBytes, bits: number }

/**
 * Per-IP and per-range caps on inbound connections (issue #19; go-libp2p's resource manager
 * allows 8 per IP): every inbound connection counts against its remote IP and its range from the
 * moment the upgrader asks the gater (`denyInboundConnection`, before Noise) until it closes, so
 * that connections still upgrading count too. One host, or one /24 of hosts, cannot take every
 * connection slot (`maxConnections`) from the rest. Outbound connections are not capped: this
 * peer chose to open them. Counts are kept only for addresses with connections open.
 */
export class AddressCaps {
  private readonly init: AddressCapsInit
  private readonly allow: Cidr[]
  private readonly byIp = new Map<string, number>()
  private readonly byRange = new Map<string, number>()
  /** connections refused so far, by which cap */
  readonly refused = { ip: 0, range: 0 }

  constructor (init: AddressCapsInit) {
    this.init = init
    this.allow = (init.allow ?? []).map(cidrOf).filter((c): c is Cidr => c != null)
  }

  /** inbound connections counted now against the IP of `addr` */
  countFor (addr: Multiaddr): number {
    const ip = ipOf(addr)
    return ip == null ? 0 : this.byIp.get(ipKey(ip)) ?? 0
  }

  /**
   * Counts `maConn` against its IP and range until it closes, or refuses it (false) when either is
   * full. An address that is exempt, or has no IP, is always admitted and not counted.
   */
  admit (maConn: Pick<MultiaddrConnection, 'remoteAddr' | 'addEventListener'>): boolean {
    const ip = ipOf(maConn.remoteAddr)
    if (ip == null || this.exempt(ip)) return true
    const ipId = ipKey(ip)
    const rangeId = rangeKey(ip)
    if ((this.byIp.get(ipId) ?? 0) >= this.init.perIp) {
      this.refused.ip++
      return false
    }
    if ((this.byRange.get(rangeId) ?? 0) >= this.init.perRange) {
      this.refused.range++
      return false
    }
    add(this.byIp, ipId, 1)
    add(this.byRange, rangeId, 1)
    maConn.addEventListener('close', () => {
      add(this.byIp, ipId, -1)
      add(this.byRange, rangeId, -1)
    }, { once: true })
    return true
  }

  /** A gater refusing inbound connections past either cap (put it after gaters that refuse for other reasons). */
  gater (): ConnectionGater {
    return { denyInboundConnection: maConn => !this.admit(maConn) }
  }

  private exempt (ip: IpBytes): boolean {
    if (isLoopback(ip)) return this.init.limitLoopback !== true
    return this.allow.some(c => inCidr(ip, c))
  }
}

function add (map: Map<string, number>, key: string, n: number): void {
  const now = (map.get(key) ?? 0) + n
  if (now <= 0) map.delete(key)
  else map.set(key, now)
}

/** The IP of a multiaddr's first component, as bytes; an IPv4-mapped IPv6 address as IPv4. */
export function ipOf (addr: Multiaddr): IpBytes | undefined {
  const first = addr.getComponents()[0]
  if (first?.value == null) return undefined
  if (first.name === 'ip4') return parseIp4(first.value)
  if (first.name === 'ip6') {
    const bytes = parseIp6(first.value)
    if (bytes == null) return undefined
    const mapped = bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
    return mapped ? bytes.slice(12) : bytes
  }
  return undefined
}

function parseIp4 (text: string): IpBytes | undefined {
  const parts = text.split('.').map(Number)
  if (parts.length !== 4 || parts.some(p => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return Uint8Array.from(parts)
}

function parseIp6 (text: string): IpBytes | undefined {
  let addr = text.split('%')[0] ?? ''
  // a trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two hextets
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr)
  if (v4?.[1] != null) {
    const b = parseIp4(v4[1])
    if (b == null) return undefined
    addr = addr.slice(0, -v4[1].length) + `${((b[0] ?? 0) * 256 + (b[1] ?? 0)).toString(16)}:${((b[2] ?? 0) * 256 + (b[3] ?? 0)).toString(16)}`
  }
  const halves = addr.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const out = new Uint8Array(16)
  for (const [i, g] of groups.entries()) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined
    const n = parseInt(g, 16)
    out[2 * i] = Math.floor(n / 256)
    out[2 * i + 1] = n % 256
  }
  return out
}

function ipKey (ip: IpBytes): string {
  return Array.from(ip).join('.')
}

/** The range an IP counts in: its /24 (IPv4) or /64 (IPv6). */
function rangeKey (ip: IpBytes): string {
  return ip.length === 4 ? `v4/${Array.from(ip.subarray(0, 3)).join('.')}` : `v6/${Array.from(ip.subarray(0, 8)).join('.')}`
}

function isLoopback (ip: IpBytes): boolean {
  if (ip.length === 4) return ip[0] === 127
  return ip.subarray(0, 15).every(b => b === 0) && ip[15] === 1
}

/** `/ip4/10.0.0.0/ipcidr/8` as a range; anything else (a plain address is a /32 or /128) */
function cidrOf (addr: Multiaddr): Cidr | undefined {
  const bytes = ipOf(addr)
  if (bytes == null) return undefined
  const mask = addr.getComponents().find(c => c.name === 'ipcidr')?.value
  const bits = mask == null ? bytes.length * 8 : Number(mask)
  return Number.isInteger(bits) && bits >= 0 && bits <= bytes.length * 8 ? { bytes, bits } : undefined
}

function inCidr (ip: IpBytes, cidr: Cidr): boolean {
  if (ip.length !== cidr.bytes.length) return false
  const whole = Math.floor(cidr.bits / 8)
  for (let i = 0; i < whole; i++) if (ip[i] !== cidr.bytes[i]) return false
  const rest = cidr.bits % 8
  if (rest === 0) return true
  // the top `rest` bits of the next byte
  const size = 2 ** (8 - rest)
  return Math.floor((ip[whole] ?? 0) / size) === Math.floor((cidr.bytes[whole] ?? 0) / size)
}
