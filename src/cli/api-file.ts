import fs from 'node:fs/promises'
import path from 'node:path'
import { DATADIR_FILES } from '../constants.ts'
import { DaemonUnreachableError } from '../errors.ts'
import type { ApiTarget } from '../client/index.ts'

/**
 * Finds the daemon's API: `--api` / `P2PSTORE_API` first, else the `<datadir>/api` file a running
 * daemon writes (kubo's convention). The token comes from `--token` / `P2PSTORE_TOKEN`, else from
 * `<datadir>/api-token` when that exists.
 */
export async function resolveApiTarget (opts: { api?: string, dataDir: string, token?: string }): Promise<ApiTarget> {
  const token = opts.token ?? await readTrimmed(path.join(opts.dataDir, DATADIR_FILES.apiToken))
  if (opts.api != null) return { url: opts.api, token }

  const url = await readTrimmed(path.join(opts.dataDir, DATADIR_FILES.api))
  if (url == null) {
    throw new DaemonUnreachableError(`no daemon is running on data dir ${opts.dataDir} (no ${DATADIR_FILES.api} file there)`)
  }
  return { url, token }
}

async function readTrimmed (file: string): Promise<string | undefined> {
  try {
    const text = (await fs.readFile(file, 'utf8')).trim()
    return text === '' ? undefined : text
  } catch {
    return undefined
  }
}
