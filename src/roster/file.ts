import fs from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { DATADIR_FILES } from '../constants.ts'
import { InvalidRosterError } from '../errors.ts'
import { networkIdOf, verifyRoster } from './roster.ts'
import type { Roster } from './roster.ts'
import type { DataDir } from '../datadir/index.ts'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A roster file: `#` comment lines saying what it is (for people), then the signed roster in
 * base64. Text, so it survives copy and paste between terminals; the comments are not trusted.
 */
export function armourRoster (roster: Roster): string {
  const b64 = Buffer.from(roster.bytes).toString('base64')
  return [
    `# p2pstore roster of network ${roster.network}`,
    `# sequence ${roster.sequence}, ${roster.members.length} members, signed ${new Date(roster.issuedAt).toISOString()}`,
    ...(b64.match(/.{1,76}/g) ?? []),
    ''
  ].join('\n')
}

/** The signed bytes of a roster file's text; `InvalidRosterError` when it holds none. */
export function dearmourRoster (text: string, where = 'roster file'): Uint8Array {
  const body = text.split(/\r?\n/).filter(line => !line.startsWith('#')).join('').replace(/\s+/g, '')
  if (body === '' || !/^[A-Za-z0-9+/]+=*$/.test(body)) throw new InvalidRosterError(`${where} holds no roster (expected base64 after the # lines)`)
  return new Uint8Array(Buffer.from(body, 'base64'))
}

/** What a data dir holds of its network's credentials. */
export interface Credentials {
  /** the trusted network id (from `<datadir>/network`, else the roster's) */
  network?: string
  /** the verified roster (from `<datadir>/roster`) */
  roster?: Roster
}

/**
 * Reads `<datadir>/network` and `<datadir>/roster`; the roster must verify and belong to that
 * network. Both absent: `{}` (the caller decides whether that is an open network or an error).
 */
export async function loadCredentials (dir: DataDir): Promise<Credentials> {
  const network = (await dir.readText(DATADIR_FILES.network))?.trim()
  const text = await dir.readText(DATADIR_FILES.roster)
  const roster = text == null ? undefined : await verifyRoster(dearmourRoster(text, dir.file(DATADIR_FILES.roster)), { network: network === '' ? undefined : network })
  return { network: network === '' ? roster?.network : network ?? roster?.network, roster }
}

/** Writes `<datadir>/roster` (and `<datadir>/network` when it is missing). */
export async function saveRoster (dir: DataDir, roster: Roster): Promise<void> {
  if ((await dir.readText(DATADIR_FILES.network)) == null) await dir.writeText(DATADIR_FILES.network, `${roster.network}\n`)
  await dir.writeText(DATADIR_FILES.roster, armourRoster(roster))
}

/** Writes `<datadir>/network`: the network id this peer trusts. */
export async function saveNetwork (dir: DataDir, network: string): Promise<void> {
  await dir.writeText(DATADIR_FILES.network, `${network}\n`)
}

/**
 * Reads an operator key file (base64 of the libp2p protobuf private key). Raises
 * `InvalidRosterError` naming the file when it is missing or not an Ed25519 key.
 */
export async function readOperatorKey (file: string): Promise<PrivateKey> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidRosterError(`cannot read the operator key ${file}: ${(err as Error).message}; rosters are signed where the operator key is (\`npx p2pstore init\` created it in the first peer's data dir), or pass --operator-key FILE`, { cause: err })
  }
  try {
    const key = privateKeyFromProtobuf(new Uint8Array(Buffer.from(text.split('\n').filter(l => !l.startsWith('#')).join(''), 'base64')))
    if (key.type !== 'Ed25519') throw new Error(`a ${key.type} key`)
    return key
  } catch (err) {
    throw new InvalidRosterError(`${file} is not an operator key (${(err as Error).message})`, { cause: err })
  }
}

/** Creates a new operator key file (mode 0600); refuses to overwrite one. */
export async function createOperatorKey (file: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  const text = `# p2pstore operator key of network ${networkIdOf(key)}: whoever holds it decides who belongs\n${Buffer.from(privateKeyToProtobuf(key)).toString('base64')}\n`
  try {
    await fs.writeFile(file, text, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InvalidRosterError(`${file} already exists: keep it, it is this network's operator key`, { cause: err })
    throw new InvalidRosterError(`cannot write the operator key ${file}: ${(err as Error).message}`, { cause: err })
  }
  await fs.chmod(file, 0o600)
  return key
}
