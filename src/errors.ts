/**
 * Every error condition a caller of p2pstore must react to differently, and the single table that
 * maps each one to an HTTP status, a CLI exit code and a hint for the user.
 *
 * Errors from `@libp2p/interface` are reused where they fit (`InvalidParametersError`,
 * `InvalidMultiaddrError`, `NotFoundError`, `TimeoutError`, `AbortError`, `NotStartedError`);
 * p2pstore adds its own only where a caller must branch on them. Code branches on `err.name`, never
 * on `instanceof`, because errors cross module copies and process boundaries.
 *
 * @packageDocumentation
 */

/** A configuration value (flag, config file, environment) is invalid; names the key and the allowed range. */
export class InvalidConfigurationError extends Error {
  static override readonly name = 'InvalidConfigurationError'
  override readonly name = 'InvalidConfigurationError'
}

/** The data dir cannot be used: unreadable, not writable, not a directory, or of an unknown schema version. */
export class DataDirError extends Error {
  static override readonly name = 'DataDirError'
  override readonly name = 'DataDirError'
}

/** Another daemon already runs on this data dir. */
export class DataDirLockedError extends Error {
  static override readonly name = 'DataDirLockedError'
  override readonly name = 'DataDirLockedError'
}

/**
 * The key-encryption key of an encrypted data dir is missing, malformed or not the one the data dir
 * was encrypted with (encryption at rest, SECURITY.md). Raised before anything is written.
 */
export class EncryptionKeyError extends Error {
  static override readonly name = 'EncryptionKeyError'
  override readonly name = 'EncryptionKeyError'
}

/**
 * A stored record (or the data dir's encryption metadata) failed authentication: a bit flipped on
 * disk, or it was altered or moved to another key. Never answered as data.
 */
export class IntegrityError extends Error {
  static override readonly name = 'IntegrityError'
  override readonly name = 'IntegrityError'
}

/** A listen address (libp2p or API) is already taken by another process. */
export class AddressInUseError extends Error {
  static override readonly name = 'AddressInUseError'
  override readonly name = 'AddressInUseError'
}

/** The CLI found no running daemon to talk to. */
export class DaemonUnreachableError extends Error {
  static override readonly name = 'DaemonUnreachableError'
  override readonly name = 'DaemonUnreachableError'
}

/**
 * The server at the API URL answered, but not as a p2pstore daemon does: an HTML page, JSON of
 * another shape, or a route it does not know (`--api` points at some other HTTP server).
 */
export class NotADaemonError extends Error {
  static override readonly name = 'NotADaemonError'
  override readonly name = 'NotADaemonError'
}

/** The API refused the request because the bearer token is missing, wrong, expired or revoked. */
export class UnauthorizedError extends Error {
  static override readonly name = 'UnauthorizedError'
  override readonly name = 'UnauthorizedError'
}

/** The bearer token is valid but its role or key prefix does not allow this request. */
export class ForbiddenError extends Error {
  static override readonly name = 'ForbiddenError'
  override readonly name = 'ForbiddenError'
}

/** A test net could not be started or did not settle in time. */
export class TestnetError extends Error {
  static override readonly name = 'TestnetError'
  override readonly name = 'TestnetError'
}

/** No test net runs in the directory given (`p2pstore fault --dir DIR`): no `testnet.json` there. */
export class TestnetNotFoundError extends Error {
  static override readonly name = 'TestnetNotFoundError'
  override readonly name = 'TestnetNotFoundError'
}

/** `p2pstore check` found acknowledged writes lost, values never written, or siblings that are not concurrent. */
export class ConsistencyViolationError extends Error {
  static override readonly name = 'ConsistencyViolationError'
  override readonly name = 'ConsistencyViolationError'
}

/** A key is empty or longer than the limit. */
export class KeyTooLargeError extends Error {
  static override readonly name = 'KeyTooLargeError'
  override readonly name = 'KeyTooLargeError'
}

/** An address made too many requests without a valid token: it must wait (HTTP 429). */
export class TooManyAuthFailuresError extends Error {
  static override readonly name = 'TooManyAuthFailuresError'
  override readonly name = 'TooManyAuthFailuresError'
}

/** A value is larger than the limit. */
export class ValueTooLargeError extends Error {
  static override readonly name = 'ValueTooLargeError'
  override readonly name = 'ValueTooLargeError'
}

/** A context token is corrupt, forged, of an unknown version, or belongs to another key. */
export class InvalidContextTokenError extends Error {
  static override readonly name = 'InvalidContextTokenError'
  override readonly name = 'InvalidContextTokenError'
}

/** A write would leave a key with more siblings (or sibling bytes) than the limit. */
export class TooManySiblingsError extends Error {
  static override readonly name = 'TooManySiblingsError'
  override readonly name = 'TooManySiblingsError'
}

/** A read found concurrent versions: the caller must choose, then write with the context. */
export class SiblingsPresentError extends Error {
  static override readonly name = 'SiblingsPresentError'
  override readonly name = 'SiblingsPresentError'
}

