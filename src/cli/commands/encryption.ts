import fs from 'node:fs/promises'
import path from 'node:path'
import { InvalidParametersError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { resolveDaemonConfig } from '../../config.ts'
import { DataDir } from '../../datadir/index.ts'
import { DataDirError } from '../../errors.ts'
import { keyFingerprint, LevelEngine, readEncryptionKeyFile, resolveEncryptionKey, writeEncryptionKeyFile } from '../../storage/index.ts'
import type { EncryptionKey, EncryptionStatus } from '../../storage/index.ts'
import type { CommandContext } from '../context.ts'
import type { ComponentLogger } from '@libp2p/interface'

/** Flags of `p2pstore encryption`. */
export interface EncryptionOptions {
  /** the data dir's key-encryption key file */
  encryptionKeyFile?: string
  /** rotate: the new key-encryption key file to rewrap the data keys under */
  kek?: string
  /** keygen: replace an existing file */
  force?: boolean
  /** `$P2PSTORE_ENCRYPTION_KEY` (base64), passed by the CLI */
  encryptionKey?: string
}

const ACTIONS = ['status', 'enable', 'rotate', 'keygen'] as const

/**
 * `p2pstore encryption status|enable|rotate|keygen`: encryption at rest of a data dir whose daemon
 * is stopped (the data dir's lock is taken; a running daemon makes it fail with
 * `DataDirLockedError`). `enable` encrypts every record of an existing data dir (with progress),
 * `rotate` starts a new data key, `rotate --kek NEW` rewraps every data key under a new
 * key-encryption key without rewriting any record, `keygen FILE` writes a new key file.
 */
export async function encryptionCommand (ctx: CommandContext, action: string, file: string | undefined, opts: EncryptionOptions, logger?: ComponentLogger): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new InvalidParametersError(`unknown action "${action}": expected one of ${ACTIONS.join(', ')}`)
  }
  if (action === 'keygen') {
    if (file == null) throw new InvalidParametersError('keygen needs the FILE to write: npx p2pstore encryption keygen FILE')
    await writeEncryptionKeyFile(file, opts.force === true)
    const { key } = await readEncryptionKeyFile(file)
    ctx.out.result({ file, fingerprint: keyFingerprint(key) }, () => {
      ctx.out.line(`wrote a new key-encryption key to ${file} (fingerprint ${keyFingerprint(key)}); keep it off the data dir's disk, and back it up: without it the data is lost`)
    })
    return 0
  }
  if (file != null) throw new InvalidParametersError(`${action} takes no FILE argument (did you mean --encryption-key-file ${file}?)`)

  const dataDir = new DataDir(ctx.dataDir)
  const storage = path.join(dataDir.path, 'storage')
  if (!await fs.stat(storage).then(s => s.isDirectory(), () => false)) {
    throw new DataDirError(`${dataDir.path} holds no storage database (${storage}): start a daemon on it first, or pass the right --data DIR`)
  }
  const config = resolveDaemonConfig({}, await dataDir.readConfig())
  const key = await resolveEncryptionKey(opts.encryptionKeyFile, opts.encryptionKey) ?? await resolveEncryptionKey(config.encryptionKeyFile, undefined)
  if (key == null && action !== 'status') {
    throw new InvalidParametersError(`${action} needs the key-encryption key: pass --encryption-key-file FILE or set P2PSTORE_ENCRYPTION_KEY (create a key with \`npx p2pstore encryption keygen FILE\`)`)
  }

  await dataDir.lock()
  try {
    const engine = new LevelEngine({ logger: logger ?? defaultLogger() }, {
      path: storage,
      // status and rotate never turn encryption on; only enable may migrate
      encryption: key == null || (action !== 'enable' && !await isEncrypted(storage)) ? undefined : engineEncryption(ctx, key, config.encryptionRotateInterval)
    })
    await engine.open()
    try {
      if (action === 'rotate') {
        if (opts.kek != null) {
          const next = await readEncryptionKeyFile(opts.kek)
          await engine.rewrapDataKeys(next.key, next.source)
          ctx.out.info(`every data key is now wrapped under ${opts.kek} (fingerprint ${keyFingerprint(next.key)}); no record was rewritten. Start the daemon with the new key; the old one no longer opens this data dir`)
        } else {
          const id = await engine.rotateDataKey()
          ctx.out.info(`new records are encrypted under data key #${id}; older records stay readable under their keys`)
        }
      }
      const status = await engine.encryptionStatus({ signal: ctx.signal })
      printStatus(ctx, status)
    } finally {
      await engine.close()
    }
  } finally {
    await dataDir.unlock()
  }
  return 0
}

/** Whether the store at `storage` is encrypted: opening it with the key would otherwise turn encryption on. */
async function isEncrypted (storage: string): Promise<boolean> {
  // probe without a key: an encrypted store refuses with EncryptionKeyError and writes nothing
  const probe = new LevelEngine({ logger: defaultLogger() }, { path: storage })
  try {
    await probe.open()
    return false
  } catch (err) {
    if ((err as Error).name === 'EncryptionKeyError') return true
    throw err
  } finally {
    await probe.close()
  }
}

function engineEncryption (ctx: CommandContext, key: EncryptionKey, rotateInterval: number | undefined): NonNullable<ConstructorParameters<typeof LevelEngine>[1]['encryption']> {
  let shown = -1
  return {
    key: key.key,
    keySource: key.source,
    rotateInterval,
    onProgress: (done, total) => {
      if (done === shown) return
      shown = done
      ctx.out.progress(`encrypting: ${done} of ${total} records`)
    }
  }
}

function printStatus (ctx: CommandContext, status: EncryptionStatus | undefined): void {
  ctx.out.result(status == null ? { enabled: false } : { enabled: true, ...status }, () => {
    if (status == null) {
      ctx.out.line('encryption at rest  off (turn it on with `npx p2pstore encryption enable --encryption-key-file FILE`)')
      return
    }
    ctx.out.table([
      ['encryption at rest', status.state === 'on' ? 'on (AES-256-GCM)' : 'migrating (run `npx p2pstore encryption enable` to finish)'],
      ['key-encryption key', `fingerprint ${status.kekFingerprint}`],
      ['rotation', `after ${status.rotateAfter} encryptions or ${(status.rotateInterval / 86_400_000).toFixed(1)} days`],
      ...status.dataKeys.map((k, i): [string, string] => [i === 0 ? 'data keys' : '',
        `#${k.id}${k.current ? ' (current)' : ''}: created ${new Date(k.createdAt).toISOString()}, ≤ ${k.encryptions} encryptions, ${status.recordsByDataKey[k.id] ?? 0} records`]),
      ...(status.plaintextRecords > 0 ? [['not encrypted yet', `${status.plaintextRecords} records`] as [string, string]] : [])
    ])
  })
}
