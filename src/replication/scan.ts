import { InvalidParametersError } from '@libp2p/interface'
import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { emptySiblingSet, mergeSiblingSets } from '../clock/index.ts'
import { CLIENT_REQUEST_TIMEOUT, DEFAULT_N, DEFAULT_SCAN_PAGE, MAX_KEY_BYTES, MAX_SCAN_PAGE } from '../constants.ts'
import { QuorumNotReachedError } from '../errors.ts'
import { shortPeer } from './quorum.ts'
import { ScanHandler } from './rpc/handlers/scan.ts'
import { remoteError } from './rpc/index.ts'
import type { KvRpc } from './rpc/index.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { ScanEntry, ScanRange } from '../protocol/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions, ComponentLogger, Logger, PeerId } from '@libp2p/interface'

/** What the scanner uses. */
export interface ScannerComponents {
  logger: ComponentLogger
  peerId: PeerId
  engine: Pick<Engine, 'entries'>
  rpc: Pick<KvRpc, 'request'>
  /** this peer plus every member alive or suspect: the peers a listing asks */
  members: { list(): Array<{ peerId: PeerId }> }
}

/** Options of the scanner. */
export interface ScannerInit {
  /**
   * Replicas per key: a listing stays complete while at most n − 1 of the peers it asks fail to
   * answer (every key has n copies, so one of them answered); past that it fails.
   *
   * @default DEFAULT_N
   */
  n?: number
  /** deadline of one listing page. @default CLIENT_REQUEST_TIMEOUT */
  requestTimeout?: number
}

/** Options of a listing. */
export interface ScanOptions extends AbortOptions {
  /** only keys that start with these bytes. @default every key */
  prefix?: Uint8Array
  /** only keys strictly after this one (a page's cursor). @default from the first key */
  after?: Uint8Array
  /** with the values (an export); else the siblings carry empty values. @default false */
  values?: boolean
  /**
   * Keep keys whose merged state holds only tombstones (an export keeps deletes, so that they
   * still supersede what they deleted once imported). @default false
   */
  tombstones?: boolean
}

/** Options of one page. */
export interface PageOptions extends ScanOptions {
  /** most keys in the page, 1 to MAX_SCAN_PAGE. @default DEFAULT_SCAN_PAGE */
  limit?: number
}

/** One key of a listing: its state merged over every peer that answered. */
export interface ScannedKey {
  key: Uint8Array
  state: SiblingSet
}

/** One page of a listing. */
export interface ScanPage {
  keys: ScannedKey[]
  /** the cursor of the next page (its `after`); absent when the listing is complete */
  next?: Uint8Array
  /** peers asked */
  peers: number
  /** peers that did not answer (at most n − 1) */
  unreachable: string[]
}

/** One peer's part of a running listing: what it answered and not yet merged, and where it resumes. */
interface Source {
  peerId: PeerId
  peer: string
  self: boolean
  buffer: ScanEntry[]
  /** it said it holds more keys after `after` */
  more: boolean
  after?: Uint8Array
  failed: boolean
  /** why it failed */
  error?: Error
}

/**
 * Lists the keys of the whole network in bytewise order: a scatter to every live member (SCAN
 * pages from each peer's engine, in key order from a start key) and a k-way merge by key. Each
 * key's states are merged (dots and deleted flags, as a get merges replies), so a key appears once,
 * and only when its merge still has a live sibling: a delete that reached any answering replica
 * hides a stale copy elsewhere, and a key with only tombstones is not listed. Memory stays at the
 * pages in flight, one per peer, never the key set.
 *
 * A peer that fails to answer (killed mid-listing, unreachable) is dropped from the rest of the
 * listing; up to n − 1 such peers leave it complete for every key with n copies, more make it
 * fail with `QuorumNotReachedError`. Keys written while a listing runs may or may not appear.
 */
export class Scanner {
  private readonly components: ScannerComponents
  private readonly log: Logger
  private readonly n: number
  private readonly requestTimeout: number
  private readonly local: ScanHandler

  constructor (components: ScannerComponents, init: ScannerInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('p2pstore:replication:scan')
    this.n = init.n ?? DEFAULT_N
    this.requestTimeout = init.requestTimeout ?? CLIENT_REQUEST_TIMEOUT
    this.local = new ScanHandler(components)
  }

