import { InvalidParametersError, NotFoundError } from '@libp2p/interface'
import { main } from '../../src/cli/index.ts'
import { RemoteError } from '../../src/client/index.ts'
import { DaemonUnreachableError, EXIT, InvalidContextTokenError, QuorumNotReachedError } from '../../src/errors.ts'
import { expect } from '../utils/expect.ts'
import { stubWith } from '../utils/stubs.ts'
import type { GetJson, WriteJson } from '../../src/api/index.ts'
import type { Client, ClientReadOptions, ClientWriteOptions } from '../../src/client/index.ts'
import type { StubbedInstance } from 'sinon-ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** bytes a text path would mangle: NUL, 0xff, a lone continuation byte, CR LF */
const BINARY = Uint8Array.of(0x00, 0xff, 0x01, 0x80, 0x0d, 0x0a, 0xfe, 0x00)

const TOKEN = 'AQidhw5BKp2mBwoGCgKqARABFi-XYw'

const WRITE: WriteJson = { key: 'k', context: TOKEN, acks: 2, coordinator: '12D3KooWCoord' }

const ONE_UTF8: GetJson = { key: 'k', context: TOKEN, siblings: [{ value: 'héllo wörld', encoding: 'utf8', timestamp: 1700000000000 }] }
const ONE_BASE64: GetJson = { key: 'k', context: TOKEN, siblings: [{ value: Buffer.from(BINARY).toString('base64'), encoding: 'base64', timestamp: 1700000000000 }] }
const TWO: GetJson = {
  key: 'k',
  context: TOKEN,
  siblings: [
    { value: 'first value', encoding: 'utf8', timestamp: 1700000000000 },
    { value: '//4=', encoding: 'base64', timestamp: 1700000001000 }
  ]
}

interface Run {
  code: number
  stdout: Buffer
  stderr: string
}

/** runs main() with a stub client, captured output as bytes (stdout) and text (stderr), and optional stdin */
async function run (args: string[], client: Client, stdin?: () => Promise<Uint8Array>): Promise<Run> {
  const out: Buffer[] = []
  let stderr = ''
  const code = await main(['node', 'p2pstore', ...args], {
    client,
    env: {},
    stdin,
    streams: {
      stdout: { write: (chunk: string | Uint8Array) => { out.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)) } },
      stderr: { write: (chunk: string) => { stderr += chunk } }
    }
  })
  return { code, stdout: Buffer.concat(out), stderr }
}

/** a stdin that must not be read */
const noStdin = async (): Promise<Uint8Array> => { throw new Error('stdin was read') }

function writeClient (): StubbedInstance<Client> {
  return stubWith<Client>(s => {
    s.put.resolves(WRITE)
    s.delete.resolves(WRITE)
  })
}

function putArgs (client: StubbedInstance<Client>): [string, Uint8Array, ClientWriteOptions | undefined] {
  expect(client.put.calledOnce).to.equal(true)
  const [key, value, options] = client.put.firstCall.args
  return [key, value, options]
}

function getOptions (client: StubbedInstance<Client>): ClientReadOptions | undefined {
  expect(client.get.calledOnce).to.equal(true)
  return client.get.firstCall.args[1]
}

function expectUsageError (res: Run, command: string, pattern: RegExp): void {
  expect(res.code).to.equal(EXIT.badInput)
  expect(res.stdout.length).to.equal(0)
  // one line naming the problem, then the command's usage
  const [first, second] = res.stderr.split('\n')
  expect(first).to.match(/^p2pstore: /)
  expect(first).to.match(pattern)
  expect(second).to.match(new RegExp(`^usage: p2pstore ${command} `))
  // a usage error, not a crash
  expect(res.stderr).to.not.match(/\n\s+at /)
}

