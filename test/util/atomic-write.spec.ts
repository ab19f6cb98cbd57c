import fs from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../src/util/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'

describe('util: writeFileAtomic', () => {
  const cleanup = useCleanup()

  it('replaces a file whole, with the mode given, and leaves no temporary file', async () => {
    const dir = await cleanup.tempDir()
    const file = path.join(dir, 'f.json')
    await fs.writeFile(file, 'old')
    await writeFileAtomic(file, 'new', { mode: 0o600 })
    expect(await fs.readFile(file, 'utf8')).to.equal('new')
    expect((await fs.stat(file)).mode & 0o777).to.equal(0o600)
    await writeFileAtomic(file, new Uint8Array([1, 2]), { sync: false })
    expect([...await fs.readFile(file)]).to.deep.equal([1, 2])
    expect((await fs.stat(file)).mode & 0o777).to.equal(0o644)
    expect(await fs.readdir(dir)).to.deep.equal(['f.json'])
  })

  it('fails as the file system does, keeping the old file and no temporary one', async () => {
    const dir = await cleanup.tempDir()
    const target = path.join(dir, 'sub')
    await fs.mkdir(target)
    // a directory cannot be replaced by a file
    await expect(writeFileAtomic(target, 'x')).to.eventually.be.rejected.with.property('code')
    expect(await fs.readdir(dir)).to.deep.equal(['sub'])
  })
})
