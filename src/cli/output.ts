/**
 * Everything the CLI prints goes through here — human text by default, JSON with `--json` — so
 * commands can be tested by capturing an `Output` and nothing else writes to the terminal.
 *
 * A closed stdout (`p2pstore status | head -3`: the reader exits, writes fail with EPIPE) ends the
 * command quietly, as coreutils do: `closed` fires so the command stops, nothing more is written,
 * and the exit code is EXIT.brokenPipe (141, what a shell reports for a process killed by SIGPIPE).
 *
 * @packageDocumentation
 */

import { describeError, EXIT } from '../errors.ts'

/** A writable stream as the output needs it: `write` (with a completion callback) and its `error` event. */
export interface OutputStream {
  write(chunk: string | Uint8Array, callback?: (err?: Error | null) => void): unknown
  /** true on a terminal (real streams set it; captured ones may, to test terminal output) */
  isTTY?: boolean
  /** present on real streams: a failed write (EPIPE) is reported here, not thrown */
  on?(event: 'error', listener: (err: Error & { code?: string }) => void): unknown
}

/** Where output goes; the real process streams by default, string buffers in tests. */
export interface OutputStreams {
  stdout: OutputStream
  stderr: OutputStream
}

/** Whether stdout and stderr still take writes; shared by an Output and its `withJson` copies. */
interface StreamState {
  /** aborted when stdout can take no more (EPIPE or another write error) */
  controller: AbortController
  /** the write error of stdout that was not EPIPE (reported once, exit 1) */
  error?: Error & { code?: string }
  stderrClosed: boolean
}

/** Human or JSON output of one CLI invocation. */
export class Output {
  readonly json: boolean
  private readonly streams: OutputStreams
  private readonly state: StreamState

  constructor (streams: OutputStreams = process, json = false, state?: StreamState) {
    this.streams = streams
    this.json = json
    if (state != null) {
      this.state = state
      return
    }
    const created: StreamState = { controller: new AbortController(), stderrClosed: false }
    this.state = created
    // without a listener a failed write is an uncaught 'error' event: a stack trace and exit 1
    streams.stdout.on?.('error', err => { this.stdoutFailed(err) })
    streams.stderr.on?.('error', () => { created.stderrClosed = true })
  }

  /** Whether stdout is a terminal (and not `--json`): a live view may clear and redraw it. */
  get interactive (): boolean {
    return !this.json && this.streams.stdout.isTTY === true
  }

  /** Fires when stdout can take no more output (its reader went away): the command should stop. */
  get closed (): AbortSignal {
    return this.state.controller.signal
  }

  /**
   * The exit code a closed stdout imposes (EXIT.brokenPipe for EPIPE, EXIT.internal for another
   * write error), or undefined while stdout is fine.
   */
  get closedExitCode (): number | undefined {
    if (!this.closed.aborted) return undefined
    return this.state.error == null ? EXIT.brokenPipe : EXIT.internal
  }

  /**
   * Resolves once everything written so far has left the process (writes to a pipe are
   * asynchronous), so a broken pipe is noticed before the exit code is chosen.
   */
  async flush (): Promise<void> {
    const drained = async (stream: OutputStream, onError: (err: Error & { code?: string }) => void): Promise<void> => new Promise(resolve => {
      // a stream without events is an in-memory buffer (tests): written synchronously, nothing to wait for
      if (stream.on == null) {
        resolve()
        return
      }
      stream.write('', err => {
        if (err != null) onError(err)
        resolve()
      })
    })
    await Promise.all([
      this.closed.aborted ? undefined : drained(this.streams.stdout, err => { this.stdoutFailed(err) }),
      this.state.stderrClosed ? undefined : drained(this.streams.stderr, () => { this.state.stderrClosed = true })
    ])
  }

  private stdoutFailed (err: Error & { code?: string }): void {
    if (this.closed.aborted) return
    // EPIPE: the reader is gone, which is how `| head` ends a producer; anything else is worth a word
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') {
      this.state.error = err
      this.writeStderr(`p2pstore: cannot write to standard output (${err.code ?? err.message})\n`)
    }
    this.state.controller.abort(err)
  }

  private writeStdout (chunk: string | Uint8Array): void {
    if (!this.closed.aborted) this.streams.stdout.write(chunk)
  }

  private writeStderr (text: string): void {
    if (!this.state.stderrClosed) this.streams.stderr.write(text)
  }

  /** A copy printing JSON or not. */
  withJson (json: boolean): Output {
    return new Output(this.streams, json, this.state)
  }

  /** A line of the command's result on stdout. */
  line (text = ''): void {
    this.writeStdout(`${text}\n`)
  }

  /** A JSON document on stdout (one line, so scripts can read line by line). */
  data (value: unknown): void {
    this.writeStdout(`${JSON.stringify(value)}\n`)
  }

  /** Human result or JSON, depending on `--json`. */
  result (value: unknown, human: () => void): void {
    if (this.json) this.data(value)
    else human()
  }

  /** Progress and notices on stderr, so stdout stays the result. Suppressed with `--json`. */
  info (text: string): void {
    if (!this.json) this.writeStderr(`${text}\n`)
  }

  /** Progress of long work on stderr, also with `--json` (stdout stays the JSON result). */
  progress (text: string): void {
    this.writeStderr(`${text}\n`)
  }

  /** Aligned `key  value` rows. */
  table (rows: Array<[string, string]>): void {
    const width = Math.max(...rows.map(([k]) => k.length))
    for (const [k, v] of rows) this.line(`${k.padEnd(width)}  ${v}`)
  }

  /** Columns with a header row. */
  columns (header: string[], rows: string[][]): void {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
    const fmt = (cells: string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  ')
    this.line(fmt(header))
    for (const row of rows) this.line(fmt(row))
  }

  /**
   * One error, on stderr: `p2pstore: <message>` and a hint line; `{ error, message, hint }` as JSON
   * with `--json`. Returns the exit code the error maps to.
   */
  error (err: unknown): number {
    const described = describeError(err)
    if (this.json) {
      this.writeStderr(`${JSON.stringify({ error: described.name, message: described.message, hint: described.hint, exitCode: described.exitCode })}\n`)
    } else {
      this.writeStderr(`p2pstore: ${described.message}\n  hint: ${described.hint}\n`)
    }
    return described.exitCode
  }

  /** Raw text to stderr (commander's own messages). */
  stderr (text: string): void {
    this.writeStderr(text)
  }

  /** Raw bytes on stdout, exactly (a value as stored). */
  raw (bytes: Uint8Array): void {
    this.writeStdout(bytes)
  }

  /** Raw text to stdout (help). */
  stdout (text: string): void {
    this.writeStdout(text)
  }
}
