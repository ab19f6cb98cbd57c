/**
 * The floors: what the stack itself allows between two processes over loopback (TCP + Noise +
 * Yamux, a 32-byte payload echoed back).
 *
 * - `floor`: request/response over ONE long-lived stream, length-prefixed frames matched by a
 *   request id (many in flight) — the shape of p2pstore's kv protocol, with no work per request.
 * - `floorNewStream`: a new stream per request over an already open connection (stream open and
 *   protocol negotiation on every request, as kad-dht does).
 *
 * Server and client each run in a child process of their own (`floor-server.ts`,
 * `floor-client.ts`), spawned with an IPC channel, so that nothing else shares their event loops:
 * the bench process sends the client one `run` per load and gets the latencies back. The same
 * loads also run from the bench process itself (`clientInBenchProcess` variants), whose event loop
 * the in-process nets share — what a p2pstore client there experiences.
 *
 * @packageDocumentation
 */

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { TimeoutError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { runLoad } from './stats.ts'
import type { FloorServices } from './nodes.ts'
import type { LoadInit, RunResult } from './stats.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChildProcess } from 'node:child_process'

/** Request/response frames over one long-lived stream. */
export const FLOOR_PROTOCOL = '/p2pstore-bench/floor/1.0.0'

/** One request/response per stream. */
export const FLOOR_NEW_STREAM_PROTOCOL = '/p2pstore-bench/floor-new/1.0.0'

/** Bytes of every floor request and response: a 4-byte request id and filler. */
export const FLOOR_PAYLOAD_BYTES = 32

/** A server stream idle this long is closed. */
const SERVER_IDLE_TIMEOUT = 60_000

/** How long opening a floor stream may take. */
const STREAM_OPEN_TIMEOUT = 10_000

/** How long the child gets to start and report its addresses. */
const SPAWN_TIMEOUT = 30_000

/** How long the child gets to exit after SIGTERM before SIGKILL. */
const STOP_GRACE = 5_000

/** How long an RSS query to the child may take. */
const RSS_TIMEOUT = 5_000

/** How often a child samples its peak RSS. */
const RSS_SAMPLE_INTERVAL = 100

/** How long one load run in a client child may take beyond its own time limit. */
const RUN_GRACE = 30_000

/** Which floor: one long-lived stream, or a new stream per request. */
export type FloorMode = 'reused' | 'newStream'

/** Messages a floor child sends over IPC. */
export type FloorChildMessage =
  | { type: 'ready', multiaddrs: string[] }
  | { type: 'rss', rss: number, peakRss: number }
  | { type: 'result', run: RunResult }
  | { type: 'failed', message: string }

/** Messages the parent sends to a floor child over IPC. */
export type FloorParentMessage =
  | { type: 'rss', resetPeak: boolean }
  | { type: 'run', mode: FloorMode, load: LoadInit }

/**
 * Registers the two echo protocols on `node`: the long-lived one answers every frame in order, the
 * per-request one answers one frame and closes. Streams idle for a minute are aborted.
 */
export async function serveFloor (node: Libp2p<FloorServices>): Promise<void> {
  await node.handle(FLOOR_PROTOCOL, stream => { void echoFrames(stream, Infinity) }, { maxInboundStreams: 64 })
  await node.handle(FLOOR_NEW_STREAM_PROTOCOL, stream => { void echoFrames(stream, 1) }, { maxInboundStreams: 1024 })
}

/** Echoes up to `frames` length-prefixed frames, then closes; aborts the stream on any error. */
async function echoFrames (stream: Stream, frames: number): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: FLOOR_PAYLOAD_BYTES })
  try {
    for (let i = 0; i < frames; i++) {
      const signal = AbortSignal.timeout(SERVER_IDLE_TIMEOUT)
      let frame
      try {
        frame = await lp.read({ signal })
      } catch (err) {
        // the client closed its side between frames: a clean end
        if ((err as Error).name === 'UnexpectedEOFError' && stream.readStatus !== 'readable') break
        if (signal.aborted) throw new TimeoutError(`no frame for ${SERVER_IDLE_TIMEOUT} ms`)
        throw err
      }
      await lp.write(frame, { signal })
    }
    await stream.close()
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** A 32-byte frame carrying `id` in its first 4 bytes (big-endian). */
function frameFor (id: number): Uint8Array {
  const frame = new Uint8Array(FLOOR_PAYLOAD_BYTES)
  new DataView(frame.buffer).setUint32(0, id)
  return frame
}

/**
 * The client side of one long-lived floor stream: requests get increasing ids, one read loop hands
 * each echoed frame to the request with its id.
 */
export class FloorStream {
  private readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly pending = new Map<number, { resolve(): void, reject(err: Error): void }>()
  private nextId = 1
  private failure?: Error

  private constructor (stream: Stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: FLOOR_PAYLOAD_BYTES })
    void this.readLoop()
  }

  /** Opens a stream to the floor server over `connection`. */
  static async open (connection: Connection, options: { signal: AbortSignal }): Promise<FloorStream> {
    return new FloorStream(await connection.newStream(FLOOR_PROTOCOL, { signal: options.signal }))
  }

  /** One request: resolves when its echo came back. */
  async request (signal: AbortSignal): Promise<void> {
    if (this.failure != null) throw this.failure
    const id = this.nextId++
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    this.pending.set(id, { resolve, reject })
    const onAbort = (): void => { reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      // both at once: a rejection of either is handled even while the other is pending
      await Promise.all([this.lp.write(frameFor(id), { signal }), promise])
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.pending.delete(id)
    }
  }

  /** Half-closes the stream; pending requests fail. */
  async close (): Promise<void> {
    this.fail(new Error('floor stream closed'))
    await this.stream.close({ signal: AbortSignal.timeout(STOP_GRACE) }).catch(err => { this.stream.abort(err as Error) })
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const frame = await this.lp.read()
        const id = frame.getUint32(0)
        this.pending.get(id)?.resolve()
        this.pending.delete(id)
      }
    } catch (err) {
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    this.failure ??= err
    for (const waiter of this.pending.values()) waiter.reject(this.failure)
    this.pending.clear()
  }
}

