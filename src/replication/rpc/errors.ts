import { AbortError, InvalidMessageError, InvalidParametersError, NotFoundError, NotStartedError, TimeoutError } from '@libp2p/interface'
import { KeyTooLargeError, PreconditionFailedError, QuorumNotReachedError, QuotaExceededError, TooManySiblingsError, ValueTooLargeError } from '../../errors.ts'
import { shortPeer } from '../quorum.ts'
import type { KvResponse } from '../../protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

/** The errors a replica may answer that a caller here branches on, rebuilt as the same class. */
const KNOWN: Record<string, (message: string) => Error> = {
  QuorumNotReachedError: message => new QuorumNotReachedError([], message),
  KeyTooLargeError: message => new KeyTooLargeError(message),
  ValueTooLargeError: message => new ValueTooLargeError(message),
  TooManySiblingsError: message => new TooManySiblingsError(message),
  PreconditionFailedError: message => new PreconditionFailedError(message),
  QuotaExceededError: message => new QuotaExceededError(message),
  InvalidParametersError: message => new InvalidParametersError(message),
  InvalidMessageError: message => new InvalidMessageError(message),
  NotFoundError: message => new NotFoundError(message),
  NotStartedError: message => new NotStartedError(message),
  TimeoutError: message => new TimeoutError(message),
  AbortError: message => new AbortError(message)
}

/**
 * The one way an answer that is not what was asked for becomes a local error: an `error` answer
 * is rebuilt with the replica's error name (as its class when we know it, so `instanceof` and
 * `err.name` both work) and its message, followed by which peer said so; any other answer is an
 * `InvalidMessageError` naming the status. A quorum error's message keeps its actionable text
 * first: `quorum not reached: 1 of 2 acks (…) (from 12D3…x9)`.
 */
export function remoteError (response: KvResponse, peer: PeerId): Error {
  const from = shortPeer(peer.toString())
  if (response.status !== 'error') return new InvalidMessageError(`unexpected ${response.status} answer from ${from}`)
  const message = `${response.errorMessage} (from ${from})`
  const known = KNOWN[response.errorName]
  if (known != null) return known(message)
  const err = new Error(message)
  err.name = response.errorName
  return err
}

/** Throws `remoteError` unless the answer is `ok`; returns it narrowed. */
export function expectOk (response: KvResponse, peer: PeerId): Extract<KvResponse, { status: 'ok' }> {
  if (response.status !== 'ok') throw remoteError(response, peer)
  return response
}

/** The answer that carries a local error to the requester (the inverse of `remoteError`). */
export function errorResponse (err: unknown): KvResponse {
  const e = err instanceof Error ? err : new Error(String(err))
  return { status: 'error', errorName: e.name, errorMessage: e.message }
}
