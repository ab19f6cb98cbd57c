import fs from 'node:fs/promises'

/** Options of `writeFileAtomic()`. */
export interface WriteFileAtomicOptions {
  /**
   * Mode of the file, set exactly (the mode passed to `open()` is filtered by the umask).
   *
   * @default 0o644
   */
  mode?: number

  /**
   * fsync the data before the rename, so that a crash leaves the old file or the new one, never
   * an empty one.
   *
   * @default true
   */
  sync?: boolean
}

/**
 * Writes `data` to `target` through a temporary file beside it (`<target>.<pid>.tmp`) and a
 * rename, so that readers see the old contents or the new ones, never a part. The temporary file
 * is removed when anything fails, and the error is rethrown as it came.
 */
export async function writeFileAtomic (target: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o644
  const tmp = `${target}.${process.pid}.tmp`
  try {
    const handle = await fs.open(tmp, 'w', mode)
    try {
      await handle.writeFile(data)
      if (options.sync !== false) await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.chmod(tmp, mode)
    await fs.rename(tmp, target)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw err
  }
}
