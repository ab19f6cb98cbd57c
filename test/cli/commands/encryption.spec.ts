import fs from 'node:fs/promises'
import path from 'node:path'
import { ClassicLevel } from 'classic-level'
import { main } from '../../../src/cli/index.ts'
import { Daemon } from '../../../src/daemon.ts'
import { EXIT } from '../../../src/errors.ts'
import { keyFingerprint, readEncryptionKeyFile } from '../../../src/storage/index.ts'
import { objectKey } from '../../../src/storage/layout.ts'
import { useCleanup } from '../../utils/cleanup.ts'
import { expect } from '../../utils/expect.ts'
import type { DaemonInfo } from '../../../src/daemon.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const LOOPBACK = { listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0 }
const ONE = { n: 1, w: 1, r: 1 }

async function run (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'p2pstore', ...args], {
    env,
    streams: { stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } } }
  })
  return { code, stdout, stderr }
}

/** Which of `needles` a `grep -r` of `dir` would find. */
async function grepDir (dir: string, needles: string[]): Promise<string[]> {
  const files = (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter(e => e.isFile())
  const contents = await Promise.all(files.map(async e => fs.readFile(path.join(e.parentPath, e.name))))
  return needles.filter(needle => contents.some(bytes => bytes.includes(Buffer.from(needle))))
}

describe('p2pstore encryption and the daemon with encryption at rest', () => {
  const cleanup = useCleanup()

  let lastInfo: DaemonInfo | undefined
  async function startDaemon (dataDir: string, init: Partial<ConstructorParameters<typeof Daemon>[0]> = {}): Promise<Daemon> {
    const daemon = new Daemon({ dataDir, ...init, flags: { ...LOOPBACK, open: true, ...init.flags } })
    cleanup.add(async () => daemon.stop())
    lastInfo = await daemon.start()
    return daemon
  }

  it('keygen writes a 0600 key file and never overwrites one without --force', async () => {
    const file = path.join(await cleanup.tempDir(), 'kek')
    const first = await run(['encryption', 'keygen', file, '--json'])
    expect(first.code).to.equal(0)
    const { key } = await readEncryptionKeyFile(file)
    expect(JSON.parse(first.stdout)).to.deep.equal({ file, fingerprint: keyFingerprint(key) })
    expect((await fs.stat(file)).mode % 0o1000).to.equal(0o600)
    const again = await run(['encryption', 'keygen', file])
    expect(again.code).to.equal(EXIT.dataDir)
    expect(again.stderr).to.match(/exists: a key file is never overwritten/)
    expect((await readEncryptionKeyFile(file)).key).to.deep.equal(key)
  })

  it('a fresh data dir started with a key stores no value in plaintext, warns that the key file is on the data disk, and fails to start with a wrong key or none', async () => {
    const base = await cleanup.tempDir()
    const dataDir = path.join(base, 'data')
    const keyFile = path.join(base, 'kek')
    await run(['encryption', 'keygen', keyFile])
    const daemon = await startDaemon(dataDir, { flags: { encryptionKeyFile: keyFile } })
    expect(lastInfo?.warnings?.join('\n')).to.match(/is on the same disk as the data dir/)
    const secret = 'the-launch-codes-0451'
    await daemon.node?.put('codes', encoder.encode(secret), ONE)
    await daemon.stop()
    expect(await grepDir(dataDir, [secret])).to.deep.equal([])

    const wrongKey = path.join(base, 'wrong')
    await run(['encryption', 'keygen', wrongKey])
    const daemonArgs = ['--data', dataDir, 'daemon', '--open', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0']
    const wrong = await run([...daemonArgs, '--encryption-key-file', wrongKey])
    expect(wrong.code).to.equal(EXIT.dataDir)
    expect(wrong.stderr).to.match(/is not the key-encryption key .*nothing was written/)
    const none = await run(daemonArgs)
    expect(none.code).to.equal(EXIT.dataDir)
    expect(none.stderr).to.match(/is encrypted .*--encryption-key-file FILE.*P2PSTORE_ENCRYPTION_KEY/)

    // the environment variable works as the key, and the value is all there
    const again = await startDaemon(dataDir, { encryptionKey: await fs.readFile(keyFile, 'utf8') })
    const read = await again.node?.get('codes', ONE)
    expect(decoder.decode(read?.siblings[0]?.value)).to.equal(secret)
  })

  it('a daemon answers a damaged record with IntegrityError for that key, never garbage, and keeps serving the others', async () => {
    const base = await cleanup.tempDir()
    const dataDir = path.join(base, 'data')
    const keyFile = path.join(base, 'kek')
    await run(['encryption', 'keygen', keyFile])
    let daemon = await startDaemon(dataDir, { flags: { encryptionKeyFile: keyFile } })
    await daemon.node?.put('good', encoder.encode('fine'), ONE)
    await daemon.node?.put('bad', encoder.encode('to be damaged'), ONE)
    await daemon.stop()
    const db = new ClassicLevel<Uint8Array, Uint8Array>(path.join(dataDir, 'storage'), { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    const stored = await db.get(objectKey(encoder.encode('bad')))
    if (stored == null) throw new Error('record missing')
    stored[20] = (stored[20] ?? 0) ^ 0x80
    await db.put(objectKey(encoder.encode('bad')), stored)
    await db.close()

    daemon = await startDaemon(dataDir, { flags: { encryptionKeyFile: keyFile } })
    const failure = await daemon.node?.get('bad', ONE).then(() => undefined, (err: Error & { errors?: Error[] }) => err)
    const names = [failure?.name, ...(failure?.errors ?? []).map(e => e.name)]
    expect(names).to.include('IntegrityError')
    expect(decoder.decode((await daemon.node?.get('good', ONE))?.siblings[0]?.value)).to.equal('fine')
  })

  it('enable encrypts an existing data dir (nothing lost, no plaintext left), status shows the keys, rotate starts a new data key, rotate --kek rewraps', async () => {
    const base = await cleanup.tempDir()
    const dataDir = path.join(base, 'data')
    const values = Array.from({ length: 50 }, (_, i) => `plain-value-${i}-${Math.random().toString(36).slice(2)}`)
    const daemon = await startDaemon(dataDir)
    for (const [i, v] of values.entries()) await daemon.node?.put(`k${i}`, encoder.encode(v), ONE)
    await daemon.stop()
    expect(await grepDir(dataDir, values)).to.have.length(values.length)
    expect((await run(['--data', dataDir, 'encryption', 'status'])).stdout).to.match(/encryption at rest\s+off/)

    const keyFile = path.join(base, 'kek')
    await run(['encryption', 'keygen', keyFile])
    const enabled = await run(['--data', dataDir, 'encryption', 'enable', '--encryption-key-file', keyFile])
    expect(enabled.code, enabled.stderr).to.equal(0)
    expect(enabled.stderr).to.match(/encrypting: 50 of 50 records/)
    expect(enabled.stdout).to.match(/encryption at rest\s+on \(AES-256-GCM\)/)
    expect(await grepDir(dataDir, values)).to.deep.equal([])

    const rotated = await run(['--data', dataDir, 'encryption', 'rotate', '--json'], { P2PSTORE_ENCRYPTION_KEY: await fs.readFile(keyFile, 'utf8') })
    expect(rotated.code, rotated.stderr).to.equal(0)
    const status = JSON.parse(rotated.stdout)
    expect(status).to.deep.include({ enabled: true, state: 'on', recordsByDataKey: { 1: 50 } })
    expect(status.dataKeys.map((k: { id: number, current: boolean }) => [k.id, k.current])).to.deep.equal([[1, false], [2, true]])

    const newKey = path.join(base, 'kek2')
    await run(['encryption', 'keygen', newKey])
    const rewrapped = await run(['--data', dataDir, 'encryption', 'rotate', '--encryption-key-file', keyFile, '--kek', newKey, '--json'])
    expect(rewrapped.code, rewrapped.stderr).to.equal(0)
    expect(JSON.parse(rewrapped.stdout).kekFingerprint).to.equal(keyFingerprint((await readEncryptionKeyFile(newKey)).key))
    expect((await run(['--data', dataDir, 'encryption', 'status', '--encryption-key-file', keyFile])).code).to.equal(EXIT.dataDir)

    const after = await startDaemon(dataDir, { flags: { encryptionKeyFile: newKey } })
    for (const [i, v] of values.entries()) expect(decoder.decode((await after.node?.get(`k${i}`, ONE))?.siblings[0]?.value)).to.equal(v)
    // a running daemon holds the data dir: the offline commands refuse
    const locked = await run(['--data', dataDir, 'encryption', 'rotate', '--encryption-key-file', newKey])
    expect(locked.code).to.equal(EXIT.dataDir)
    expect(locked.stderr).to.match(/lock/)
  })
})