  /** One page of at most `limit` keys, and the cursor of the next; the page has its own deadline. */
  async page (options: PageOptions = {}): Promise<ScanPage> {
    const limit = options.limit ?? DEFAULT_SCAN_PAGE
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_PAGE) {
      throw new InvalidParametersError(`limit=${limit}: a page holds 1 to ${MAX_SCAN_PAGE} keys`)
    }
    const signal = anySignal([options.signal, AbortSignal.timeout(this.requestTimeout)])
    setMaxListeners(Infinity, signal)
    const run = this.run({ ...options, signal }, limit)
    const keys: ScannedKey[] = []
    try {
      for await (const key of run.keys) {
        keys.push(key)
        if (keys.length === limit) break
      }
      const last = keys[keys.length - 1]
      const next = keys.length === limit && last != null && run.remaining() ? last.key : undefined
      return { keys, ...(next == null ? {} : { next }), peers: run.sources.length, unreachable: run.sources.filter(s => s.failed).map(s => s.peer) }
    } finally {
      signal.clear()
    }
  }

  /**
   * Every key from `after` on, merged, as a stream: the caller's pace decides how much is asked
   * (each peer is asked for its next page only once its last one is merged). Every request has the
   * replica deadline; the stream as a whole only the caller's signal.
   */
  async * scan (options: ScanOptions = {}): AsyncGenerator<ScannedKey> {
    yield * this.run(options, MAX_SCAN_PAGE).keys
  }

  private run (options: ScanOptions, limit: number): { keys: AsyncGenerator<ScannedKey>, sources: Source[], remaining(): boolean } {
    checkBytes(options.prefix, 'prefix')
    checkBytes(options.after, 'cursor')
    const self = this.components.peerId
    const members = this.components.members.list()
    const seen = new Set<string>()
    const sources: Source[] = []
    for (const m of members) {
      const peer = m.peerId.toString()
      if (seen.has(peer)) continue
      seen.add(peer)
      sources.push({ peerId: m.peerId, peer, self: m.peerId.equals(self), buffer: [], more: true, after: options.after, failed: false })
    }
    // each peer holds about n / peers of the keys: ask for that share of a page (twice, for the
    // imbalance of placement), refilled as it runs out
    const perPeer = Math.min(MAX_SCAN_PAGE, Math.max(16, Math.ceil(2 * limit * this.n / Math.max(1, sources.length))))
    const range = { prefix: options.prefix ?? new Uint8Array(0), limit: perPeer, values: options.values === true }
    const keys = this.merge(sources, range, options)
    return { keys, sources, remaining: () => sources.some(s => !s.failed && (s.buffer.length > 0 || s.more)) }
  }

  private async * merge (sources: Source[], range: Omit<ScanRange, 'after'>, options: ScanOptions): AsyncGenerator<ScannedKey> {
    for (;;) {
      await Promise.all(sources.filter(s => !s.failed && s.more && s.buffer.length === 0).map(async s => { await this.fill(s, range, options) }))
      options.signal?.throwIfAborted()
      this.checkFailures(sources)
      let first: Uint8Array | undefined
      for (const s of sources) {
        const head = s.buffer[0]
        if (!s.failed && head != null && (first == null || Buffer.compare(head.key, first) < 0)) first = head.key
      }
      if (first == null) return
      let state = emptySiblingSet()
      for (const s of sources) {
        const head = s.buffer[0]
        if (s.failed || head == null || Buffer.compare(head.key, first) !== 0) continue
        state = mergeSiblingSets(state, head.state)
        s.buffer.shift()
      }
      if (options.tombstones === true || state.siblings.some(sibling => !sibling.deleted)) yield { key: first, state }
    }
  }

  /** Asks one peer for its next page; a failure (or a page outside the range asked) drops it from the listing. */
  private async fill (source: Source, range: Omit<ScanRange, 'after'>, options: AbortOptions): Promise<void> {
    const scan: ScanRange = { ...range, ...(source.after == null ? {} : { after: source.after }) }
    try {
      let entries: ScanEntry[]
      let more: boolean
      if (source.self) {
        const answer = await this.local.handle({ type: 'scan', scan }, undefined, options)
        entries = answer.status === 'ok' ? answer.entries ?? [] : []
        more = answer.status === 'ok' && answer.more === true
      } else {
        const answer = await this.components.rpc.request(source.peerId, { type: 'scan', scan }, options)
        if (answer.status !== 'ok') throw remoteError(answer, source.peerId)
        entries = answer.entries ?? []
        more = answer.more === true
      }
      // the decoder checked the order; the range is ours to check
      for (const entry of entries) {
        if (!startsWith(entry.key, range.prefix) || (source.after != null && Buffer.compare(entry.key, source.after) <= 0)) {
          throw new InvalidParametersError(`${shortPeer(source.peer)} answered a key outside the range asked`)
        }
      }
      if (more && entries.length === 0) throw new InvalidParametersError(`${shortPeer(source.peer)} answered an empty page with more to come`)
      source.buffer = entries
      source.more = more
      const last = entries[entries.length - 1]
      if (last != null) source.after = last.key
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      this.log('scan: %p did not answer, listing on without it - %e', source.peerId, err)
      source.failed = true
      source.buffer = []
      source.error = err as Error
    }
  }

  private checkFailures (sources: Source[]): void {
    const failed = sources.filter(s => s.failed)
    if (failed.length < this.n) return
    throw new QuorumNotReachedError(failed.map(s => s.error ?? new Error('no answer')),
      `listing incomplete: ${failed.length} of ${sources.length} peers did not answer (${failed.map(s => shortPeer(s.peer)).join(', ')}), and a key may have all its ${this.n} copies among them; retry, or check \`p2pstore peers\``)
  }
}

function startsWith (key: Uint8Array, prefix: Uint8Array): boolean {
  return key.byteLength >= prefix.byteLength && Buffer.compare(key.subarray(0, prefix.byteLength), prefix) === 0
}

function checkBytes (bytes: Uint8Array | undefined, what: string): void {
  if (bytes != null && bytes.byteLength > MAX_KEY_BYTES) throw new InvalidParametersError(`the ${what} is ${bytes.byteLength} bytes: at most ${MAX_KEY_BYTES} (a key's length)`)
}
