/**
 * `testnet.json`: what a launcher writes of its daemons (and lab), so that `p2pstore fault` and
 * `ProcessTestnet.attach()` in another process can drive the same net.
 */

import fs from 'node:fs/promises'
import { writeFileAtomic } from '../../util/index.ts'

/** One daemon of a process test net, as written to `testnet.json`. */
export interface ProcessTestnetPeer {
  index: number
  peerId: string
  pid: number
  api: string
  multiaddrs: string[]
  dataDir: string
}

/** What `testnet.json` says of a net run in network namespaces, so `attach()` can drive its faults. */
export interface ProcessTestnetNetns {
  prefix: string
  subnet: string
}

/** The contents of `testnet.json`. */
export interface TestnetFile {
  peers: ProcessTestnetPeer[]
  netns?: ProcessTestnetNetns
}

/** Reads `testnet.json`; rejects as `fs.readFile` and `JSON.parse` do. */
export async function readTestnetFile (file: string): Promise<TestnetFile> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as TestnetFile
}

/** The daemons `testnet.json` lists; none when it is missing or unreadable. */
export async function readPeers (file: string): Promise<ProcessTestnetPeer[]> {
  try {
    return (await readTestnetFile(file)).peers
  } catch {
    return []
  }
}

/** Writes `testnet.json` atomically: a reader never sees half of it. */
export async function writeTestnetFile (file: string, contents: TestnetFile): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(contents, null, 2)}\n`, { sync: false })
}
