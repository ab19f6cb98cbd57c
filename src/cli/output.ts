/**
 * Everything the CLI prints goes through here — human text by default, JSON with `--json` — so
 * commands can be tested by capturing an `Output` and nothing else writes to the terminal.
 *
 * @packageDocumentation
 */

import { describeError } from '../errors.ts'

/** Where output goes; the real process streams by default, string buffers in tests. */
export interface OutputStreams {
  stdout: { write(chunk: string | Uint8Array): unknown }
  stderr: { write(chunk: string): unknown }
}

/** Human or JSON output of one CLI invocation. */
export class Output {
  readonly json: boolean
  private readonly streams: OutputStreams

  constructor (streams: OutputStreams = process, json = false) {
    this.streams = streams
    this.json = json
  }

  /** A copy printing JSON or not. */
  withJson (json: boolean): Output {
    return new Output(this.streams, json)
  }

  /** A line of the command's result on stdout. */
  line (text = ''): void {
    this.streams.stdout.write(`${text}\n`)
  }

  /** A JSON document on stdout (one line, so scripts can read line by line). */
  data (value: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(value)}\n`)
  }

  /** Human result or JSON, depending on `--json`. */
  result (value: unknown, human: () => void): void {
    if (this.json) this.data(value)
    else human()
  }

  /** Progress and notices on stderr, so stdout stays the result. Suppressed with `--json`. */
  info (text: string): void {
    if (!this.json) this.streams.stderr.write(`${text}\n`)
  }

  /** Progress of long work on stderr, also with `--json` (stdout stays the JSON result). */
  progress (text: string): void {
    this.streams.stderr.write(`${text}\n`)
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
      this.streams.stderr.write(`${JSON.stringify({ error: described.name, message: described.message, hint: described.hint, exitCode: described.exitCode })}\n`)
    } else {
      this.streams.stderr.write(`p2pstore: ${described.message}\n  hint: ${described.hint}\n`)
    }
    return described.exitCode
  }

  /** Raw text to stderr (commander's own messages). */
  stderr (text: string): void {
    this.streams.stderr.write(text)
  }

  /** Raw bytes on stdout, exactly (a value as stored). */
  raw (bytes: Uint8Array): void {
    this.streams.stdout.write(bytes)
  }

  /** Raw text to stdout (help). */
  stdout (text: string): void {
    this.streams.stdout.write(text)
  }
}