/**
 * Fewer replicas answered than the quorum needs. Keeps every replica's failure in `errors`
 * (an AggregateError), so no cause is lost.
 */
export class QuorumNotReachedError extends AggregateError {
  static override readonly name = 'QuorumNotReachedError'
  override readonly name = 'QuorumNotReachedError'
}

/**
 * A conditional write's condition does not hold (issue #20): `If-None-Match: *` on a key that has
 * a live value, or `If-Match` with a context that no longer describes what is stored (a write or
 * delete it did not see arrived since). Answered 412; see README, "Conditional writes", for what
 * a refused write may leave behind when it raced another one.
 */
export class PreconditionFailedError extends Error {
  static override readonly name = 'PreconditionFailedError'
  override readonly name = 'PreconditionFailedError'
}

/** A batch request has more items or bytes than the limit (`POST /v1/batch`, `put --batch`). */
export class BatchTooLargeError extends Error {
  static override readonly name = 'BatchTooLargeError'
  override readonly name = 'BatchTooLargeError'
}

/** A roster is malformed, badly signed, or signed for another network. */
export class InvalidRosterError extends Error {
  static override readonly name = 'InvalidRosterError'
  override readonly name = 'InvalidRosterError'
}

/** A roster is valid but not newer than the one already held (its sequence number is not higher). */
export class StaleRosterError extends Error {
  static override readonly name = 'StaleRosterError'
  override readonly name = 'StaleRosterError'
}

/** A daemon has no network credentials (roster, network id or swarm key) and was not told `--open`. */
export class NoRosterError extends Error {
  static override readonly name = 'NoRosterError'
  override readonly name = 'NoRosterError'
}

/**
 * A peer asked for more than its quota allows (issue #19): a kv frame larger than its byte burst
 * could ever admit, or a hinted copy that would take the hinted storage it holds with us past its
 * share or everyone past the total. A coordinator whose hinted write is refused tries another
 * fallback.
 */
export class QuotaExceededError extends Error {
  static override readonly name = 'QuotaExceededError'
  override readonly name = 'QuotaExceededError'
}

/** How one error condition shows at the edges: HTTP API and CLI. */
export interface ErrorDescription {
  /** HTTP status the API answers with */
  httpStatus: number
  /** process exit code of the CLI */
  exitCode: number
  /** what the user can do next */
  hint: string
}

/**
 * CLI exit codes. They are part of the public contract (README, "Exit codes"): scripts branch on
 * them, so a number is never reused for another meaning.
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  badInput: 2,
  notFound: 3,
  siblings: 4,
  quorum: 5,
  unreachable: 6,
  dataDir: 7,
  addressInUse: 8,
  timeout: 9,
  consistency: 10,
  /** a conditional write's condition did not hold (412) */
  precondition: 11,
  /** a batch ran, but some of its items failed (each says why) */
  batchPartial: 12,
  /** stdout was closed by its reader (`| head`): 128 + SIGPIPE, as a shell reports for coreutils */
  brokenPipe: 141
} as const

/**
 * Exit codes of `p2pstore status --check` only: the monitoring-plugin convention (Nagios,
 * Icinga, Sensu; systemd `ExecCondition=` treats non-zero as "skip"): 0 OK, 1 warning, 2
 * critical, 3 unknown. They replace the EXIT table for that one command, because monitoring
 * systems read them that way; README, "Exit codes", documents both.
 */
export const CHECK_EXIT = {
  healthy: 0,
  degraded: 1,
  'at-risk': 2,
  /** also: the daemon could not be asked (unreachable, timed out, refused the token, not a daemon) */
  unavailable: 3
} as const

/**
 * Error name → HTTP status, exit code and hint. Every error class above and every reused libp2p
 * error the edges can meet has a row; a test fails when one is missing here or in README.
 */
