import fs from 'node:fs/promises'
import path from 'node:path'
import { peerIdTail } from '../../util/index.ts'
import type { KnownPeer, PeerStatus } from '../../peer.ts'
import type { CommandContext } from '../context.ts'

/**
 * `p2pstore peers`: every peer the daemon knows, and whether it is connected. The human table
 * prints each address with `/p2p/<peer id>`, so it can be pasted into `--bootstrap`; `--json` keeps
 * the API's answer as it is. When the daemon belongs to a local test net (its data dir is
 * `DIR/peer-<i>` beside a readable `DIR/testnet.json`), an INDEX column gives each peer's index,
 * the number `p2pstore fault` takes.
 */
export async function peersCommand (ctx: CommandContext): Promise<number> {
  const client = await ctx.client()
  const peers = await client.peers({ signal: ctx.signal })
  if (ctx.out.json) {
    ctx.out.data(peers)
    return 0
  }
  if (peers.length === 0) {
    ctx.out.line('no peers known yet (is the daemon joined? see `npx p2pstore status`)')
    return 0
  }
  const testnet = await testnetIndexes(ctx)
  const now = Date.now()
  const header = ['PEER ID', 'STATE', 'INCARNATION', 'LAST HEARD', 'SUSPECTED BY', 'CONNECTED', 'ADDRESS']
  const rows = peers.map(p => [
    p.peerId,
    p.state,
    String(p.incarnation),
    p.lastHeard == null ? 'never' : `${((now - Date.parse(p.lastHeard)) / 1000).toFixed(1)} s ago`,
    p.suspectedBy.length === 0 ? '-' : p.suspectedBy.map(peerIdTail).join(','),
    p.connected ? 'yes' : 'no',
    pasteableAddress(p)
  ])
  if (testnet == null) {
    ctx.out.columns(header, rows)
  } else {
    ctx.out.columns(['INDEX', ...header], rows.map((row, i) => [testnet.indexes.get(peers[i]?.peerId ?? '') ?? '-', ...row]))
  }
  const count = (state: string): number => peers.filter(p => p.state === state).length
  ctx.out.info(`${peers.length} members: ${count('alive')} alive, ${count('suspect')} suspect, ${count('dead')} dead, ${count('left')} left; ${peers.filter(p => p.connected).length} connected`)
  if (testnet != null) {
    ctx.out.info(`test net ${testnet.dir}${testnet.self == null ? '' : `, this daemon is peer ${testnet.self}`}; its faults: npx p2pstore fault --dir ${shellQuote(testnet.dir)} status`)
  }
  return 0
}

/** The first address, ending in `/p2p/<peer id>` as `--bootstrap` wants it; `-` when there is none. */
export function pasteableAddress (peer: Pick<KnownPeer, 'peerId' | 'multiaddrs'>): string {
  const first = peer.multiaddrs[0]
  if (first == null) return '-'
  return first.includes('/p2p/') ? first : `${first.replace(/\/$/, '')}/p2p/${peer.peerId}`
}

/**
 * Peer id → test-net index, when the answering daemon's data dir is `DIR/peer-<i>` and
 * `DIR/testnet.json` can be read here; undefined otherwise (a remote daemon, or not a test net).
 */
async function testnetIndexes (ctx: CommandContext): Promise<{ dir: string, self?: string, indexes: Map<string, string> } | undefined> {
  try {
    const client = await ctx.client()
    // a stub client in tests may have no status
    const status = await client.status({ signal: ctx.signal }) as PeerStatus | undefined
    if (status?.dataDir == null) return undefined
    const dir = path.dirname(status.dataDir)
    const file = JSON.parse(await fs.readFile(path.join(dir, 'testnet.json'), 'utf8')) as { peers?: unknown }
    if (!Array.isArray(file.peers)) return undefined
    const indexes = new Map<string, string>()
    for (const entry of file.peers as Array<{ index?: unknown, peerId?: unknown }>) {
      if (typeof entry?.peerId === 'string' && typeof entry.index === 'number') indexes.set(entry.peerId, String(entry.index))
    }
    return indexes.size === 0 ? undefined : { dir, self: indexes.get(status.peerId), indexes }
  } catch {
    // only a convenience: a daemon on another machine, or no test net
    return undefined
  }
}

function shellQuote (text: string): string {
  return /^[\w./:@-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`
}

/** `12D3KooWAbc…xyz9` → `…xyz9` for a narrow column */
