/**
 * Virtual positions (issue #15): each member occupies `round(capacity × POSITIONS_PER_CAPACITY)`
 * positions in the XOR key space, derived from its kad id alone (position 0 is the kad id itself,
 * positions 8j + 1 … 8j + 8 are the eight 32-bit words of sha256(kadId ‖ j as 4 bytes big-endian)), so nothing has to be persisted or
 * gossiped beyond the capacity. A key's preference list is the distinct members in XOR order of
 * their positions nearest to `keyId` (Kademlia's metric on many positions, as Dynamo §6.2 and
 * Cassandra's vnodes do on a ring); its first N are the home replicas, chosen so that they span
 * min(N, zones) distinct zones and then by distance (Cassandra's NetworkTopologyStrategy). The
 * rest of the list puts members of zones that hold no home replica first (sloppy-quorum fallbacks).
 *
 * Positions are ranked by their first 32 bits (equal prefixes, ~1 pair in 10^6 at 10 000 peers,
 * rank by member kad id): a sorted Uint32Array walked as a binary trie answers a lookup in a few
 * microseconds, and a 10 000-peer view with 128 positions each fits in ~10 MB.
 * Pure: no I/O.
 */

/* eslint-disable no-bitwise -- a binary trie over 32-bit prefixes: bit operations are the algorithm */
import { hash } from 'node:crypto'
import { POSITIONS_PER_CAPACITY } from '../constants.ts'
import type { Placed } from './xor.ts'

/** A member as placement ranks it: its kad id, capacity weight and zone. */
export interface PlacedMember extends Placed {
  /** capacity weight: positions = round(capacity × POSITIONS_PER_CAPACITY), at least 1. @default 1 */
  capacity?: number
  /** zone label; members without one share the unnamed zone. @default undefined */
  zone?: string
}

/** How many positions a member of `capacity` occupies. */
export function positionCount (capacity = 1, perCapacity = POSITIONS_PER_CAPACITY): number {
  return Math.max(1, Math.round(capacity * perCapacity))
}

const cache = new WeakMap<Uint8Array, { count: number, positions: Uint32Array }>()

/** The first 32 bits of a member's positions (cached per kad id). */
export function memberPositions (kadId: Uint8Array, count: number): Uint32Array {
  const hit = cache.get(kadId)
  if (hit?.count === count) return hit.positions
  const positions = new Uint32Array(count)
  positions[0] = prefix32(kadId)
  const input = new Uint8Array(kadId.length + 4)
  input.set(kadId)
  const view = new DataView(input.buffer)
  // one sha256 gives eight 32-bit positions: block j holds positions 8j + 1 … 8j + 8
  for (let block = 0; 8 * block + 1 < count; block++) {
    view.setUint32(kadId.length, block)
    const h = hash('sha256', input, 'buffer')
    const words = new DataView(h.buffer, h.byteOffset, h.byteLength)
    for (let w = 0; w < 8 && 8 * block + 1 + w < count; w++) positions[8 * block + 1 + w] = words.getUint32(4 * w)
  }
  cache.set(kadId, { count, positions })
  return positions
}

/** The first 32 bits of an id, big-endian. */
export function prefix32 (id: Uint8Array): number {
  return (((id[0] ?? 0) << 24) | ((id[1] ?? 0) << 16) | ((id[2] ?? 0) << 8) | (id[3] ?? 0)) >>> 0
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length)
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return a.length - b.length
}

const OWNER_BITS = 2 ** 20

/**
 * The placement of one member view: every member's positions sorted, walked as a binary trie.
 * Built once per view (O(positions log positions)); lookups do not allocate beyond their answer.
 */
export class PlacementTable<T extends PlacedMember> {
  /** the members, ordered by kad id (their index is their rank in ties) */
  readonly members: T[]
  /** the first 32 bits of every position, sorted */
  readonly positions: Uint32Array
  /** the member (index into `members`) of each position */
  readonly owners: Uint32Array
  private readonly zoneOf: Uint32Array
  /** how many distinct zones the members declare (the unnamed zone counts as one) */
  readonly zones: number
  private readonly stamp: Uint32Array
  private generation = 0
  private readonly stack = new Int32Array(160)

