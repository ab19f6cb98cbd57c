import fs from 'node:fs/promises'
import * as errors from '../src/errors.ts'
import { expect } from './utils/expect.ts'

const errorClasses = Object.entries(errors)
  .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
  .map(([name]) => name)

describe('errors', () => {
  it('has error classes whose name is the class name', () => {
    expect(errorClasses.length).to.be.greaterThan(3)
    for (const name of errorClasses) {
      const Ctor = (errors as unknown as Record<string, new (message: string) => Error>)[name]
      if (Ctor == null) throw new Error(`missing ${name}`)
      expect(new Ctor('x').name).to.equal(name)
    }
  })

  it('maps every error class in the ERRORS table', () => {
    for (const name of errorClasses) expect(errors.ERRORS, name).to.have.property(name)
  })

  it('documents every row of the ERRORS table and every exit code in README', async () => {
    const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8')
    for (const [name, row] of Object.entries(errors.ERRORS)) {
      expect(readme, `README mentions ${name}`).to.include(`\`${name}\``)
      expect(readme, `README gives exit ${row.exitCode} for ${name}`).to.match(new RegExp(`\`${name}\`[^\\n]*\\| ${row.exitCode} \\|`))
    }
    for (const code of Object.values(errors.EXIT)) {
      expect(readme, `README documents exit code ${code}`).to.match(new RegExp(`^\\| ${code} \\|`, 'm'))
    }
  })

  it('describes unknown errors as internal (exit 1, HTTP 500)', () => {
    expect(errors.describeError(new TypeError('boom'))).to.include({ name: 'TypeError', exitCode: 1, httpStatus: 500 })
    expect(errors.describeError('plain string')).to.include({ exitCode: 1, message: 'plain string' })
  })
})
