import { setTimeout as sleep } from 'node:timers/promises'
import { HttpClient } from '../client/index.ts'
import { encodeValue, decodeValue } from './checker.ts'
import type { History, Outcome } from './history.ts'
import type { Random } from './random.ts'
import type { GetJson } from '../api/index.ts'

/** A daemon the workload may send requests to. */
export interface WorkloadPeer {
  index: number
  api: string
  /** bearer token of an API bound beyond loopback (network-namespace test nets) */
  token?: string
}

/** Options of `Workload`. */
export interface WorkloadInit {
  /** the peers' APIs, asked before every operation (a restarted peer keeps its API port) */
  peers(): WorkloadPeer[]
  /** concurrent clients, each one operation at a time */
  clients: number
  /** keys that get blind writes (`k0`, `k1`, …); 0: blind writes go to the hot keys */
  keys: number
  /** keys that get read-modify-writes (`hot0`, …) */
  hotKeys: number
  /** share of operations that are read-modify-writes (0–1) */
  rmwShare: number
  /** requests each client makes per second at most (a pause between operations keeps 2 cores usable) */
  rate: number
  /** deadline of one request, after which its outcome is unknown */
  requestTimeout: number
  /**
   * Read-modify-writes read with `resolve=lww`: keep only the sibling with the latest timestamp and
   * drop the others, as a last-write-wins store does. Loses concurrent writes by design; it shows
   * what the checker catches.
   *
   * @default false
   */
  lww?: boolean
  /** the generator every client forks its own from */
  random: Random
  history: History
}

/**
 * Clients that write unique elements (`client:seq`) through random peers until aborted: blind
 * writes to many keys (each a new sibling) and read-modify-writes of a few hot keys (read with
 * R=2, merge every sibling's elements, add one, write with the read's context). Every operation
 * goes to the history as invoke, then ok / fail / unknown.
 */
export class Workload {
  private readonly init: WorkloadInit

  constructor (init: WorkloadInit) {
    this.init = init
  }

  /** Every key the workload may write. */
  get keyNames (): string[] {
    return [...this.blindKeys(), ...this.hotKeyNames()]
  }

  /** Keys that get read-modify-writes. */
  hotKeyNames (): string[] {
    return Array.from({ length: this.init.hotKeys }, (_, i) => `hot${i}`)
  }

  /** Runs the clients until `signal` aborts; resolves once every operation in flight has ended. */
  async run (signal: AbortSignal): Promise<void> {
    await Promise.all(Array.from({ length: this.init.clients }, async (_, c) => { await this.client(c, signal) }))
  }

  private blindKeys (): string[] {
    return Array.from({ length: this.init.keys }, (_, i) => `k${i}`)
  }

  private async client (c: number, signal: AbortSignal): Promise<void> {
    const random = this.init.random.fork(c + 1)
    const blind = this.init.keys > 0 ? this.blindKeys() : this.hotKeyNames()
    const hot = this.hotKeyNames()
    const gap = 1000 / this.init.rate
    let seq = 0
    while (!signal.aborted) {
      const began = performance.now()
      const peer = random.pick(this.init.peers())
      const element = `c${c}:${++seq}`
      const rmw = hot.length > 0 && random.next() < this.init.rmwShare
      const key = rmw ? random.pick(hot) : random.pick(blind)
      await this.operation(c, peer, rmw ? 'rmw' : 'write', key, element)
      const rest = gap * (0.5 + random.next()) - (performance.now() - began)
      if (rest > 0) await sleep(rest, undefined, { signal }).catch(() => {})
    }
  }

  private async operation (c: number, peer: WorkloadPeer, f: 'write' | 'rmw', key: string, element: string): Promise<void> {
    const { history } = this.init
    const client = new HttpClient({ url: peer.api, token: peer.token }, this.init.requestTimeout)
    history.add({ type: 'invoke', client: c, f, key, element, peer: peer.index })
    const began = performance.now()
    let phase: 'read' | 'write' = f === 'rmw' ? 'read' : 'write'
    try {
      let value = encodeValue({ w: element, s: [element] })
      let context: string | undefined
      let siblings: number | undefined
      if (f === 'rmw') {
        const read = await readOrEmpty(client, key, this.init.lww === true)
        const merged = new Set<string>()
        for (const sibling of read?.siblings ?? []) {
          const text = sibling.encoding === 'utf8' ? sibling.value : Buffer.from(sibling.value, 'base64').toString('utf8')
          for (const e of decodeValue(text)?.s ?? []) merged.add(e)
        }
        merged.add(element)
        value = encodeValue({ w: element, s: [...merged] })
        context = read?.context
        siblings = read?.siblings.length ?? 0
        phase = 'write'
      }
      await client.put(key, new TextEncoder().encode(value), { context })
      history.add({ type: 'ok', client: c, f, key, element, peer: peer.index, latencyMs: ms(began), siblings })
    } catch (err) {
      // a read that failed wrote nothing: the whole operation certainly failed
      const outcome: Outcome = phase === 'read' ? 'fail' : classify(err)
      history.add({ type: outcome, client: c, f, key, element, peer: peer.index, latencyMs: ms(began), error: `${(err as Error).name}: ${(err as Error).message}` })
    }
  }
}

async function readOrEmpty (client: HttpClient, key: string, lww: boolean): Promise<GetJson | undefined> {
  try {
    return await client.get(key, { resolve: lww ? 'lww' : undefined })
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') return undefined
    throw err
  }
}

/**
 * What a failed write means for the checker: refused connections and requests the daemon rejected
 * as invalid never wrote anything; anything else (timeouts, quorum not reached, resets) may have.
 */
export function classify (err: unknown): Outcome {
  const e = err as Error
  if (e.name === 'DaemonUnreachableError' && /ECONNREFUSED/.test(e.message)) return 'fail'
  if (['InvalidParametersError', 'KeyTooLargeError', 'ValueTooLargeError', 'InvalidContextTokenError', 'UnauthorizedError', 'TooManySiblingsError'].includes(e.name)) return 'fail'
  return 'unknown'
}

function ms (began: number): number {
  return Math.round((performance.now() - began) * 10) / 10
}
