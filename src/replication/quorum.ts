import { QuorumNotReachedError } from '../errors.ts'

/** One replica's outcome in a fan-out. */
export interface ReplicaResult<T> {
  /** which replica (peer id string) */
  peer: string
  value: T
}

/**
 * Resolves as soon as `needed` of the tasks have succeeded, with those results; rejects with
 * `QuorumNotReachedError` (an AggregateError holding every failure) as soon as so many have failed
 * that `needed` cannot be reached any more. Tasks still running keep running: the caller decides
 * whether to abort them or let them finish (writes should finish, to reach N copies).
 */
export async function waitForQuorum<T> (
  tasks: Array<{ peer: string, promise: Promise<T> }>,
  needed: number,
  what: { op: string, unit: string }
): Promise<Array<ReplicaResult<T>>> {
  const results: Array<ReplicaResult<T>> = []
  const errors: Error[] = []
  const failedPeers: string[] = []
  if (needed <= 0) return results

  return new Promise((resolve, reject) => {
    let done = false
    const check = (): void => {
      if (done) return
      if (results.length >= needed) {
        done = true
        resolve(results.slice())
      } else if (tasks.length - errors.length < needed) {
        done = true
        const peers = failedPeers.map(shortPeer).join(', ')
        reject(new QuorumNotReachedError(errors,
          `quorum not reached: ${results.length} of ${needed} ${what.unit} (${what.op}; failed: ${peers === '' ? 'none' : peers}; retry, or lower --${what.unit === 'acks' ? 'w' : 'r'})`))
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

/** `12D3KooWAbc…xyz9` → `12D3…xyz9` for messages */
export function shortPeer (peer: string): string {
  const [id = '', rest] = peer.split(' (')
  const short = id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id
  return rest == null ? short : `${short} (${rest}`
}
