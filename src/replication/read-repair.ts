import { emptySiblingSet, mergeSiblingSets, siblingSetsEqual } from '../clock/index.ts'
import { mergeIntoLocal } from './local-store.ts'
import { shortPeer } from './quorum.ts'
import { expectOk } from './rpc/index.ts'
import type { KvRpc } from './rpc/index.ts'
import type { SiblingSet } from '../clock/index.ts'
import type { PeerMetrics, RequestTrace } from '../metrics/index.ts'
import type { PlacedPeer } from '../routing/index.ts'
import type { Engine } from '../storage/index.ts'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** What read repair uses. */
export interface ReadRepairComponents {
  peerId: PeerId
  engine: Engine
  rpc: Pick<KvRpc, 'request'>
  /** where repairs are counted. @default undefined (not counted) */
  metrics?: Pick<PeerMetrics, 'readRepairs'>
}

/** One replica's read of a get: its peer and the promise of its sibling set. */
export interface ReplicaRead {
  replica: PlacedPeer
  peer: string
  promise: Promise<SiblingSet | undefined>
}

/** Which replicas lacked part of `final`: every one that answered and whose state the merge grows. */
export function replicasBehind (replies: Array<{ peer: string, had: SiblingSet | undefined }>, final: SiblingSet): string[] {
  return replies.filter(r => r.had == null || !siblingSetsEqual(mergeSiblingSets(r.had, final), r.had)).map(r => r.peer)
}

/**
 * Read repair (Dynamo section 5): after a get has answered, waits for every replica's reply (each
 * within the replica deadline), merges them all, and sends the merge to each replica that lacked
 * part of it. A replica that failed to answer is left to anti-entropy. Failures are logged only:
 * the client has its answer already.
 */
export class ReadRepair {
  private readonly components: ReadRepairComponents
  private readonly log: Logger
  private readonly repairs = new Set<Promise<void>>()

  constructor (components: ReadRepairComponents, log: Logger) {
    this.components = components
    this.log = log
  }

  /** Starts repairing `key` in the background after its reads; see `settled()`. */
  start (key: Uint8Array, reads: ReplicaRead[], trace?: RequestTrace): void {
    const task = this.repair(key, reads, {}, trace)
    trace?.track(task)
    this.repairs.add(task)
    void task.finally(() => this.repairs.delete(task))
  }

  /** Resolves once every repair started so far has ended (tests, shutdown). */
  async settled (): Promise<void> {
    await Promise.allSettled([...this.repairs])
  }

  /** Repairs `key` after `reads` have settled; resolves when every repair ended (failures are logged). */
  async repair (key: Uint8Array, reads: ReplicaRead[], options: AbortOptions = {}, trace?: RequestTrace): Promise<void> {
    const settled = await Promise.allSettled(reads.map(async r => r.promise))
    const replies: Array<{ peer: string, replica: PlacedPeer, had: SiblingSet | undefined }> = []
    reads.forEach((r, i) => {
      const result = settled[i]
      if (result?.status === 'fulfilled') replies.push({ peer: r.peer, replica: r.replica, had: result.value })
    })
    const final = replies.reduce<SiblingSet>((acc, r) => mergeSiblingSets(acc, r.had ?? emptySiblingSet()), emptySiblingSet())
    if (final.siblings.length === 0 && final.context.vv.size === 0 && final.context.cloud.length === 0) return
    const behind = new Set(replicasBehind(replies, final))
    const self = this.components.peerId.toString()
    await Promise.all(replies.filter(r => behind.has(r.peer)).map(async reply => {
      this.log('read repair of %k on %s', key, shortPeer(reply.peer))
      this.components.metrics?.readRepairs.inc({ reason: reply.had == null ? 'missing' : 'stale' })
      trace?.note('repair', `read repair: ${reply.had == null ? 'no copy' : 'an older version'}, sending the merge`, reply.peer)
      try {
        if (reply.peer === self) {
          await mergeIntoLocal(this.components.engine, key, final, options)
        } else {
          const target = reply.replica.peerId
          expectOk(await this.components.rpc.request(target, { type: 'store', key, state: final }, options), target)
        }
      } catch (err) {
        this.log('read repair of %k on %s failed - %e', key, shortPeer(reply.peer), err)
      }
    }))
  }
}
