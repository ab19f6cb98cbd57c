import { QuorumNotReachedError } from '../errors.ts'
import { shortPeerId } from '../util/index.ts'

/** One replica's outcome in a fan-out. */
export interface ReplicaResult<T> {
  /** which replica (peer id string) */
  peer: string
  value: T
}

/** What a quorum counts, for its error message (DESIGN §4: one rule for R and W). */
export interface QuorumInit {
  /** `put` or `get` (a delete is a put of a tombstone) */
  op: string
  /** `acks` (writes) or `replies` (reads) */
  unit: 'acks' | 'replies'
  /** the replicas the key should have (the request's N) */
  n: number
  /** this peer is the only one in its view: the message says so instead of counting replicas */
  alone?: boolean
  /** the peer's member view may be partial (not joined yet): a lone peer says it knows no other yet */
  partial?: boolean
  /**
   * When failures make the quorum unreachable, wait for the tasks still running before rejecting
   * (writes: they reach every replica they can, and the error counts the durable copies); without,
   * reject at once with the answers so far. Fewer tasks than needed always wait for all of them.
   *
   * @default false
   */
  settle?: boolean
}

/**
 * Resolves as soon as `needed` of the tasks have succeeded, with those results. Once `needed`
 * cannot be reached any more — too many failed, or fewer replicas exist than `needed` — it rejects
 * with `QuorumNotReachedError` (an AggregateError holding every failure), whose message says how
 * many replicas exist for the key, how many answered, which failed and why, and what to do.
 *
 * A quorum is never capped: R or W larger than the replicas that exist fails fast, once those
 * replicas have answered (each has its own replica deadline), never by waiting for the client
 * deadline. Writes settle the same way after failures (`settle`), so the error counts the copies
 * really made. Tasks still running after a success keep running: the caller decides whether to
 * abort them or let them finish (writes should finish, to reach N copies).
 */
export async function waitForQuorum<T> (
  tasks: Array<{ peer: string, promise: Promise<T> }>,
  needed: number,
  what: QuorumInit
): Promise<Array<ReplicaResult<T>>> {
  const results: Array<ReplicaResult<T>> = []
  const errors: Error[] = []
  const failedPeers: string[] = []
  if (needed <= 0) return results

  // too few replicas exist: nothing will time out waiting for them, so count what those that exist say
  const settle = what.settle === true || tasks.length < needed
  return new Promise((resolve, reject) => {
    let done = false
    const check = (): void => {
      if (done) return
      if (results.length >= needed) {
        done = true
        resolve(results.slice())
      } else if (tasks.length - errors.length < needed && (!settle || results.length + errors.length === tasks.length)) {
        // impossible (and when settling, every task has ended: the counts are final)
        done = true
        reject(new QuorumNotReachedError(errors, quorumMessage(results.length, needed, tasks.length, failedPeers, what)))
      }
    }
    for (const task of tasks) {
      task.promise.then(value => {
        results.push({ peer: task.peer, value })
        check()
      }, (err: Error) => {
        errors.push(err)
        failedPeers.push(`${task.peer} (${err.message})`)
        check()
      })
    }
    check()
  })
}

/**
 * `quorum not reached: 1 of 2 acks (only 1 peer in this network; start more peers, or lower --w/--n)`,
 * `quorum not reached: 2 of 3 acks (2 live replicas of 3 for this key; failed: none; start more
 * peers, or lower --w/--n)`, `quorum not reached: 1 of 2 replies (get; failed: 12D3…x9 (…); retry,
 * or lower --r)`.
 */
export function quorumMessage (answered: number, needed: number, replicas: number, failed: string[], what: QuorumInit): string {
  const flag = what.unit === 'acks' ? 'w' : 'r'
  const failures = `failed: ${failed.length === 0 ? 'none' : failed.map(shortPeer).join(', ')}`
  const tooFew = replicas < needed
  const hint = !tooFew
    ? `retry, or lower --${flag}`
    : what.alone === true && what.partial === true ? `check the bootstrap peers and \`p2pstore status\`, or lower --${flag}/--n` : `start more peers, or lower --${flag}/--n`
  const where = what.alone === true
    ? (what.partial === true ? 'this peer knows no other peer yet: it has not joined its bootstrap peers' : 'only 1 peer in this network')
    : replicas < what.n ? `${replicas} live replica${replicas === 1 ? '' : 's'} of ${what.n} for this key` : what.op
  const detail = what.alone === true && failed.length === 0 ? [where, hint] : [where, failures, hint]
  return `quorum not reached: ${answered} of ${needed} ${what.unit} (${detail.join('; ')})`
}

/** `12D3KooWAbc…xyz9` → `12D3…xyz9` for messages */
export function shortPeer (peer: string): string {
  const [id = '', rest] = peer.split(' (')
  const short = shortPeerId(id)
  return rest == null ? short : `${short} (${rest}`
}