  constructor (members: Iterable<T>, perCapacity = POSITIONS_PER_CAPACITY) {
    this.members = [...members].sort((a, b) => compareBytes(a.kadId, b.kadId))
    if (this.members.length >= OWNER_BITS) throw new RangeError(`placement ranks at most ${OWNER_BITS - 1} members`)
    const zoneIds = new Map<string, number>()
    this.zoneOf = new Uint32Array(this.members.length)
    let total = 0
    const counts = this.members.map((m, i) => {
      const zone = m.zone ?? ''
      let z = zoneIds.get(zone)
      if (z == null) zoneIds.set(zone, z = zoneIds.size)
      this.zoneOf[i] = z
      const count = positionCount(m.capacity, perCapacity)
      total += count
      return count
    })
    this.zones = zoneIds.size
    // position × 2^20 + owner is exact in a double (52 bits): one native sort orders both
    const packed = new Float64Array(total)
    let at = 0
    this.members.forEach((m, i) => {
      for (const p of memberPositions(m.kadId, counts[i] ?? 1)) packed[at++] = p * OWNER_BITS + i
    })
    packed.sort()
    this.positions = new Uint32Array(total)
    this.owners = new Uint32Array(total)
    for (let j = 0; j < total; j++) {
      const v = packed[j] ?? 0
      const owner = v % OWNER_BITS
      this.owners[j] = owner
      this.positions[j] = (v - owner) / OWNER_BITS
    }
    this.stamp = new Uint32Array(this.members.length)
  }

  /** The key's home replicas: the first `n` of its preference list. */
  homeReplicas (target: Uint8Array, n: number): T[] {
    return this.preferenceList(target, n, n)
  }

  /**
   * The key's preference list: its `n` home replicas (distinct members nearest by XOR, spanning
   * min(n, zones) zones), then up to `limit - n` more, those of zones without a home replica first,
   * each group by distance.
   */
  preferenceList (target: Uint8Array, n: number, limit = Infinity): T[] {
    const want = Math.min(n, this.members.length)
    const wantZones = Math.min(want, this.zones)
    const home: number[] = []
    const zones = new Set<number>()
    const rest: number[] = []
    this.walk(prefix32(target), i => {
      const zone = this.zoneOf[i] as number
      // a member of a zone already chosen is taken only while enough places remain for the zones still missing
      if (home.length < want && (!zones.has(zone) || want - home.length > wantZones - zones.size)) {
        home.push(i)
        zones.add(zone)
      } else {
        rest.push(i)
      }
      if (home.length < want) return false
      if (limit <= want) return true
      if (limit === Infinity) return false
      // enough others are known once as many of zones without a home replica are, or every zone holds one
      const away = rest.reduce((c, r) => zones.has(this.zoneOf[r] ?? 0) ? c : c + 1, 0)
      return away >= limit - want || (zones.size === this.zones && rest.length >= limit - want)
    })
    const away = rest.filter(i => !zones.has(this.zoneOf[i] ?? 0))
    const near = rest.filter(i => zones.has(this.zoneOf[i] ?? 0))
    return [...home, ...away, ...near].slice(0, limit).map(i => this.members[i] as T)
  }

  /**
   * Exact expected ownership: for each member (in `members` order), the fraction of the key space
   * (of 2^32 prefixes) for which it is one of the `n` home replicas. The shares sum to min(n, members).
   */
  ownership (n: number): Float64Array {
    const shares = new Float64Array(this.members.length)
    const m = this.positions.length
    if (m === 0) return shares
    const want = Math.min(n, this.members.length)
    const wantZones = Math.min(want, this.zones)
    const visit = (stack: number[], knownMask: number, knownBits: number, chosen: number[], zones: Set<number>, weight: number): void => {
      while (stack.length > 0) {
        const hi = stack.pop() as number
        const lo = stack.pop() as number
        const x = ((this.positions[lo] ?? 0) ^ (this.positions[hi - 1] ?? 0)) >>> 0
        if (hi - lo === 1 || x === 0) {
          for (let j = lo; j < hi && chosen.length < want; j++) {
            const owner = this.owners[j] as number
            const zone = this.zoneOf[owner] as number
            if (chosen.includes(owner) || (zones.has(zone) && want - chosen.length <= wantZones - zones.size)) continue
            chosen = [...chosen, owner]
            zones = new Set(zones).add(zone)
          }
          if (chosen.length === want) break
          continue
        }
        const mask = (1 << (31 - Math.clz32(x))) >>> 0
        const mid = this.splitAt(lo, hi, mask)
        if ((knownMask & mask) !== 0) {
          if ((knownBits & mask) !== 0) stack.push(lo, mid, mid, hi)
          else stack.push(mid, hi, lo, mid)
          continue
        }
        // the key's bit here is still free: half the keys go each way
        visit([...stack, lo, mid, mid, hi], (knownMask | mask) >>> 0, (knownBits | mask) >>> 0, chosen, zones, weight / 2)
        visit([...stack, mid, hi, lo, mid], (knownMask | mask) >>> 0, knownBits, chosen, zones, weight / 2)
        return
      }
      for (const c of chosen) shares[c] = (shares[c] ?? 0) + weight
    }
    visit([0, m], 0, 0, [], new Set(), 1)
    return shares
  }

