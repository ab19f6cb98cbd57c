/**
 * Cleanups registered while a test runs and run after it, pass or fail: peers, test nets, child
 * processes, temp dirs. Use `const cleanup = useCleanup()` at the top of a `describe`.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export interface Cleanup {
  /** run `fn` after the current test, in reverse order of registration */
  add(fn: () => unknown): void
  /** a new temp dir, removed after the test */
  tempDir(prefix?: string): Promise<string>
}

export function useCleanup (): Cleanup {
  let fns: Array<() => unknown> = []
  afterEach(async function () {
    this.timeout(60_000)
    const pending = fns.reverse()
    fns = []
    for (const fn of pending) {
      try {
        await fn()
      } catch (err) {
        // keep cleaning up; report at the end of the run
        process.emitWarning(`cleanup failed: ${(err as Error).message}`)
      }
    }
  })
  return {
    add (fn) { fns.push(fn) },
    async tempDir (prefix = 'p2pstore-test-') {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
      fns.push(async () => fs.rm(dir, { recursive: true, force: true }))
      return dir
    }
  }
}
