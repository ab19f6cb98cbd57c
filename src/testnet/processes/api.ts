/**
 * Asking the daemons of a process test net through their HTTP API, with `src/client`'s
 * `HttpClient`: whether one answers as itself, and whom it sees.
 */

import { HttpClient } from '../../client/index.ts'
import { second } from '../../constants.ts'

/** A daemon's API: its URL and the bearer token it demands, if any. */
export interface DaemonApi {
  url: string
  token?: string
}

/** The peer id daemon `api` answers with, or undefined while it does not answer. */
export async function statusPeerId (api: DaemonApi): Promise<string | undefined> {
  try {
    return (await new HttpClient(api, 2 * second).status()).peerId
  } catch {
    return undefined
  }
}

/**
 * The peers daemon `api` counts as alive members: once every daemon sees every other so, every
 * member view is complete. A daemon busy starting may not answer yet: it sees nobody.
 */
export async function alivePeerIds (api: DaemonApi, signal?: AbortSignal): Promise<Set<string>> {
  try {
    const peers = await new HttpClient(api, 5 * second).peers({ signal })
    return new Set(peers.filter(p => p.state === 'alive').map(p => p.peerId))
  } catch {
    return new Set()
  }
}

/**
 * How many members daemon `api` counts as alive (its status line), or undefined while it does not
 * answer: a cheap first test before `alivePeerIds()` lists them.
 */
export async function aliveCount (api: DaemonApi, signal?: AbortSignal): Promise<number | undefined> {
  try {
    return (await new HttpClient(api, 5 * second).status({ signal })).peers.alive
  } catch {
    return undefined
  }
}
