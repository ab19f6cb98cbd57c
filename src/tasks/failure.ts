/**
 * Errors that mean a bug in our code, not a failure of the network, a peer or the disk: a catch
 * that expects the latter must never swallow these (STYLE "Errors" 5) [H safety-catch].
 */
export function isProgrammerError (err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError ||
    err instanceof SyntaxError || (err as Error | undefined)?.name === 'AssertionError'
}

/**
 * A `.catch()` handler for work whose failure is expected and only worth a log line (a stream
 * closing under a dead peer, a best-effort cleanup, a background round): it logs the failure with
 * `what` and rethrows programmer errors, so that a TypeError is never taken for a network hiccup.
 *
 * @example
 * ```ts
 * await stream.close({ signal }).catch(expected(this.log, 'closing the stream'))
 * ```
 */
export function expected (log: (formatter: string, ...args: unknown[]) => void, what: string): (err: unknown) => void {
  return (err: unknown): void => {
    if (isProgrammerError(err)) throw err
    log(`${what} failed - %e`, err)
  }
}
