import http from 'node:http'
import { requestCounts } from '../../src/cli/commands/status.ts'
import { main } from '../../src/cli/index.ts'
import { CHECK_EXIT, EXIT } from '../../src/errors.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import { listen } from '../utils/http.ts'
import { stubWith } from '../utils/stubs.ts'
import type { Client, HealthJson } from '../../src/client/index.ts'
import type { KnownPeer, PeerStatus, RingMember } from '../../src/peer.ts'
import type { KeyLocation } from '../../src/replication/index.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const SELF = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelf1a2b3c'
const DEAD = '12D3KooWDeadDeadDeadDeadDeadDeadDeadDeadDead9z8y7x'
const SUSPECT = '12D3KooWSuspSuspSuspSuspSuspSuspSuspSuspSusp4d5e6f'
const ALIVE = '12D3KooWAliveAliveAliveAliveAliveAliveAliveq1w2e3'

const STATUS: PeerStatus = {
  peerId: SELF,
  version: '0.1.0',
  multiaddrs: [`/ip4/127.0.0.1/tcp/4700/p2p/${SELF}`],
  uptimeSeconds: 10,
  connections: 2,
  peers: { known: 3, connected: 2, alive: 1, suspect: 1, dead: 1, left: 0 },
  incarnation: 1,
  localHealth: 0,
  keys: 42,
  pendingHints: 1,
  joined: true,
  bootstrapPeers: 1,
  network: 'public',
  placement: { capacity: 1, share: 0.75, n: 3 }
}
const PEERS: KnownPeer[] = [
  { peerId: ALIVE, multiaddrs: ['/ip4/127.0.0.1/tcp/4701'], connected: true, protocols: [], state: 'alive', incarnation: 1, suspectedBy: [] },
  { peerId: DEAD, multiaddrs: ['/ip4/127.0.0.1/tcp/4702'], connected: false, protocols: [], state: 'dead', incarnation: 1, suspectedBy: [ALIVE] },
  { peerId: SUSPECT, multiaddrs: [], connected: true, protocols: [], state: 'suspect', incarnation: 2, suspectedBy: [SELF] }
]
const RING: RingMember[] = [
  { peerId: ALIVE, state: 'alive', capacity: 2, zone: 'a', share: 1, keys: 40, self: false },
  { peerId: DEAD, state: 'dead', capacity: 1, zone: 'b', share: 0, keys: 12, self: false },
  { peerId: SELF, state: 'alive', capacity: 1, zone: 'a', share: 0.75, keys: 42, self: true },
  { peerId: SUSPECT, state: 'suspect', capacity: 1, share: 0.25, self: false }
]

function health (verdict: HealthJson['verdict'], extra: Partial<HealthJson> = {}): HealthJson {
  const reasons: HealthJson['reasons'] = verdict === 'healthy'
    ? []
    : [{ severity: verdict, cause: `peer …${DEAD.slice(-6)} dead 41 s`, effect: '312 keys have 2 of 3 copies; re-replication 64 %, ETA 20 s', peers: [DEAD], keys: ['a', 'b'] }]
  return {
    verdict,
    peerId: SELF,
    serving: verdict !== 'unavailable',
    checkedAt: '2026-12-02T01:23:45.000Z',
    members: { alive: 4, suspect: 0, dead: 1, left: 0, total: 5 },
    view: { digest: 'ab', agreeing: 3, disagreeing: 0, unknown: 1 },
    keys: { primary: 1200, underReplicated: verdict === 'healthy' ? 0 : 312, writeUnavailable: 0, readUnavailable: 0, singleCopy: verdict === 'at-risk' ? 5 : 0 },
    rereplication: verdict === 'healthy' ? null : { active: true, done: 200, total: 312, progress: 0.64, etaSeconds: 20 },
    reasons,
    ...extra
  }
}

/** the URL of a loopback port nothing listens on (it was free a moment ago) */
async function closedPort (): Promise<string> {
  const server = http.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

interface Captured { code: number, stdout: string, stderr: string }

/** runs main() with captured output (and a stub client when given) */
async function run (args: string[], opts: { client?: Client, signal?: AbortSignal, tty?: boolean, onStdout?: (all: string) => void } = {}): Promise<Captured> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'p2pstore', ...args], {
    client: opts.client,
    env: { P2PSTORE_HOME: '/nonexistent-p2pstore-home' },
    signal: opts.signal,
    streams: {
      stdout: { isTTY: opts.tty, write: (s: string | Uint8Array) => { stdout += typeof s === 'string' ? s : Buffer.from(s).toString('utf8'); opts.onStdout?.(stdout) } },
      stderr: { write: (s: string | Uint8Array) => { stderr += String(s) } }
    }
  })
  return { code, stdout, stderr }
}

