import { failureOf, run } from '../../../src/faults/netns/command.ts'
import { expect } from '../../utils/expect.ts'

async function failure (command: string, args: string[]): Promise<Error> {
  return run(command, args).then(() => { throw new Error('it succeeded') }, (err: unknown) => err as Error)
}

describe('faults: the netns command runner', () => {
  it('resolves with stdout, and feeds stdin', async () => {
    expect(await run('cat', [], { input: 'rules\n' })).to.equal('rules\n')
  })

  it('classifies a failure once, from its stderr or spawn error, and names the command line', async () => {
    const exists = await failure('sh', ['-c', 'echo "RTNETLINK answers: File exists" >&2; exit 2'])
    expect(exists).to.have.property('name', 'TestnetError')
    expect(exists.message).to.include('`sh -c').and.include('File exists')
    expect(failureOf(exists)).to.equal('exists')
    expect(failureOf(await failure('sh', ['-c', 'echo "Cannot find device \\"x\\"" >&2; exit 1']))).to.equal('missing')
    expect(failureOf(await failure('sh', ['-c', 'echo "Cannot remove namespace file: No such file or directory" >&2; exit 1']))).to.equal('missing')
    expect(failureOf(await failure('sh', ['-c', 'exit 3']))).to.equal('other')
    expect(failureOf(await failure('p2pstore-no-such-program', []))).to.equal('not-installed')
    expect(failureOf(new Error('File exists'))).to.equal(undefined)
  })
})
