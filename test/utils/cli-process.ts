/**
 * Runs `bin/p2pstore.js` (the built CLI) as a child process. Every child is registered with the
 * test's cleanup and SIGKILLed (with its process group) if still running after the test.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAlive } from '../../src/util/index.ts'
import type { Cleanup } from './cleanup.ts'
import type { ChildProcess } from 'node:child_process'

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/p2pstore.js')

export interface CliRun {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>
  /** resolves with the first stdout line matching `re` */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>
}

/** Spawns the CLI with its output collected as bytes; the child is SIGKILLed in cleanup if still running. */
function spawnCli (cleanup: Cleanup, args: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe'): { child: ChildProcess, out: Buffer[], err: Buffer[], exited: Promise<number | string> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, P2PSTORE_API: '', P2PSTORE_TOKEN: '', ...env },
    stdio: [stdin, 'pipe', 'pipe']
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout?.on('data', (d: Buffer) => out.push(d))
  child.stderr?.on('data', (d: Buffer) => err.push(d))
  const exited = new Promise<number | string>(resolve => {
    child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1) })
  })
  cleanup.add(async () => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, out, err, exited }
}

export function startCli (cleanup: Cleanup, args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const { child, out: outChunks, err: errChunks, exited } = spawnCli(cleanup, args, env, 'ignore')
  const stdout = (): string => Buffer.concat(outChunks).toString('utf8')
  const stderr = (): string => Buffer.concat(errChunks).toString('utf8')
  return {
    child,
    stdout,
    stderr,
    exited,
    waitForLine: async (re, timeoutMs = 60_000) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = stdout().split('\n').find(l => re.test(l))
        if (line == null) return false
        clearTimeout(timer)
        child.stdout?.off('data', check)
        resolve(line)
        return true
      }
      const timer = setTimeout(() => {
        child.stdout?.off('data', check)
        reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stdout: ${stdout()}; stderr: ${stderr()}`))
      }, timeoutMs)
      void exited.then(code => {
        if (!check()) {
          clearTimeout(timer)
          reject(new Error(`exited (${code}) before printing a line matching ${re}; stdout: ${stdout()}; stderr: ${stderr()}`))
        }
      })
      if (!check()) child.stdout?.on('data', check)
    })
  }
}

/** Runs the CLI to completion. */
export async function runCli (cleanup: Cleanup, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string, stdout: string, stderr: string }> {
  const run = startCli(cleanup, args, env)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** true while a process with this pid exists */
export function isRunning (pid: number): boolean {
  return isAlive(pid)
}

/** Runs the CLI to completion with `input` on its standard input; stdout comes back as raw bytes. */
export async function runCliBytes (cleanup: Cleanup, args: string[], input?: Uint8Array): Promise<{ code: number | string, stdout: Buffer, stderr: string }> {
  const { child, out, err, exited } = spawnCli(cleanup, args, {}, 'pipe')
  child.stdin?.end(input == null ? undefined : Buffer.from(input))
  const code = await exited
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }
}
