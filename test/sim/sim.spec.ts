import { spawn } from 'node:child_process'
import path from 'node:path'
import { expect } from 'chai'
import { GOSSIP_DEFAULT } from '../../src/constants.ts'
import { parseOptions, simulate } from './cli.ts'
import { swimCore } from './core.ts'
import { placementMetrics } from './placement.ts'
import { Random } from './random.ts'
import { runScenario } from './scenario.ts'
import { Scheduler } from './scheduler.ts'
import type { ScenarioInit, ScenarioResult } from './scenario.ts'

const root = path.resolve(import.meta.dirname, '../..')

/** A small production-timing run: 40 peers, one kill and one join, no churn. */
function small (overrides: Partial<ScenarioInit> = {}): ScenarioInit {
  return {
    peers: 40,
    seed: 7,
    gossip: { ...GOSSIP_DEFAULT },
    network: { latency: { min: 1, max: 30 }, loss: 0 },
    warmup: 5_000,
    duration: 45_000,
    follow: 35_000,
    kills: 1,
    joins: 1,
    churn: 0,
    createCore: swimCore,
    ...overrides
  }
}

/** Runs `args` through the CLI entry and resolves with its exit code and output. */
async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/sim/index.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', resolve)
    })
    return { code, stdout, stderr }
  } finally {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
  }
}

describe('sim: scheduler', () => {
  it('fires timers in time order and lets async code between them finish', async () => {
    const scheduler = new Scheduler(1000)
    const seen: string[] = []
    const sleep = async (ms: number): Promise<void> => { await new Promise<void>(resolve => { scheduler.setTimeout(resolve, ms) }) }
    const chain = (async () => {
      await sleep(10)
      seen.push(`a@${scheduler.now()}`)
      await Promise.resolve()
      await sleep(5)
      seen.push(`b@${scheduler.now()}`)
    })()
    scheduler.setTimeout(() => { seen.push(`c@${scheduler.now()}`) }, 12)
    const cancelled = scheduler.setTimeout(() => { seen.push('never') }, 1)
    cancelled.cancel()
    await scheduler.run(2000)
    await chain
    expect(seen).to.deep.equal(['a@1010', 'c@1012', 'b@1015'])
    expect(scheduler.now()).to.equal(2000)
  })
})

describe('sim: membership over the simulated network', function () {
  this.timeout(60_000)
  let result: ScenarioResult

  before(async () => {
    result = await runScenario(small())
  })

  it('sees a killed peer dead at every live peer within 10 s of its declaration', () => {
    expect(result.deaths).to.have.length(1)
    const death = result.deaths[0]
    expect(death?.reached).to.equal(1)
    expect(death?.detectedAfter).to.be.a('number').and.to.be.below(40_000)
    expect(death?.p100).to.be.a('number').and.to.be.at.most(10_000)
    expect(death?.p50).to.be.at.most(death?.p99 as number)
  })

  it('makes a join known to every live peer, and the newcomer knows them', () => {
    expect(result.joins).to.have.length(1)
    const join = result.joins[0]
    expect(join?.reached).to.equal(1)
    expect(join?.p100).to.be.a('number').and.to.be.below(30_000)
    expect(join?.newcomerView99).to.be.a('number').and.to.be.below(5_000)
  })

  it('declares no live peer dead, and suspects none, at 0 % loss', () => {
    expect(result.falseDeaths.members).to.equal(0)
    expect(result.suspicions.episodes).to.equal(0)
  })

  it('reports sane traffic, connection and speed figures', () => {
    expect(result.bytesPerPeerPerSecond.mean).to.be.above(0).and.below(2048)
    expect(result.bytesPerPeerPerSecond.max).to.be.at.least(result.bytesPerPeerPerSecond.mean)
    expect(result.messagesPerPeerPerSecond).to.be.above(1)
    expect(Object.keys(result.bytesByType)).to.include('ping')
    expect(result.connections.max).to.be.at.most(64).and.at.least(result.connections.p50)
    expect(result.connections.newConnectionShare).to.be.within(0, 1)
    expect(result.events).to.be.above(10_000)
    expect(result.eventsPerSecond).to.be.above(0)
    expect(result.measuredMs).to.equal(45_000)
  })

  it('fails those checks when the transport is broken (one live peer cut off)', async () => {
    const broken = await runScenario(small({
      peers: 16,
      duration: 30_000,
      kills: 0,
      joins: 0,
      // peer 0 keeps running but, 10 s in, once the net formed (a member counts once it answered a ping),
      // nothing reaches it or leaves it: the others must declare it dead
      onNetwork: network => {
        const clock = (network as unknown as { scheduler: { now(): number } }).scheduler
        let start: number | undefined
        network.filter = (from, to) => {
          start ??= clock.now()
          return clock.now() - start < 10_000 || (from !== 0 && to !== 0)
        }
      }
    }))
    expect(broken.falseDeaths.members).to.be.above(0)
    expect(broken.suspicions.episodes).to.be.above(0)
  })
})