export const ERRORS: Readonly<Record<string, ErrorDescription>> = {
  InvalidParametersError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'check the command line or request; see --help' },
  InvalidMultiaddrError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'a multiaddr looks like /ip4/192.0.2.1/tcp/4700/p2p/12D3Koo…' },
  InvalidConfigurationError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'fix the named setting in the flags or <datadir>/config.json' },
  NotFoundError: { httpStatus: 404, exitCode: EXIT.notFound, hint: 'nothing is stored under that name' },
  KeyTooLargeError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'keys are 1 byte to 1 KiB' },
  ValueTooLargeError: { httpStatus: 413, exitCode: EXIT.badInput, hint: 'values are at most 1 MiB by default; split larger data over several keys' },
  InvalidContextTokenError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'pass the context exactly as `npx p2pstore get` printed it, for the same key' },
  TooManySiblingsError: { httpStatus: 409, exitCode: EXIT.siblings, hint: 'read the key, merge its siblings, and write the result with --context' },
  SiblingsPresentError: { httpStatus: 300, exitCode: EXIT.siblings, hint: 'resolve them: write the value you want with `npx p2pstore put KEY --context TOKEN`' },
  QuorumNotReachedError: { httpStatus: 503, exitCode: EXIT.quorum, hint: 'too few replicas answered; retry, check `npx p2pstore peers`, or lower --w / --r' },
  InvalidMessageError: { httpStatus: 502, exitCode: EXIT.internal, hint: 'a peer sent a malformed message; check that every peer runs a compatible p2pstore' },
  UnauthorizedError: { httpStatus: 401, exitCode: EXIT.badInput, hint: 'pass a token from `npx p2pstore token create` with --token or P2PSTORE_TOKEN (the CLI also reads <datadir>/api-token)' },
  TooManyAuthFailuresError: { httpStatus: 429, exitCode: EXIT.badInput, hint: 'wait for the minute to pass, then retry with a valid token (`npx p2pstore token list` on the daemon\'s data dir)' },
  ForbiddenError: { httpStatus: 403, exitCode: EXIT.badInput, hint: 'use a token whose role and prefix allow this (`npx p2pstore token list` on the daemon\'s data dir)' },
  DaemonUnreachableError: { httpStatus: 503, exitCode: EXIT.unreachable, hint: 'start one with `npx p2pstore daemon`, or point at it with --api URL / P2PSTORE_API' },
  DataDirError: { httpStatus: 500, exitCode: EXIT.dataDir, hint: 'check the path and its permissions, or choose another with --data DIR' },
  DataDirLockedError: { httpStatus: 409, exitCode: EXIT.dataDir, hint: 'stop the other daemon first, or use another --data DIR' },
  EncryptionKeyError: { httpStatus: 500, exitCode: EXIT.dataDir, hint: 'pass the data dir\'s key-encryption key with --encryption-key-file FILE or P2PSTORE_ENCRYPTION_KEY (base64 of 32 bytes)' },
  IntegrityError: { httpStatus: 500, exitCode: EXIT.dataDir, hint: 'a stored record was damaged or tampered with: delete the key so replicas restore it, or restore the data dir from a backup' },
  AddressInUseError: { httpStatus: 500, exitCode: EXIT.addressInUse, hint: 'choose a free port (0 picks any) with --listen / --api-port' },
  TimeoutError: { httpStatus: 504, exitCode: EXIT.timeout, hint: 'the network or a peer is slow or down; retry, or check `npx p2pstore peers`' },
  AbortError: { httpStatus: 499, exitCode: EXIT.timeout, hint: 'the operation was cancelled' },
  NotADaemonError: { httpStatus: 502, exitCode: EXIT.unreachable, hint: 'is --api a p2pstore daemon? a running daemon writes its API URL to <datadir>/api, and `npx p2pstore daemon` and `npx p2pstore testnet` print it' },
  NotStartedError: { httpStatus: 503, exitCode: EXIT.unreachable, hint: 'the peer is not running; start it first' },
  TestnetError: { httpStatus: 500, exitCode: EXIT.internal, hint: 'see the peer logs in the test net directory' },
  TestnetNotFoundError: { httpStatus: 404, exitCode: EXIT.unreachable, hint: 'start one with `npx p2pstore testnet --peers 3 --dir DIR`, or pass the directory `npx p2pstore testnet` printed' },
  UnsupportedOperationError: { httpStatus: 501, exitCode: EXIT.badInput, hint: 'this environment or test net cannot do that; the message says what is missing' },
  InvalidRosterError: { httpStatus: 400, exitCode: EXIT.badInput, hint: 'copy the roster file again from a member (`<datadir>/roster`), or check the network id' },
  StaleRosterError: { httpStatus: 409, exitCode: EXIT.badInput, hint: 'a newer roster is already in place; see `npx p2pstore roster show`' },
  NoRosterError: { httpStatus: 500, exitCode: EXIT.badInput, hint: 'run `npx p2pstore init` to create a closed network, `npx p2pstore init --roster FILE` to join one, or pass --open for an open network (see SECURITY.md)' },
  PreconditionFailedError: { httpStatus: 412, exitCode: EXIT.precondition, hint: 'the key changed since you read it (or exists already): read it again, then write with the new context' },
  BatchTooLargeError: { httpStatus: 413, exitCode: EXIT.badInput, hint: 'a batch holds at most 1000 items and 16 MiB; split it into several batches' },
  QuotaExceededError: { httpStatus: 503, exitCode: EXIT.quorum, hint: 'a replica refused more work from this peer than its quota allows; retry later, or raise kvPeer* / hintedBytes* on the replicas' },
  ConsistencyViolationError: { httpStatus: 500, exitCode: EXIT.consistency, hint: 'the store broke its contract: keep the history file and the seed, and report them' }
}

const INTERNAL: ErrorDescription = { httpStatus: 500, exitCode: EXIT.internal, hint: 'this is a bug; please report it with the log (DEBUG=p2pstore:*)' }

/** Looks up how an error shows at the edges; unknown errors are internal. */
export function describeError (err: unknown): ErrorDescription & { name: string, message: string } {
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  return { name, message, ...(ERRORS[name] ?? INTERNAL) }
}