/** One request on a new stream over `connection`: open, negotiate, write, read, close. */
export async function newStreamRequest (connection: Connection, signal: AbortSignal): Promise<void> {
  const stream = await connection.newStream(FLOOR_NEW_STREAM_PROTOCOL, { signal, maxOutboundStreams: 1024 })
  try {
    const lp = lpStream(stream, { maxDataLength: FLOOR_PAYLOAD_BYTES })
    await lp.write(frameFor(0), { signal })
    await lp.read({ signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * One load run against the floor server over `connection`: `reused` opens a fresh long-lived
 * stream before the clock starts and closes it after; `newStream` opens one per request.
 */
export async function floorRun (connection: Connection, mode: FloorMode, load: LoadInit): Promise<RunResult> {
  if (mode === 'newStream') return runLoad(async (_, signal) => { await newStreamRequest(connection, signal) }, load)
  const stream = await FloorStream.open(connection, { signal: AbortSignal.timeout(STREAM_OPEN_TIMEOUT) })
  try {
    return await runLoad(async (_, signal) => { await stream.request(signal) }, load)
  } finally {
    await stream.close()
  }
}

/** RSS of a child, bytes: now, and the peak since the last reset. */
export interface ChildRss {
  rss: number
  peakRss: number
}

/**
 * A floor child process (`floor-server.ts`, or `floor-client.ts` dialing a server), spawned as
 * `process.execPath --import tsx <script> [args]` with an IPC channel.
 */
export class FloorProcess {
  /** the child's libp2p addresses, each ending in `/p2p/<peer id>` */
  readonly multiaddrs: Multiaddr[]
  private readonly child: ChildProcess
  private readonly exited: Promise<void>

  private constructor (child: ChildProcess, exited: Promise<void>, multiaddrs: Multiaddr[]) {
    this.child = child
    this.exited = exited
    this.multiaddrs = multiaddrs
  }

  /**
   * Spawns `script` (a file of this folder) and resolves once it reported ready. `onTeardown`
   * receives the stop function before the child starts, so the caller can register it first and
   * never leak the process.
   */
  static async spawn (script: 'floor-server.ts' | 'floor-client.ts', args: string[], onTeardown: (stop: () => Promise<void>) => void): Promise<FloorProcess> {
    const file = fileURLToPath(new URL(`./${script}`, import.meta.url))
    const started: { child?: ChildProcess, exited: Promise<void> } = { exited: Promise.resolve() }
    onTeardown(async () => { if (started.child != null) await stopChild(started.child, started.exited) })
    const child = started.child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const exited = started.exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
    const ready = await nextMessage(child, ['ready'], SPAWN_TIMEOUT)
    return new FloorProcess(child, exited, ready.type === 'ready' ? ready.multiaddrs.map(ma => multiaddr(ma)) : [])
  }

  /** The child's RSS; `resetPeak` starts a new peak window. */
  async rss (resetPeak: boolean): Promise<ChildRss> {
    const answer = await this.ask({ type: 'rss', resetPeak }, RSS_TIMEOUT)
    if (answer.type !== 'rss') throw new Error(`floor child answered '${answer.type}' to an RSS query`)
    return { rss: answer.rss, peakRss: answer.peakRss }
  }

  /** Has a client child run one load against its server. */
  async run (mode: FloorMode, load: LoadInit): Promise<RunResult> {
    const answer = await this.ask({ type: 'run', mode, load }, load.timeLimitMs + load.opTimeoutMs + RUN_GRACE)
    if (answer.type === 'failed') throw new Error(`floor client: ${answer.message}`)
    if (answer.type !== 'result') throw new Error(`floor child answered '${answer.type}' to a run`)
    return answer.run
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the child exited. */
  async stop (): Promise<void> {
    await stopChild(this.child, this.exited)
  }

  private async ask (message: FloorParentMessage, timeoutMs: number): Promise<FloorChildMessage> {
    const answer = nextMessage(this.child, message.type === 'rss' ? ['rss'] : ['result', 'failed'], timeoutMs)
    this.child.send(message)
    return answer
  }
}

async function stopChild (child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE)
  try {
    await exited
  } finally {
    clearTimeout(timer)
  }
}

/** The next IPC message of one of `types` from the child; rejects on exit or after `timeoutMs`. */
async function nextMessage (child: ChildProcess, types: Array<FloorChildMessage['type']>, timeoutMs: number): Promise<FloorChildMessage> {
  const { promise, resolve, reject } = Promise.withResolvers<FloorChildMessage>()
  const onMessage = (message: FloorChildMessage): void => {
    if (types.includes(message.type)) resolve(message)
  }
  const onExit = (code: number | null, signal: string | null): void => {
    reject(new Error(`floor child exited (code ${code}, signal ${signal}) before sending '${types.join("' or '")}'`))
  }
  const timer = setTimeout(() => { reject(new TimeoutError(`floor child sent no '${types.join("' or '")}' within ${timeoutMs} ms`)) }, timeoutMs)
  child.on('message', onMessage)
  child.once('exit', onExit)
  try {
    return await promise
  } finally {
    clearTimeout(timer)
    child.off('message', onMessage)
    child.off('exit', onExit)
  }
}

/**
 * The life of a floor child: report ready, answer RSS queries (peak sampled every 100 ms), hand
 * `run` requests to `onRun`, and exit on SIGTERM/SIGINT or when the parent goes away.
 */
export function childMain (node: Libp2p<FloorServices>, onRun?: (mode: FloorMode, load: LoadInit) => Promise<RunResult>): void {
  const send = (message: FloorChildMessage): void => { process.send?.(message) }
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, RSS_SAMPLE_INTERVAL)
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    clearInterval(sampler)
    setTimeout(() => { process.exit(0) }, STOP_GRACE).unref()
    void Promise.resolve(node.stop()).finally(() => { process.exit(0) })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.once('disconnect', stop)
  process.on('message', (message: FloorParentMessage) => {
    if (message.type === 'rss') {
      const rss = process.memoryUsage.rss()
      send({ type: 'rss', rss, peakRss: Math.max(peakRss, rss) })
      if (message.resetPeak) peakRss = rss
    } else if (onRun != null) {
      onRun(message.mode, message.load).then(run => { send({ type: 'result', run }) }, (err: Error) => { send({ type: 'failed', message: err.message }) })
    } else {
      send({ type: 'failed', message: 'this floor child does not run loads' })
    }
  })
  send({ type: 'ready', multiaddrs: node.getMultiaddrs().map(ma => ma.toString()) })
}