describe('cli data commands (stub client, captured output)', () => {
  describe('put', () => {
    it('put k v stores the UTF-8 bytes of v and prints the new context', async () => {
      const client = writeClient()
      const res = await run(['put', 'k', 'v'], client, noStdin)
      expect(res.code).to.equal(EXIT.ok)
      const [key, value, options] = putArgs(client)
      expect(key).to.equal('k')
      expect([...value]).to.deep.equal([...utf8('v')])
      expect(options).to.deep.equal({ context: undefined, n: undefined, w: undefined, strict: undefined, signal: options?.signal })
      expect(options?.signal).to.be.instanceOf(AbortSignal)
      expect(res.stdout.toString('utf8')).to.equal(`stored k (1 byte, 2 copies acknowledged)\ncontext: ${TOKEN}\n`)
      expect(res.stderr).to.equal('')
    })

    it('put k with no value stores standard input byte-exact', async () => {
      const client = writeClient()
      let reads = 0
      const res = await run(['put', 'k'], client, async () => {
        reads++
        return BINARY
      })
      expect(res.code).to.equal(EXIT.ok)
      expect(reads).to.equal(1)
      const [key, value] = putArgs(client)
      expect(key).to.equal('k')
      expect([...value]).to.deep.equal([...BINARY])
      expect(res.stdout.toString('utf8')).to.match(new RegExp(`^stored k \\(${BINARY.byteLength} bytes, 2 copies acknowledged\\)$`, 'm'))
    })

    it('put k "" stores an empty value without reading standard input', async () => {
      const client = writeClient()
      const res = await run(['put', 'k', ''], client, noStdin)
      expect(res.code).to.equal(EXIT.ok)
      expect(putArgs(client)[1]).to.have.length(0)
    })

    it('passes --context, --n, --w and --strict through', async () => {
      const client = writeClient()
      const res = await run(['put', 'k', 'v', '--context', TOKEN, '--n', '3', '--w', '1', '--strict'], client, noStdin)
      expect(res.code).to.equal(EXIT.ok)
      const options = putArgs(client)[2]
      expect(options).to.include({ context: TOKEN, n: 3, w: 1, strict: true })
      expect(options?.signal).to.be.instanceOf(AbortSignal)
    })

    for (const [flags, pattern] of [
      [['--w', '0'], /--w <w>' argument '0' is invalid/],
      [['--n', '99'], /--n <n>' argument '99' is invalid/],
      [['--w', 'x'], /--w <w>' argument 'x' is invalid/],
      [['--n', '-1'], /--n <n>' argument '-1' is invalid/],
      [['--w', '1.5'], /--w <w>' argument '1.5' is invalid/]
    ] as Array<[string[], RegExp]>) {
      it(`put ${flags.join(' ')} exits 2 with a usage error and never calls the client`, async () => {
        const client = writeClient()
        const res = await run(['put', 'k', 'v', ...flags], client, noStdin)
        expectUsageError(res, 'put', pattern)
        expect(res.stderr.split('\n')[0]).to.include('expected a whole number from 1 to 16')
        expect(client.put.called).to.equal(false)
      })
    }

    it('says how many of n copies were acknowledged, and that a write to fewer peers than n is degraded', async () => {
      const full = await run(['put', 'k', 'v'], stubWith<Client>(s => s.put.resolves({ ...WRITE, replicas: 3, n: 3 })), noStdin)
      expect(full.stdout.toString('utf8').split('\n')[0]).to.equal('stored k (1 byte, 2 of 3 copies acknowledged)')

      const lone = await run(['put', 'k', 'vv', '--w', '1'], stubWith<Client>(s => s.put.resolves({ ...WRITE, acks: 1, replicas: 1, n: 3 })), noStdin)
      expect(lone.code).to.equal(EXIT.ok)
      expect(lone.stdout.toString('utf8').split('\n')[0]).to.equal('stored k (2 bytes, 1 of 3 copies: degraded, only 1 peer in this network)')

      const two = await run(['put', 'k', 'v'], stubWith<Client>(s => s.put.resolves({ ...WRITE, acks: 2, replicas: 2, n: 5 })), noStdin)
      expect(two.stdout.toString('utf8').split('\n')[0]).to.equal('stored k (1 byte, 2 of 5 copies: degraded, only 2 peers in this network)')
    })

    it('put --json prints the WriteJson as one line', async () => {
      const client = writeClient()
      const res = await run(['put', 'k', 'v', '--json'], client, noStdin)
      expect(res.code).to.equal(EXIT.ok)
      expect(res.stdout.toString('utf8')).to.equal(`${JSON.stringify(WRITE)}\n`)
      expect(JSON.parse(res.stdout.toString('utf8'))).to.deep.equal(WRITE)
    })

    it('a refused standard input (a terminal) exits 2 and stores nothing', async () => {
      const client = writeClient()
      const res = await run(['put', 'k'], client, async () => { throw new InvalidParametersError('no value given: pass VALUE, or pipe the value into standard input') })
      expect(res.code).to.equal(EXIT.badInput)
      expect(res.stderr.split('\n')[0]).to.equal('p2pstore: no value given: pass VALUE, or pipe the value into standard input')
      expect(client.put.called).to.equal(false)
    })
  })

  describe('get', () => {
    it('prints one UTF-8 sibling as exactly its bytes, no newline added', async () => {
      const client = stubWith<Client>(s => s.get.resolves(ONE_UTF8))
      const res = await run(['get', 'k'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(res.stdout.equals(Buffer.from('héllo wörld', 'utf8'))).to.equal(true)
      expect(res.stderr).to.equal('')
      expect(client.get.firstCall.args[0]).to.equal('k')
      const options = getOptions(client)
      expect(options).to.include({ n: undefined, r: undefined, resolve: undefined })
      expect(options?.signal).to.be.instanceOf(AbortSignal)
    })

    it('prints one base64 sibling as its decoded binary bytes, exactly', async () => {
      const client = stubWith<Client>(s => s.get.resolves(ONE_BASE64))
      const res = await run(['get', 'k'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect([...res.stdout]).to.deep.equal([...BINARY])
    })

    it('prints two siblings with the context, a hint on stderr, and exits 4', async () => {
      const client = stubWith<Client>(s => s.get.resolves(TWO))
      const res = await run(['get', 'k'], client)
      expect(res.code).to.equal(EXIT.siblings)
      const text = res.stdout.toString('utf8')
      expect(text).to.match(/^k has 2 siblings/)
      expect(text).to.match(/^--- sibling 1 of 2, written 2023-11-14T22:13:20\.000Z$/m)
      expect(text).to.match(/^--- sibling 2 of 2, written 2023-11-14T22:13:21\.000Z, binary \(base64\)$/m)
      expect(text).to.match(/^first value$/m)
      expect(text).to.match(/^\/\/4=$/m)
      expect(text).to.match(new RegExp(`^context: ${TOKEN}$`, 'm'))
      expect(res.stderr).to.include(`p2pstore put k --context ${TOKEN}`)
    })

    it('prints a delete concurrent with a value as a sibling marked deleted, and exits 4', async () => {
      const withTombstone: GetJson = { ...TWO, siblings: [{ value: 'first value', encoding: 'utf8', timestamp: 1700000000000 }, { value: '', encoding: 'utf8', timestamp: 1700000001000, deleted: true }] }
      const res = await run(['get', 'k'], stubWith<Client>(s => s.get.resolves(withTombstone)))
      expect(res.code).to.equal(EXIT.siblings)
      const text = res.stdout.toString('utf8')
      expect(text).to.match(/^--- sibling 1 of 2, written 2023-11-14T22:13:20\.000Z$/m)
      expect(text).to.match(/^--- sibling 2 of 2, deleted 2023-11-14T22:13:21\.000Z \(a delete concurrent with the other values\)$/m)
      expect(text).to.match(/^first value$/m)
    })

    it('says on stderr when fewer replicas than n exist (a degraded read), stdout staying the value', async () => {
      const res = await run(['get', 'k', '--r', '1'], stubWith<Client>(s => s.get.resolves({ ...ONE_UTF8, replies: 1, replicas: 1, n: 3 })))
      expect(res.code).to.equal(EXIT.ok)
      expect(res.stdout.toString('utf8')).to.equal('héllo wörld')
      expect(res.stderr).to.equal('(1 of 3 replicas answered: degraded, only 1 peer in this network)\n')
      const full = await run(['get', 'k'], stubWith<Client>(s => s.get.resolves({ ...ONE_UTF8, replies: 2, replicas: 3, n: 3 })))
      expect(full.stderr).to.equal('')
    })

    it('get --json of a deleted key prints the context the API answered with the 404, and exits 3', async () => {
      // as HttpClient rebuilds a 404 with its context header
      const notFound = new RemoteError('NotFoundError', 'no value for key "k"', TOKEN)
      const res = await run(['get', 'k', '--json'], stubWith<Client>(s => s.get.rejects(notFound)))
      expect(res.code).to.equal(EXIT.notFound)
      expect(JSON.parse(res.stdout.toString('utf8'))).to.deep.equal({ key: 'k', context: TOKEN, siblings: [] })
      expect(JSON.parse(res.stderr)).to.include({ error: 'NotFoundError', exitCode: EXIT.notFound })
    })

    it('quotes a key with spaces in the hint so it can be pasted into a shell', async () => {
      const client = stubWith<Client>(s => s.get.resolves({ ...TWO, key: "it's mine" }))
      const res = await run(['get', "it's mine"], client)
      expect(res.code).to.equal(EXIT.siblings)
      expect(res.stderr).to.include(`p2pstore put 'it'\\''s mine' --context ${TOKEN}`)
    })

    it('get --json prints the GetJson: exit 0 for one sibling, 4 for two', async () => {
      const one = await run(['get', 'k', '--json'], stubWith<Client>(s => s.get.resolves(ONE_BASE64)))
      expect(one.code).to.equal(EXIT.ok)
      expect(one.stdout.toString('utf8')).to.equal(`${JSON.stringify(ONE_BASE64)}\n`)

      const two = await run(['get', 'k', '--json'], stubWith<Client>(s => s.get.resolves(TWO)))
      expect(two.code).to.equal(EXIT.siblings)
      expect(JSON.parse(two.stdout.toString('utf8'))).to.deep.equal(TWO)
      // stdout stays one JSON document; no human hint in JSON mode
      expect(two.stderr).to.equal('')
    })

    it('passes --resolve lww, --n and --r through', async () => {
      const client = stubWith<Client>(s => s.get.resolves(ONE_UTF8))
      const res = await run(['get', 'k', '--resolve', 'lww', '--n', '5', '--r', '3'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(getOptions(client)).to.include({ resolve: 'lww', n: 5, r: 3 })
    })

    it('--resolve other exits 2 without calling the client', async () => {
      const client = stubWith<Client>(s => s.get.resolves(ONE_UTF8))
      const res = await run(['get', 'k', '--resolve', 'other'], client)
      expectUsageError(res, 'get', /--resolve <policy>' argument 'other' is invalid/)
      expect(client.get.called).to.equal(false)
    })

    it('--r 0 exits 2 without calling the client', async () => {
      const client = stubWith<Client>(s => s.get.resolves(ONE_UTF8))
      const res = await run(['get', 'k', '--r', '0'], client)
      expectUsageError(res, 'get', /--r <r>' argument '0' is invalid/)
      expect(client.get.called).to.equal(false)
    })

    const failures: Array<[string, () => Error, number]> = [
      ['NotFoundError', () => new NotFoundError('no value for key "k"'), EXIT.notFound],
      ['QuorumNotReachedError', () => new QuorumNotReachedError([], 'quorum not reached: 1 of 2 replies (retry, or lower --r)'), EXIT.quorum],
      ['InvalidContextTokenError', () => new InvalidContextTokenError('context token belongs to another key'), EXIT.badInput],
      ['DaemonUnreachableError', () => new DaemonUnreachableError('cannot reach the daemon at http://127.0.0.1:4701 (ECONNREFUSED)'), EXIT.unreachable],
      // as HttpClient rebuilds them from the API's answer: only the name survives
      ['NotFoundError (remote)', () => Object.assign(new Error('no value for key "k"'), { name: 'NotFoundError' }), EXIT.notFound],
      ['QuorumNotReachedError (remote)', () => Object.assign(new Error('quorum not reached: 0 of 2 replies'), { name: 'QuorumNotReachedError' }), EXIT.quorum]
    ]
    for (const [name, make, code] of failures) {
      it(`${name} exits ${code} with its message on stderr and nothing on stdout`, async () => {
        const err = make()
        const client = stubWith<Client>(s => s.get.rejects(err))
        const res = await run(['get', 'k'], client)
        expect(res.code).to.equal(code)
        expect(res.stdout.length).to.equal(0)
        expect(res.stderr.split('\n')[0]).to.equal(`p2pstore: ${err.message}`)
        expect(res.stderr).to.match(/^ {2}hint: \S/m)
      })
    }

    it('--json reports an error as JSON on stderr with its exit code', async () => {
      const client = stubWith<Client>(s => s.get.rejects(new QuorumNotReachedError([], 'quorum not reached: 1 of 2 replies')))
      const res = await run(['get', 'k', '--json'], client)
      expect(res.code).to.equal(EXIT.quorum)
      expect(res.stdout.length).to.equal(0)
      expect(JSON.parse(res.stderr)).to.include({ error: 'QuorumNotReachedError', message: 'quorum not reached: 1 of 2 replies', exitCode: EXIT.quorum })
    })
  })

  describe('delete', () => {
    it('delete k --context T passes the key and context and exits 0', async () => {
      const client = writeClient()
      const res = await run(['delete', 'k', '--context', TOKEN], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(client.delete.calledOnce).to.equal(true)
      const [key, options] = client.delete.firstCall.args
      expect(key).to.equal('k')
      expect(options).to.deep.equal({ context: TOKEN, n: undefined, w: undefined, strict: undefined, r: undefined, blind: undefined, signal: options?.signal })
      expect(options?.signal).to.be.instanceOf(AbortSignal)
      expect(client.put.called).to.equal(false)
      expect(res.stdout.toString('utf8')).to.equal(`deleted k (2 copies acknowledged)\ncontext: ${TOKEN}\n`)
    })

    it('delete --json prints the WriteJson; --w 0 exits 2 without calling the client', async () => {
      const client = writeClient()
      const res = await run(['delete', 'k', '--w', '2', '--json'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(JSON.parse(res.stdout.toString('utf8'))).to.deep.equal(WRITE)
      expect(client.delete.firstCall.args[1]).to.include({ w: 2, context: undefined })

      const bad = await run(['delete', 'k', '--w', '0'], client)
      expectUsageError(bad, 'delete', /--w <w>' argument '0' is invalid/)
      expect(client.delete.callCount).to.equal(1)
    })

    it('delete k without --context leaves the context unset (the daemon reads first) and passes --r', async () => {
      const client = writeClient()
      const res = await run(['delete', 'k', '--r', '1', '--w', '1'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(client.delete.firstCall.args[1]).to.include({ context: undefined, r: 1, w: 1, blind: undefined })
    })

    it('delete --blind passes blind and says so', async () => {
      const client = stubWith<Client>(s => s.delete.resolves({ ...WRITE, acks: 2, replicas: 3, n: 3 }))
      const res = await run(['delete', 'k', '--blind'], client)
      expect(res.code).to.equal(EXIT.ok)
      expect(client.delete.firstCall.args[1]).to.include({ blind: true, context: undefined })
      expect(res.stdout.toString('utf8').split('\n')[0]).to.equal('deleted k (blind tombstone, 2 of 3 copies acknowledged)')
    })

    it('a refused context token exits 2', async () => {
      const client = stubWith<Client>(s => s.delete.rejects(Object.assign(new Error('context token is corrupt or altered'), { name: 'InvalidContextTokenError' })))
      const res = await run(['delete', 'k', '--context', 'garbage'], client)
      expect(res.code).to.equal(EXIT.badInput)
      expect(res.stderr.split('\n')[0]).to.equal('p2pstore: context token is corrupt or altered')
    })
  })
})