  /** calls `visit` with member indices in XOR order of their nearest position to `key` until it returns true */
  private walk (key: number, visit: (member: number) => boolean): void {
    const m = this.positions.length
    if (m === 0) return
    if (++this.generation === 0xffffffff) { this.stamp.fill(0); this.generation = 1 }
    const stack = this.stack
    let sp = 0
    stack[sp++] = 0
    stack[sp++] = m
    while (sp > 0) {
      const hi = stack[--sp] as number
      const lo = stack[--sp] as number
      const x = ((this.positions[lo] ?? 0) ^ (this.positions[hi - 1] ?? 0)) >>> 0
      if (hi - lo === 1 || x === 0) {
        for (let j = lo; j < hi; j++) {
          const owner = this.owners[j] as number
          if (this.stamp[owner] === this.generation) continue
          this.stamp[owner] = this.generation
          if (visit(owner)) return
        }
        continue
      }
      const mask = (1 << (31 - Math.clz32(x))) >>> 0
      const mid = this.splitAt(lo, hi, mask)
      // far side first, so the near side is walked next (a range's positions share every bit above `mask`)
      if ((key & mask) !== 0) { stack[sp++] = lo; stack[sp++] = mid; stack[sp++] = mid; stack[sp++] = hi } else { stack[sp++] = mid; stack[sp++] = hi; stack[sp++] = lo; stack[sp++] = mid }
    }
  }

  /** the first index in [lo, hi) whose position has `mask` set (all share the bits above it) */
  private splitAt (lo: number, hi: number, mask: number): number {
    let a = lo
    let b = hi
    while (a < b) {
      const c = (a + b) >>> 1
      if ((((this.positions[c] ?? 0) & mask) >>> 0) !== 0) b = c
      else a = c + 1
    }
    return a
  }
}

const tables: Array<{ key: string, table: PlacementTable<PlacedMember> }> = []

/** A view's cache key: its members' ids, capacities and zones. */
function viewKey (list: PlacedMember[]): string {
  return list.map(c => `${Buffer.from(c.kadId).toString('base64')}:${c.capacity ?? 1}:${c.zone ?? ''}`).sort().join(',')
}

/**
 * The key's preference list among `candidates` (see `PlacementTable.preferenceList`). The table of
 * a view is reused while the same members with the same capacities and zones are asked again (a few
 * recent views are kept); the answer holds the caller's own objects.
 */
export function placedPreferenceList<T extends PlacedMember> (target: Uint8Array, candidates: Iterable<T>, n: number, limit = Infinity): T[] {
  const list = [...candidates]
  const key = viewKey(list)
  let table = tables.find(t => t.key === key)?.table
  if (table == null) {
    table = new PlacementTable<PlacedMember>(list)
    tables.unshift({ key, table })
    if (tables.length > 4) tables.pop()
  }
  const byId = new Map(list.map(m => [Buffer.from(m.kadId).toString('base64'), m]))
  return table.preferenceList(target, n, limit).map(m => byId.get(Buffer.from(m.kadId).toString('base64')) as T)
}

/**
 * Takes out of `fallbacks` the one to try next for `failed`, a home replica that could not take a
 * write (sloppy quorum): a member of a zone where none of `home` is first, then one of the failed
 * replica's own zone (which now lacks its copy), then the nearest. `undefined` when none is left.
 */
export function takeFallback<T extends PlacedMember> (fallbacks: T[], failed: PlacedMember, home: PlacedMember[]): T | undefined {
  const homeZones = new Set(home.map(h => h.zone ?? ''))
  let at = fallbacks.findIndex(f => !homeZones.has(f.zone ?? ''))
  if (at === -1) at = fallbacks.findIndex(f => (f.zone ?? '') === (failed.zone ?? ''))
  if (at === -1) at = 0
  return fallbacks.splice(at, 1)[0]
}
