/**
 * Closed by default, through the real CLI: a daemon with no credentials refuses to start (exit 2
 * and the hint), `init` creates a network (operator key + roster), a second machine joins with a
 * copy of the roster, `roster add` on the first data dir reaches the running daemon.
 */
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { runCli, startCli } from '../utils/cli-process.ts'
import { expect } from '../utils/expect.ts'

describe('cli: closed networks (bin/p2pstore.js as a process)', function () {
  this.timeout(120_000)
  const cleanup = useCleanup()

  it('daemon without a roster, network id or swarm key refuses to start unless --open: exit 2 and the hint', async () => {
    const dir = path.join(await cleanup.tempDir(), 'd')
    const res = await runCli(cleanup, ['--data', dir, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0'])
    expect(res.code, res.stderr).to.equal(EXIT.badInput)
    expect(res.stderr).to.match(/no network credentials/)
    expect(res.stderr).to.include('p2pstore init')
    expect(res.stderr).to.include('--open')
  })

  it('init creates a closed network; a second peer joins with the roster; roster add reaches the running daemon', async () => {
    const base = await cleanup.tempDir()
    const a = path.join(base, 'a')
    const b = path.join(base, 'b')
    const init = await runCli(cleanup, ['--data', a, 'init', '--json'])
    expect(init.code, init.stderr).to.equal(0)
    const first = JSON.parse(init.stdout) as { peerId: string, network: string, operatorKey: string, member: boolean }
    expect(first.member).to.equal(true)
    expect(first.operatorKey).to.equal(path.join(a, 'operator.key'))

    const daemon = startCli(cleanup, ['--data', a, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json'])
    const ready = JSON.parse(await daemon.waitForLine(/"event":"ready"/)) as { api: string }

    const join = await runCli(cleanup, ['--data', b, 'init', '--roster', path.join(a, 'roster')])
    expect(join.code, join.stderr).to.equal(0)
    const second = /peer id\s+(\S+)/.exec(join.stdout)?.[1] ?? ''
    expect(join.stderr).to.include(`npx p2pstore roster add ${second}`)

    const add = await runCli(cleanup, ['--data', a, 'roster', 'add', second, '--label', 'machine b', '--json'])
    expect(add.code, add.stderr).to.equal(0)
    const roster = JSON.parse(add.stdout) as { sequence: string, members: Array<{ peerId: string }> }
    expect(roster.sequence).to.equal('2')
    expect(roster.members.map(m => m.peerId)).to.deep.equal([first.peerId, second])

    // the daemon watches its roster file
    let sequence: string | undefined
    for (let i = 0; i < 50 && sequence !== '2'; i++) {
      const status = await runCli(cleanup, ['--api', ready.api, 'status', '--json'])
      sequence = (JSON.parse(status.stdout) as { admission?: { sequence?: string } }).admission?.sequence
      if (sequence !== '2') await sleep(100)
    }
    expect(sequence).to.equal('2')

    const show = await runCli(cleanup, ['--data', a, 'roster', 'show'])
    expect(show.code, show.stderr).to.equal(0)
    expect(show.stdout).to.include(second)
    const removeUnknown = await runCli(cleanup, ['--data', a, 'roster', 'remove', 'nobody'])
    expect(removeUnknown.code).to.equal(EXIT.badInput)
  })
})