/** a stand-in daemon: `/v1/health` from `healthAnswer()`, the rest from the fixtures above */
async function standIn (cleanup: ReturnType<typeof useCleanup>, healthAnswer: () => { status: number, body: unknown }): Promise<{ url: string, requests: string[] }> {
  const requests: string[] = []
  const url = await listen(cleanup, (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '')
    const send = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
    if (req.url === '/v1/health') {
      const { status, body } = healthAnswer()
      send(status, body)
    } else if (req.url === '/v1/status') send(200, STATUS)
    else if (req.url === '/v1/peers') send(200, PEERS)
    else if (req.url === '/v1/ring') send(200, RING)
    else send(404, { error: 'NotFoundError', message: `no such endpoint: GET ${req.url ?? ''}`, hint: 'see README' })
  })
  return { url, requests }
}

describe('cli views: status --check, status --watch, members, locate', function () {
  this.timeout(60_000)
  const cleanup = useCleanup()

  describe('status --check against a stand-in /v1/health', () => {
    for (const [verdict, code] of [['healthy', 0], ['degraded', 1], ['at-risk', 2], ['unavailable', 3]] as const) {
      it(`${verdict} exits ${code}, printing the verdict and its reasons cause first; --json prints the health body`, async () => {
        const body = health(verdict)
        // a daemon that cannot serve answers 503 with the same body
        const { url } = await standIn(cleanup, () => ({ status: verdict === 'unavailable' ? 503 : 200, body }))
        const human = await run(['--api', url, 'status', '--check'])
        expect(human.code, human.stderr).to.equal(code)
        expect(CHECK_EXIT[verdict]).to.equal(code)
        const lines = human.stdout.trimEnd().split('\n')
        expect(lines[0]).to.equal(`${verdict.toUpperCase()} (the view of …${SELF.slice(-6)})`)
        if (verdict === 'healthy') {
          expect(lines).to.have.length(2)
        } else {
          expect(lines[1]).to.equal(`  peer …${DEAD.slice(-6)} dead 41 s → 312 keys have 2 of 3 copies; re-replication 64 %, ETA 20 s`)
          expect(lines[2]).to.match(/^ {2}members 4 alive, 0 suspect, 1 dead; keys 1200 primary, 312 under-replicated, \d+ single-copy, 0 write- and 0 read-unavailable; re-replication 64 %, ETA 20 s$/)
        }
        const json = await run(['--api', url, 'status', '--check', '--json'])
        expect(json.code).to.equal(code)
        expect(JSON.parse(json.stdout)).to.deep.equal(body)
      })
    }

    it('healthy with a note: a dead member whose keys have N copies again is printed as a note, and does not change the exit code', async () => {
      const body = health('healthy', { notes: [{ cause: `peer …${DEAD.slice(-6)} dead 65 s`, effect: 'its 66 keys here had 3 copies again after 0.4 s', peers: [DEAD] }] })
      const { url } = await standIn(cleanup, () => ({ status: 200, body }))
      const human = await run(['--api', url, 'status', '--check'])
      expect(human.code, human.stderr).to.equal(CHECK_EXIT.healthy)
      expect(human.stdout.split('\n')[1]).to.equal(`  note: peer …${DEAD.slice(-6)} dead 65 s → its 66 keys here had 3 copies again after 0.4 s`)
    })

    it('a daemon without /v1/health (404): the verdict comes from /v1/status and /v1/peers, marked as such', async () => {
      const { url } = await standIn(cleanup, () => ({ status: 404, body: { error: 'NotFoundError', message: 'no such endpoint: GET /v1/health', hint: 'see README' } }))
      const human = await run(['--api', url, 'status', '--check'])
      expect(human.code, human.stderr).to.equal(CHECK_EXIT.degraded)
      expect(human.stdout).to.match(/^DEGRADED \(the view of …1a2b3c, from \/v1\/status: this daemon has no \/v1\/health\)$/m)
      expect(human.stdout).to.include(`1 member dead: …${DEAD.slice(-6)} → keys they held may have fewer than 3 copies until re-replication`)
      expect(human.stdout).to.include(`1 member suspect: …${SUSPECT.slice(-6)}`)
      const json = JSON.parse((await run(['--api', url, 'status', '--check', '--json'])).stdout) as HealthJson
      expect(json).to.include({ verdict: 'degraded', derived: true, peerId: SELF })
      expect(json.reasons.map(r => r.peers)).to.deep.equal([[DEAD], [SUSPECT]])
    })

    it('an unreachable daemon exits 3 (unknown to monitoring) with what failed and what to do', async () => {
      // a port that was free a moment ago: nothing listens there
      const closed = await closedPort()
      const human = await run(['--api', closed, 'status', '--check'])
      expect(human.code).to.equal(CHECK_EXIT.unavailable)
      expect(human.stdout).to.match(new RegExp(`^UNAVAILABLE: cannot reach the daemon at ${closed} \\(ECONNREFUSED\\)$`, 'm'))
      expect(human.stdout).to.match(/^ {2}next: start one with `npx p2pstore daemon`/m)
      const json = JSON.parse((await run(['--api', closed, 'status', '--check', '--json'])).stdout) as { verdict: string, error: string }
      expect(json).to.include({ verdict: 'unavailable', error: 'DaemonUnreachableError' })
      // no daemon on the data dir at all: the same
      const none = await run(['status', '--check'])
      expect(none.code).to.equal(CHECK_EXIT.unavailable)
      expect(none.stdout).to.match(/^UNAVAILABLE: no daemon is running on data dir/m)
    })

    it('a server that is not a p2pstore daemon, or a health body of another shape, is unavailable too (3)', async () => {
      const { url } = await standIn(cleanup, () => ({ status: 200, body: { verdict: 'fine', peerId: SELF, reasons: [] } }))
      const res = await run(['--api', url, 'status', '--check'])
      expect(res.code).to.equal(CHECK_EXIT.unavailable)
      expect(res.stdout).to.match(/^UNAVAILABLE: the server at .* is not a p2pstore daemon: GET \/v1\/health answered 200 with JSON of another shape \(answer\.verdict: expected one of healthy, degraded, at-risk, unavailable, got "fine"\)/m)
    })

    it('--check with --watch is refused as bad input', async () => {
      const res = await run(['status', '--check', '--watch'], { client: stubWith<Client>(() => {}) })
      expect(res.code).to.equal(EXIT.badInput)
      expect(res.stderr).to.match(/--check and --watch do not go together/)
    })
  })

  describe('status --watch against a stand-in', () => {
    it('not a terminal: one JSON line per change (not per poll), and a stop ends it with 0', async () => {
      let verdict: HealthJson['verdict'] = 'healthy'
      const { url, requests } = await standIn(cleanup, () => ({ status: 200, body: health(verdict) }))
      const stop = new AbortController()
      const watching = run(['--api', url, 'status', '--watch'], { signal: stop.signal })
      const polls = (): number => requests.filter(r => r === '/v1/health').length
      await eventually(async () => polls() >= 3, 'three polls', 30_000)
      verdict = 'degraded'
      const seen = polls()
      await eventually(async () => polls() >= seen + 3, 'three more polls', 30_000)
      stop.abort()
      const res = await watching
      expect(res.code, res.stderr).to.equal(0)
      const lines = res.stdout.trimEnd().split('\n').map(l => JSON.parse(l) as { verdict: string, members: Array<{ peerId: string, state: string }>, keys: { held: number } })
      // six polls or more, two states: two lines
      expect(lines.map(l => l.verdict)).to.deep.equal(['healthy', 'degraded'])
      expect(lines[0]?.members.map(m => m.state)).to.deep.equal(['dead', 'suspect', 'alive', 'alive'])
      expect(lines[0]?.keys.held).to.equal(42)
    })

    it('on a terminal: clears and redraws only when the view changed, showing verdict, keys, traffic and members', async () => {
      const { url, requests } = await standIn(cleanup, () => ({ status: 200, body: health('degraded', { notes: [{ cause: 'peer …5w6v7u dead 65 s', effect: 'its 66 keys here had 3 copies again after 0.4 s' }] }) }))
      const stop = new AbortController()
      const watching = run(['--api', url, 'status', '--watch'], { signal: stop.signal, tty: true })
      await eventually(async () => requests.filter(r => r === '/v1/health').length >= 3, 'three polls', 30_000)
      stop.abort()
      const res = await watching
      expect(res.code).to.equal(0)
      const clears = res.stdout.split('\x1b[H\x1b[2J').length - 1
      expect(clears).to.equal(1)
      expect(res.stdout).to.include('DEGRADED (the view of …1a2b3c)')
      expect(res.stdout).to.include('  peer …9z8y7x dead 41 s → 312 keys have 2 of 3 copies')
      expect(res.stdout).to.include('  note: peer …5w6v7u dead 65 s → its 66 keys here had 3 copies again after 0.4 s')
      expect(res.stdout).to.match(/^keys {5}42 held here; of those it is first live home replica of: 1200, 312 under-replicated, 0 single-copy$/m)
      expect(res.stdout).to.match(/^traffic {2}2 connections, 1 pending hints$/m)
      expect(res.stdout).to.match(/^STATE\s+PEER\s+ZONE\s+CAPACITY\s+SHARE\s+KEYS\s+PEER ID\s+ADDRESS$/m)
      expect(res.stdout).to.match(/^DEAD\s+…9z8y7x\s+b\s+1\s+0\.0 %\s+12\s+12D3KooWDead/m)
    })

    it('follows /v1/events when the daemon serves it: each event makes it ask again', async () => {
      let verdict: HealthJson['verdict'] = 'healthy'
      const streams: ServerResponse[] = []
      const requests: string[] = []
      const url = await listen(cleanup, (req, res) => {
        requests.push(req.url ?? '')
        const send = (body: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
        if (req.url === '/v1/events') {
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          res.write(': connected\n\n')
          streams.push(res)
        } else if (req.url === '/v1/health') send(health(verdict))
        else if (req.url === '/v1/status') send(STATUS)
        else if (req.url === '/v1/peers') send(PEERS)
        else send(RING)
      })
      cleanup.add(() => { for (const s of streams) s.destroy() })
      const stop = new AbortController()
      let lines: string[] = []
      const watching = run(['--api', url, 'status', '--watch'], { signal: stop.signal, onStdout: all => { lines = all.trimEnd().split('\n') } })
      await eventually(async () => streams.length === 1 && lines.length === 1, 'the event stream open and a first line', 30_000)
      for (const next of ['degraded', 'at-risk'] as const) {
        verdict = next
        const asked = requests.filter(r => r === '/v1/health').length
        streams[0]?.write(`event: health\ndata: ${JSON.stringify(health(next))}\n\n`)
        await eventually(async () => requests.filter(r => r === '/v1/health').length > asked && lines.some(l => l.includes(`"verdict":"${next}"`)), `a line with ${next}`, 30_000)
      }
      stop.abort()
      expect((await watching).code).to.equal(0)
      expect(lines.map(l => (JSON.parse(l) as { verdict: string }).verdict)).to.deep.equal(['healthy', 'degraded', 'at-risk'])
      expect(requests.filter(r => r === '/v1/events')).to.have.length(1)
    })

    it('traffic: request rates from /metrics between two polls (a terminal shows them; a daemon without /metrics is not asked again)', async () => {
      let scrapes = 0
      const requests: string[] = []
      const url = await listen(cleanup, (req, res) => {
        requests.push(req.url ?? '')
        const send = (body: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
        if (req.url === '/metrics') {
          scrapes++
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end([
            '# TYPE p2pstore_requests_total counter',
            `p2pstore_requests_total{op="get",outcome="ok"} ${100 * scrapes}`,
            `p2pstore_requests_total{op="put",outcome="quorum_unavailable"} ${10 * scrapes}`,
            'p2pstore_request_duration_seconds_bucket{op="get",le="0.0005"} 3'
          ].join('\n'))
        } else if (req.url === '/v1/health') send(health('healthy'))
        else if (req.url === '/v1/status') send(STATUS)
        else if (req.url === '/v1/peers') send(PEERS)
        else if (req.url === '/v1/ring') send(RING)
        else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NotFoundError', message: 'no such endpoint', hint: '-' }))
      })
      const stop = new AbortController()
      let screen = ''
      const watching = run(['--api', url, 'status', '--watch'], { signal: stop.signal, tty: true, onStdout: all => { screen = all } })
      await eventually(async () => /requests\/s: get \d+\.\d, put \d+\.\d \(\d+\.\d failed\)/.test(screen), 'a traffic line with rates', 30_000)
      stop.abort()
      expect((await watching).code).to.equal(0)

      // the stand-ins of the other tests have no /metrics: asked once, then never again
      const { url: plain, requests: asked } = await standIn(cleanup, () => ({ status: 200, body: health('healthy') }))
      const again = new AbortController()
      const watchingPlain = run(['--api', plain, 'status', '--watch', '--json'], { signal: again.signal })
      await eventually(async () => asked.filter(r => r === '/v1/health').length >= 3, 'three polls', 30_000)
      again.abort()
      expect((await watchingPlain).code).to.equal(0)
      expect(asked.filter(r => r === '/metrics')).to.have.length(1)
      expect(requests.filter(r => r === '/metrics').length).to.be.at.least(2)
    })

    it('requestCounts sums p2pstore_requests_total by op, and failures apart', () => {
      const counts = requestCounts([
        '# HELP p2pstore_requests_total requests',
        'p2pstore_requests_total{op="get",outcome="ok"} 5',
        'p2pstore_requests_total{op="get",outcome="not_found"} 2',
        'p2pstore_requests_total{outcome="timeout",op="get"} 1',
        'p2pstore_requests_total{op="put",outcome="siblings"} 4',
        'p2pstore_requests_total{op="put",outcome="bad_request"} 3',
        'p2pstore_requests_total_other{op="x"} 100',
        'p2pstore_requests_total{op="delete",outcome="ok"} NaN'
      ].join('\n'))
      expect(Object.fromEntries(counts)).to.deep.equal({ get: 8, put: 7, failed: 4 })
    })

    it('a daemon that goes away shows as unavailable and is asked again', async () => {
      let up = true
      const { url } = await standIn(cleanup, () => up ? { status: 200, body: health('healthy') } : { status: 503, body: { error: 'NotStartedError', message: 'the peer is not running', hint: 'start it' } })
      const stop = new AbortController()
      let lines: string[] = []
      const watching = run(['--api', url, 'status', '--watch', '--json'], { signal: stop.signal, onStdout: all => { lines = all.trimEnd().split('\n') } })
      await eventually(async () => lines.length >= 1, 'a first line', 30_000)
      up = false
      await eventually(async () => lines.length >= 2, 'an unavailable line', 30_000)
      up = true
      await eventually(async () => lines.length >= 3, 'healthy again', 30_000)
      stop.abort()
      expect((await watching).code).to.equal(0)
      expect(lines.map(l => (JSON.parse(l) as { verdict: string }).verdict)).to.deep.equal(['healthy', 'unavailable', 'healthy'])
      expect(JSON.parse(lines[1] ?? '{}')).to.include({ error: 'NotStartedError' })
    })
  })

  it('members: one row per member, problem rows first, with short and full id, address, zone, capacity, share and keys', async () => {
    const client = stubWith<Client>(s => {
      s.status.resolves(STATUS)
      s.peers.resolves([...PEERS, { peerId: '12D3KooWGone', multiaddrs: [], connected: false, protocols: [], state: 'left', incarnation: 9, suspectedBy: [] }])
      s.ring.resolves(RING)
    })
    const res = await run(['members'], { client })
    expect(res.code).to.equal(0)
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines[0]).to.match(/^STATE\s+PEER\s+ZONE\s+CAPACITY\s+SHARE\s+KEYS\s+PEER ID\s+ADDRESS$/)
    expect(lines[1]).to.match(new RegExp(`^DEAD\\s+…9z8y7x\\s+b\\s+1\\s+0\\.0 %\\s+12\\s+${DEAD}\\s+/ip4/127\\.0\\.0\\.1/tcp/4702/p2p/${DEAD}$`))
    expect(lines[2]).to.match(new RegExp(`^SUSPECT\\s+…4d5e6f\\s+-\\s+1\\s+25\\.0 %\\s+\\?\\s+${SUSPECT}\\s+-$`))
    expect(lines[3]).to.match(new RegExp(`^ALIVE\\s+…q1w2e3\\s+a\\s+2\\s+100\\.0 %\\s+40\\s+${ALIVE}\\s+/ip4/127\\.0\\.0\\.1/tcp/4701/p2p/${ALIVE}$`))
    expect(lines[4]).to.match(new RegExp(`^ALIVE\\s+…1a2b3c\\*\\s+a\\s+1\\s+75\\.0 %\\s+42\\s+${SELF}\\s+/ip4/127\\.0\\.0\\.1/tcp/4700/p2p/${SELF}$`))
    expect(lines[5]).to.match(/^LEFT\s+…oWGone\s+-\s+1\s+0\.0 %\s+\?\s+12D3KooWGone\s+-$/)
    expect(res.stderr).to.match(/^5 members: 2 alive, 1 suspect, 1 dead, 1 left/m)
    const json = JSON.parse((await run(['members', '--json'], { client })).stdout) as Array<{ peerId: string, state: string }>
    expect(json.map(r => r.state)).to.deep.equal(['dead', 'suspect', 'alive', 'alive', 'left'])
  })

  it('locate prints the preference list with each answer, clocks and hinted copies; a key nobody holds exits 3', async () => {
    const location: KeyLocation = {
      n: 3,
      peerId: SELF,
      homeCopies: 1,
      otherCopies: 1,
      siblings: 2,
      peers: [
        { peerId: SELF, place: 1, role: 'home', state: 'alive', zone: 'a', self: true, answer: 'holds', copy: { siblings: 2, tombstones: 0, clock: { '0123456789abcdef00000001': 3, fedcba987654321000000002: 1 }, cloud: 0, latest: 1, current: true } },
        { peerId: SUSPECT, place: 2, role: 'home', state: 'suspect', self: false, answer: 'unreachable', error: 'TimeoutError: no answer in 5 s' },
        { peerId: ALIVE, place: 3, role: 'home', state: 'alive', self: false, answer: 'missing' },
        { peerId: '12D3KooWFallback', place: 4, role: 'fallback', state: 'alive', self: false, answer: 'holds', copy: { siblings: 1, tombstones: 1, clock: { '0123456789abcdef00000001': 2 }, cloud: 1, current: false } },
        { peerId: DEAD, place: 2, role: 'displaced', state: 'dead', self: false, answer: 'not-asked' }
      ]
    }
    const client = stubWith<Client>(s => s.locate.resolves(location))
    const res = await run(['locate', 'some/key', '--n', '3'], { client })
    expect(res.code).to.equal(0)
    expect(client.locate.firstCall.args[0]).to.equal('some/key')
    expect(client.locate.firstCall.args[1]).to.include({ n: 3 })
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines[0]).to.equal('some/key: 1 of 3 home replicas hold it, 1 copy elsewhere (hinted); 2 values (N = 3, as …1a2b3c sees it)')
    expect(lines[1]).to.match(/^PLACE\s+ROLE\s+PEER ID\s+STATE\s+ANSWER\s+VALUES\s+CLOCK\s+NOTE$/)
    expect(lines[2]).to.match(new RegExp(`^1\\s+home\\s+${SELF} \\(this\\)\\s+alive\\s+holds\\s+2 \\(siblings\\)\\s+01234567\\.1:3 fedcba98\\.2:1\\s+zone a$`))
    expect(lines[3]).to.match(new RegExp(`^2\\s+home\\s+${SUSPECT}\\s+suspect\\s+unreachable\\s+-\\s+-\\s+TimeoutError: no answer in 5 s$`))
    expect(lines[4]).to.match(new RegExp(`^3\\s+home\\s+${ALIVE}\\s+alive\\s+missing\\s+-\\s+-\\s*$`))
    expect(lines[5]).to.match(/^4\s+fallback\s+12D3KooWFallback\s+alive\s+holds\s+1 \+ 1 tombstone\s+01234567\.1:2 \+1\s+stale \(lacks versions others have\); outside the home replicas: hinted, or awaiting handoff$/)
    expect(lines[6]).to.match(new RegExp(`^2\\s+displaced\\s+${DEAD}\\s+dead\\s+not-asked\\s+-\\s+-\\s+dead: a home replica if it were alive`))
    expect(res.stderr).to.match(/2 home replica\(s\) lack it: read repair \(a get\) or anti-entropy restores the copy/)
    expect(JSON.parse((await run(['locate', 'some/key', '--json'], { client })).stdout)).to.deep.equal(location)

    const nowhere = stubWith<Client>(s => s.locate.resolves({ ...location, homeCopies: 0, otherCopies: 0, siblings: 0, peers: [{ peerId: SELF, place: 1, role: 'home', state: 'alive', self: true, answer: 'missing' }] }))
    const missing = await run(['locate', 'nothing'], { client: nowhere })
    expect(missing.code).to.equal(EXIT.notFound)
    expect(missing.stderr).to.match(/no peer asked holds this key/)

    // an older daemon without the route: a clear word, not "not found"
    const { url } = await standIn(cleanup, () => ({ status: 200, body: health('healthy') }))
    const older = await run(['--api', url, 'locate', 'k'])
    expect(older.code).to.equal(EXIT.badInput)
    expect(older.stderr).to.match(/this daemon does not serve GET \/v1\/locate\/:key \(an older p2pstore\): upgrade it/)
  })
})
