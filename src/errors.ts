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

/** The API refused the request because the bearer token is missing or wrong. */
export class UnauthorizedError extends Error {
  static override readonly name = 'UnauthorizedError'
  override readonly name = 'UnauthorizedError'
}

/** A test net could not be started or did not settle in time. */
export class TestnetError extends Error {
  static override readonly name = 'TestnetError'
  override readonly name = 'TestnetError'
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
  timeout: 9
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
  UnauthorizedError: { httpStatus: 401, exitCode: EXIT.badInput, hint: 'pass the token from <datadir>/api-token with --token or P2PSTORE_TOKEN' },
  DaemonUnreachableError: { httpStatus: 503, exitCode: EXIT.unreachable, hint: 'start one with `p2pstore daemon`, or point at it with --api URL / P2PSTORE_API' },
  DataDirError: { httpStatus: 500, exitCode: EXIT.dataDir, hint: 'check the path and its permissions, or choose another with --data DIR' },
  DataDirLockedError: { httpStatus: 409, exitCode: EXIT.dataDir, hint: 'stop the other daemon first, or use another --data DIR' },
  AddressInUseError: { httpStatus: 500, exitCode: EXIT.addressInUse, hint: 'choose a free port (0 picks any) with --listen / --api-port' },
  TimeoutError: { httpStatus: 504, exitCode: EXIT.timeout, hint: 'the network or a peer is slow or down; retry, or check `p2pstore peers`' },
  AbortError: { httpStatus: 499, exitCode: EXIT.timeout, hint: 'the operation was cancelled' },
  NotStartedError: { httpStatus: 503, exitCode: EXIT.unreachable, hint: 'the peer is not running; start it first' },
  TestnetError: { httpStatus: 500, exitCode: EXIT.internal, hint: 'see the peer logs in the test net directory' }
}

const INTERNAL: ErrorDescription = { httpStatus: 500, exitCode: EXIT.internal, hint: 'this is a bug; please report it with the log (DEBUG=p2pstore:*)' }

/** Looks up how an error shows at the edges; unknown errors are internal. */
export function describeError (err: unknown): ErrorDescription & { name: string, message: string } {
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  return { name, message, ...(ERRORS[name] ?? INTERNAL) }
}
