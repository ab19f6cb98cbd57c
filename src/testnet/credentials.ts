import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DataDir } from '../datadir/index.ts'
import { createOperatorKey, loadCredentials, readOperatorKey, saveNetwork, saveRoster, signRoster } from '../roster/index.ts'
import type { Roster } from '../roster/index.ts'
import type { PrivateKey } from '@libp2p/interface'

/** A test net's closed-network credentials: its operator key and the roster naming every peer. */
export interface TestnetCredentials {
  operator: PrivateKey
  roster: Roster
}

/**
 * Makes a test net a closed network before any peer starts: opens every peer's data dir (creating
 * its identity if new), then signs a roster naming all of them with a fresh operator key.
 */
export async function testnetCredentials (dataDirs: string[]): Promise<TestnetCredentials> {
  const operator = await generateKeyPair('Ed25519')
  const members = await Promise.all(dataDirs.map(async (dir, i) => ({ peerId: await peerIdOf(dir), label: `peer-${i}` })))
  return { operator, roster: await signRoster(operator, { sequence: 1n, members }) }
}

/** Signs the next roster of a test net: the current members plus the peers of `dataDirs`. */
export async function addTestnetMembers (credentials: TestnetCredentials, dataDirs: Array<{ dir: string, label: string }>): Promise<TestnetCredentials> {
  const added = await Promise.all(dataDirs.map(async d => ({ peerId: await peerIdOf(d.dir), label: d.label })))
  const roster = await signRoster(credentials.operator, { sequence: credentials.roster.sequence + 1n, members: [...credentials.roster.members, ...added] })
  return { operator: credentials.operator, roster }
}

/**
 * For a process test net: the same, with the operator key kept in `<dir>/operator.key` (so that
 * `p2pstore roster add … --operator-key <dir>/operator.key` works on a running net) and the roster
 * and network id written into every peer's data dir, where each daemon loads them.
 */
export async function writeTestnetCredentials (dir: string, dataDirs: string[]): Promise<Roster> {
  const keyFile = path.join(dir, 'operator.key')
  const operator = await readOperatorKey(keyFile).catch(async () => createOperatorKey(keyFile))
  const members = await Promise.all(dataDirs.map(async (d, i) => ({ peerId: await peerIdOf(d), label: `peer-${i}` })))
  // a reused directory: the next sequence, so that the daemons' stored rosters never win
  let sequence = 1n
  for (const d of dataDirs) {
    const held = await loadCredentials(new DataDir(d)).catch(() => ({ roster: undefined }))
    if (held.roster != null && held.roster.sequence >= sequence) sequence = held.roster.sequence + 1n
  }
  const roster = await signRoster(operator, { sequence, members })
  for (const d of dataDirs) {
    const dataDir = new DataDir(d)
    await saveNetwork(dataDir, roster.network)
    await saveRoster(dataDir, roster)
  }
  return roster
}

async function peerIdOf (dir: string): Promise<string> {
  const { privateKey } = await new DataDir(dir).open()
  return peerIdFromPrivateKey(privateKey).toString()
}
