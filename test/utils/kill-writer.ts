import { spawn } from 'node:child_process'
import type { Cleanup } from './cleanup.ts'

/**
 * Runs a writer fixture (`node --import tsx FIXTURE ...args`) that reports its progress on stdout,
 * one line at a time, and SIGKILLs it as soon as `onLine` says so — the crash the durability specs
 * need. Resolves with the signal that ended it once the process is gone; rejects if it exits by itself first, or if `onLine`
 * throws. Every process is killed on cleanup, also when the spec fails.
 */
export async function killWriterWhen (cleanup: Cleanup, fixture: string, args: string[], onLine: (line: string) => boolean): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  cleanup.add(() => { if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL') })
  const exited = new Promise<NodeJS.Signals | null>(resolve => { child.once('exit', (_code, signal) => { resolve(signal) }) })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  let buffered = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      try {
        for (const line of lines) {
          if (child.signalCode == null && onLine(line)) {
            child.kill('SIGKILL')
            resolve()
            return
          }
        }
      } catch (err) {
        reject(err)
      }
    })
    child.once('exit', (code, signal) => { if (signal !== 'SIGKILL') reject(new Error(`${fixture} exited early (${code ?? signal}): ${stderr}`)) })
  })
  return exited
}
