import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DataDir } from '../../src/datadir/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'

describe('datadir', () => {
  const cleanup = useCleanup()

  it('creates the dir 0700 and an Ed25519 identity 0600, and loads the same identity again', async () => {
    const dir = path.join(await cleanup.tempDir(), 'data')
    const first = await new DataDir(dir).open()
    expect(first.created).to.equal(true)
    expect(first.privateKey.type).to.equal('Ed25519')
    expect((await fs.stat(dir)).mode & 0o777).to.equal(0o700)
    expect((await fs.stat(path.join(dir, 'identity.key'))).mode & 0o777).to.equal(0o600)

    const second = await new DataDir(dir).open()
    expect(second.created).to.equal(false)
    expect(peerIdFromPrivateKey(second.privateKey).equals(peerIdFromPrivateKey(first.privateKey))).to.equal(true)
  })

  it('refuses a path that is a file, a corrupt identity and a newer schema version', async () => {
    const base = await cleanup.tempDir()
    const file = path.join(base, 'file')
    await fs.writeFile(file, 'x')
    await expect(new DataDir(file).open()).to.be.rejectedWith(/not a directory/).and.eventually.have.property('name', 'DataDirError')

    const corrupt = path.join(base, 'corrupt')
    await new DataDir(corrupt).open()
    await fs.writeFile(path.join(corrupt, 'identity.key'), 'garbage')
    await expect(new DataDir(corrupt).open()).to.be.rejectedWith(/identity .* is corrupt/)
    // the corrupt key is left for the operator to inspect, never overwritten
    expect(await fs.readFile(path.join(corrupt, 'identity.key'), 'utf8')).to.equal('garbage')

    const future = path.join(base, 'future')
    await new DataDir(future).open()
    await fs.writeFile(path.join(future, 'version'), '99\n')
    await expect(new DataDir(future).open()).to.be.rejectedWith(/schema version 99/)
  })

  it('lets one holder lock it, and takes over a lock whose process is gone', async () => {
    const dir = path.join(await cleanup.tempDir(), 'data')
    const a = new DataDir(dir)
    await a.open()
    await a.lock()
    cleanup.add(async () => a.unlock())
    // a second holder in another process: simulate with a lock file naming a live foreign pid
    const b = new DataDir(dir)
    await a.unlock()
    const sleeper = spawn('sleep', ['30'])
    cleanup.add(() => sleeper.kill('SIGKILL'))
    await fs.writeFile(path.join(dir, 'daemon.lock'), `${sleeper.pid}\n`)
    await expect(b.lock()).to.be.rejectedWith(new RegExp(`pid ${sleeper.pid}`)).and.eventually.have.property('name', 'DataDirLockedError')

    // its owner dies (kill -9 leaves the file behind): the lock is taken over
    sleeper.kill('SIGKILL')
    await new Promise(resolve => sleeper.once('exit', resolve))
    await b.lock()
    expect((await fs.readFile(path.join(dir, 'daemon.lock'), 'utf8')).trim()).to.equal(String(process.pid))
    await b.unlock()
  })

  it('reports malformed config.json as a configuration error', async () => {
    const dir = path.join(await cleanup.tempDir(), 'data')
    const d = new DataDir(dir)
    await d.open()
    await fs.writeFile(path.join(dir, 'config.json'), '{ not json')
    await expect(d.readConfig()).to.be.rejectedWith(/not valid JSON/).and.eventually.have.property('name', 'InvalidConfigurationError')
    await fs.writeFile(path.join(dir, 'config.json'), '[1, 2]')
    await expect(d.readConfig()).to.be.rejectedWith(/JSON object/)
  })
})
