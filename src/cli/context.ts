import type { Output } from './output.ts'
import type { Client } from '../client/index.ts'

/** What every command handler gets: output, the resolved data dir, and a lazily built API client. */
export interface CommandContext {
  out: Output
  /** `--data`, else `P2PSTORE_HOME`, else `~/.p2pstore` */
  dataDir: string
  /** the API client (resolving `--api`, `P2PSTORE_API` or `<datadir>/api` on first use) */
  client(): Promise<Client>
  /** fires on SIGINT/SIGTERM for long-running commands */
  signal: AbortSignal
}