describe('sim: placement metrics', () => {
  it('moves exactly the ideal copies per join and death, with O(N) partners per changed range', () => {
    const report = placementMetrics(new Random(3), { peers: 300, events: 1, keysPerPosition: 32 })
    expect(report.events.map(e => e.kind)).to.deep.equal(['join', 'death'])
    for (const e of report.events) {
      expect(e.changed).to.be.above(0)
      // without zones XOR placement swaps one home replica per changed key: moved = ideal
      expect(e.movedRatio).to.be.within(0.99, 1.01)
      expect(e.perRangeMax).to.be.at.most(report.n + 1)
      expect(e.partners.max).to.be.above(0)
    }
    expect(report.events[0]?.subjectPartners).to.be.above(report.n)
  })
})

describe('sim: command line', function () {
  this.timeout(60_000)

  it('parses the options and rejects bad ones', () => {
    const o = parseOptions(['--peers', '500', '--loss', '0,0.05', '--latency', '5-20', '--profile', 'testnet', '--json'])
    expect(o).to.include({ peers: 500, json: true, profile: 'testnet' })
    expect(o.loss).to.deep.equal([0, 0.05])
    expect(o.latency).to.deep.equal({ min: 5, max: 20 })
    for (const bad of [['--peers', 'x'], ['--peers', '1'], ['--loss', '1'], ['--loss', '-0.1'], ['--latency', '30-1'], ['--profile', 'fast'], ['--nope'], ['stray']]) {
      expect(() => parseOptions(bad), bad.join(' ')).to.throw().with.property('name', 'UsageError')
    }
  })

  it('gives a report whose fields are present and whose targets are judged', async () => {
    const options = parseOptions(['--peers', '20', '--loss', '0.01', '--warmup', '2', '--duration', '10', '--kills', '1', '--joins', '0', '--churn', '0', '--placement-events', '1'])
    const report = await simulate(options, () => {})
    expect(report.membership?.peers).to.equal(20)
    expect(report.membership?.runs).to.have.length(1)
    expect(report.placement?.peers).to.equal(20)
    const names = report.targets.map(t => t.target)
    expect(names).to.include('connections per peer ≤ 64')
    expect(names).to.include('membership traffic ≤ 2 KB/s per peer')
    expect(names).to.include('0 false deaths at 1 % loss')
    expect(report.targets.find(t => t.target === 'connections per peer ≤ 64')?.pass).to.equal(true)
    expect(JSON.parse(JSON.stringify(report))).to.have.keys(['command', 'machine', 'peers', 'profile', 'seed', 'membership', 'placement', 'targets', 'wallMs'])
  })

  it('exits 2 with a clear message on bad arguments', async () => {
    const { code, stdout, stderr } = await cli(['--peers', 'ten'])
    expect(code).to.equal(2)
    expect(stdout).to.equal('')
    expect(stderr).to.match(/--peers must be a whole number, got "ten"/)
    expect(stderr).to.match(/usage: npm run sim/)
  })
})
