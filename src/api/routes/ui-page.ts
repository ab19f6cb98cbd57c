/**
 * The status page's HTML (issue #18), rendered on the server: the whole first screen is in the
 * answer, so the page reads before (and without) its script. The script only follows
 * `/v1/events` and swaps in a freshly rendered `#live` part (`/ui?part=live`) — one renderer, no
 * build step, nothing from another origin. Every value is escaped; no inline style attributes or
 * event handlers, so the Content-Security-Policy needs nothing but a nonce.
 */

import { shortPeerId } from '../../util/index.ts'
import type { HealthReport, MemberEvent } from '../../health/index.ts'
import type { KnownPeer, PeerStatus, RingMember } from '../../peer.ts'
import type { TrafficSample } from '../traffic.ts'

/** What one rendering shows. */
export interface PageData {
  report: HealthReport
  events: MemberEvent[]
  status: PeerStatus
  peers: KnownPeer[]
  ring: RingMember[]
  traffic: TrafficSample[]
  now: number
}

const VERDICT_TEXT: Record<HealthReport['verdict'], string> = {
  healthy: 'Healthy',
  degraded: 'Degraded',
  'at-risk': 'At risk',
  unavailable: 'Unavailable'
}

/** HTML-escapes text for element content and quoted attributes. */
export function esc (text: unknown): string {
  return String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}

function agoText (iso: string | undefined, now: number): string {
  if (iso == null) return 'never'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}

function peerCell (id: string): string {
  return `<span class="id" title="${esc(id)}">${esc(shortPeerId(id))}</span>`
}

/** The part that changes: everything but the page's head and script. */
export function renderLive (d: PageData): string {
  const r = d.report
  const reasons = r.reasons.length === 0
    ? '<p class="ok-line">Every key this peer is first replica of has all its copies, and no live member is in doubt.</p>'
    : `<ol class="reasons">${r.reasons.map((reason, i) => `
      <li class="sev-${esc(reason.severity)}"><span class="cause">${esc(reason.cause)}</span> <span class="arrow">→</span> <span class="effect">${esc(reason.effect)}</span>${
        reason.keys.length + reason.peers.length === 0
? ''
: `
        <details id="reason-${i}"><summary>affected: ${reason.keys.length} sample ${reason.keys.length === 1 ? 'key' : 'keys'}, ${reason.peers.length} ${reason.peers.length === 1 ? 'peer' : 'peers'}</summary>
          ${reason.peers.length > 0 ? `<p>peers: ${reason.peers.map(p => `<code>${esc(p)}</code>`).join(' ')}</p>` : ''}
          ${reason.keys.length > 0 ? `<p>keys: ${reason.keys.map(k => `<code>${esc(k)}</code>`).join(' ')}</p>` : ''}
        </details>`}</li>`).join('')}
    </ol>`
  const notes = r.notes.length === 0 ? '' : `<ul class="notes">${r.notes.map(n => `<li><span class="cause">${esc(n.cause)}</span> → ${esc(n.effect)}</li>`).join('')}</ul>`
  const view = r.view.disagreeing > 0
    ? `<span class="bad">${r.view.disagreeing} of ${r.view.agreeing + r.view.disagreeing + r.view.unknown} peers see another member view</span>`
    : r.view.unknown > 0
      ? `${r.view.agreeing} ${r.view.agreeing === 1 ? 'peer shares' : 'peers share'} this view, ${r.view.unknown} not heard since it changed`
      : `all ${r.view.agreeing} peers share this view`

  return `
  <section class="verdict v-${esc(r.verdict)}" data-verdict="${esc(r.verdict)}" id="verdict">
    <h1><span class="badge">${esc(VERDICT_TEXT[r.verdict])}</span> <span class="whose">as seen by ${peerCell(r.peerId)} (this peer) · ${esc(new Date(r.checkedAt).toISOString().slice(11, 19))} UTC</span></h1>
    ${reasons}
    ${notes}
    <p class="view">View ${esc(r.view.digest.slice(0, 8))}: ${view}.</p>
  </section>
  <section class="grid">
    ${tiles(d)}
  </section>
  <section class="row">
    <div class="panel wide"><h2>Members <small>problem rows first</small></h2>${membersTable(d)}</div>
  </section>
  <section class="row">
    <div class="panel"><h2>Traffic <small>kv API, last ${Math.round(d.traffic.length * 5 / 60)} min</small></h2>${trafficStrip(d.traffic)}</div>
    <div class="panel"><h2>Key-space shares <small>from placement, N = ${r.replication.n}</small></h2>${sharesChart(d.ring)}</div>
  </section>
  <section class="row">
    <div class="panel wide"><h2>Events <small>membership, newest first</small></h2>${timeline(d)}</div>
  </section>`
}

function tiles (d: PageData): string {
  const k = d.report.keys
  const rr = d.report.rereplication
  const tile = (label: string, value: number | string, bad = false, id = ''): string =>
    `<div class="tile${bad ? ' tile-bad' : ''}"${id === '' ? '' : ` id="${id}"`}><div class="num">${esc(value)}</div><div class="label">${esc(label)}</div></div>`
  const progress = rr == null
    ? '<div class="tile"><div class="num">—</div><div class="label">re-replication idle</div></div>'
    : `<div class="tile tile-bad"><div class="num">${Math.floor(rr.progress * 100)} %</div><svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"><rect width="100" height="6" class="bar-bg"/><rect width="${(rr.progress * 100).toFixed(1)}" height="6" class="bar-fg"/></svg><div class="label">re-replication ${rr.done}/${rr.total}${rr.etaSeconds == null ? '' : `, ETA ${Math.ceil(rr.etaSeconds)} s`}</div></div>`
  const m = d.report.members
  return [
    tile('keys this peer is first replica of', k.primary),
    tile('under-replicated', k.underReplicated, k.underReplicated > 0, 'under-replicated'),
    tile('single copy', k.singleCopy, k.singleCopy > 0),
    tile('write-unavailable', k.writeUnavailable, k.writeUnavailable > 0),
    tile('read-unavailable', k.readUnavailable, k.readUnavailable > 0),
    progress,
    tile(`members alive of ${m.total}`, m.alive, m.alive < m.total - m.left),
    tile('hints pending', d.status.pendingHints, d.status.pendingHints > 0),
    tile('last anti-entropy', d.status.lastAntiEntropy == null ? 'none' : agoText(d.status.lastAntiEntropy.at, d.now))
  ].join('\n    ')
}

const STATE_RANK: Record<string, number> = { dead: 0, suspect: 1, alive: 2, left: 3 }

function membersTable (d: PageData): string {
  const ring = new Map(d.ring.map(m => [m.peerId, m]))
  const differ = new Set(d.report.view.disagreeingPeers)
  const self = d.report.peerId
  const rows = [
    { peerId: self, state: 'alive', incarnation: d.status.incarnation, lastHeard: undefined as string | undefined, connected: true, self: true },
    ...d.peers.map(p => ({ peerId: p.peerId, state: p.state as string, incarnation: p.incarnation, lastHeard: p.lastHeard, connected: p.connected, self: false }))
  ].sort((a, b) => (STATE_RANK[a.state] ?? 9) - (STATE_RANK[b.state] ?? 9) || a.peerId.localeCompare(b.peerId))
  return `<table class="members"><thead><tr><th>peer</th><th>state</th><th>last heard</th><th>incarnation</th><th>connected</th><th>zone</th><th>share</th><th>keys</th><th>view</th></tr></thead><tbody>
    ${rows.map(row => {
      const placed = ring.get(row.peerId)
      return `<tr class="st-${esc(row.state)}" data-peer="${esc(row.peerId)}" data-state="${esc(row.state)}"><td>${peerCell(row.peerId)}${row.self ? ' <small>(this peer)</small>' : ''}</td><td><span class="state">${esc(row.state)}</span></td><td>${row.self ? '—' : esc(agoText(row.lastHeard, d.now))}</td><td>${esc(row.incarnation)}</td><td>${row.connected ? 'yes' : 'no'}</td><td>${esc(placed?.zone ?? '—')}</td><td>${placed == null ? '—' : `${(placed.share * 100).toFixed(1)} %`}</td><td>${esc(placed?.keys ?? '—')}</td><td>${row.self ? 'this' : differ.has(row.peerId) ? '<span class="bad">differs</span>' : (row.state === 'alive' || row.state === 'suspect') ? 'same or not heard' : '—'}</td></tr>`
    }).join('\n    ')}
  </tbody></table>`
}

/** An inline SVG sparkline of `values` (no axes: the label carries the last value and the peak). */
function sparkline (values: number[], cls: string): string {
  const w = 240
  const h = 36
  const max = Math.max(1e-9, ...values)
  const step = values.length > 1 ? w / (values.length - 1) : w
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(' ')
  return `<svg class="spark ${cls}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="sparkline"><polyline points="${points}" fill="none" stroke-width="1.5"/></svg>`
}

function trafficStrip (traffic: TrafficSample[]): string {
  const rate = traffic.map(s => s.requests / 5)
  const p99 = traffic.map(s => s.p99)
  const errors = traffic.reduce((n, s) => n + s.errors, 0)
  const last = traffic[traffic.length - 2] ?? traffic[traffic.length - 1]
  return `<div class="strip">
    <div>${sparkline(rate, 'spark-rate')}<div class="label">requests/s: now ${(last == null ? 0 : last.requests / 5).toFixed(1)}, peak ${Math.max(0, ...rate).toFixed(1)}</div></div>
    <div>${sparkline(p99, 'spark-p99')}<div class="label">p99 latency: now ${(last?.p99 ?? 0).toFixed(1)} ms, peak ${Math.max(0, ...p99).toFixed(1)} ms</div></div>
    <div class="label">${errors} server ${errors === 1 ? 'error' : 'errors'} in the window</div>
  </div>`
}

function sharesChart (ring: RingMember[]): string {
  const members = ring.filter(m => m.state !== 'left')
  if (members.length === 0) return '<p>no members</p>'
  const rowH = 18
  const w = 300
  const label = 90
  const max = Math.max(1e-9, ...members.map(m => m.share))
  const bars = members.map((m, i) => {
    const y = i * rowH
    const bw = ((w - label - 50) * m.share) / max
    return `<g class="share st-${esc(m.state)}"><text x="0" y="${y + 13}">${esc(shortPeerId(m.peerId))}${m.self ? ' *' : ''}</text><rect x="${label}" y="${y + 3}" width="${bw.toFixed(1)}" height="${rowH - 6}"/><text x="${(label + bw + 4).toFixed(1)}" y="${y + 13}">${(m.share * 100).toFixed(1)} %</text></g>`
  }).join('')
  return `<svg class="shares" viewBox="0 0 ${w} ${members.length * rowH}" width="${w}" height="${members.length * rowH}" role="img" aria-label="share of keys each member is a home replica of">${bars}</svg><div class="label">share of all keys each member is a home replica of (* this peer)</div>`
}

function timeline (d: PageData): string {
  if (d.events.length === 0) return '<p>no membership changes since this peer started</p>'
  return `<ol class="timeline">${[...d.events].reverse().slice(0, 20).map(e =>
    `<li class="st-${esc(e.state)}"><time datetime="${esc(e.at)}">${esc(e.at.slice(11, 19))}</time> ${peerCell(e.peerId)} ${esc(e.previous ?? 'new')} → <span class="state">${esc(e.state)}</span> <small>${esc(agoText(e.at, d.now))}</small></li>`).join('')}</ol>`
}

const CSS = `
:root{color-scheme:light;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;--ok:#1b7f3a;--warn:#a86200;--risk:#b3261e;--down:#5b1a1a;--mute:#666}
body{margin:0;background:#f6f7f9;color:#1d1f23}
header{display:flex;justify-content:space-between;align-items:center;padding:8px 16px;background:#1d1f23;color:#fff}
header b{font-weight:600}
.conn{font-size:12px;padding:2px 8px;border-radius:10px;background:#444}
.conn.ok{background:var(--ok)}.conn.bad{background:var(--risk)}
main{padding:12px 16px;max-width:1200px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:15px;margin:0 0 8px}h2 small,.whose{font-weight:400;color:var(--mute);font-size:13px}
.verdict{background:#fff;border-left:8px solid var(--ok);padding:10px 14px;border-radius:4px;margin-bottom:12px}
.v-degraded{border-color:var(--warn)}.v-at-risk{border-color:var(--risk)}.v-unavailable{border-color:var(--down)}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;background:var(--ok)}
.v-degraded .badge{background:var(--warn)}.v-at-risk .badge{background:var(--risk)}.v-unavailable .badge{background:var(--down)}
.reasons{margin:6px 0;padding-left:20px}.reasons li{margin:4px 0}
.cause{font-weight:600}.arrow{color:var(--mute)}
.sev-at-risk .cause,.sev-unavailable .cause{color:var(--risk)}
.notes{color:var(--mute);margin:4px 0;padding-left:20px}
.view{color:var(--mute);margin:4px 0 0}.bad{color:var(--risk);font-weight:600}.ok-line{color:var(--ok)}
details{margin:2px 0 2px 4px}summary{cursor:pointer;color:#2456a6}code{font-size:12px;background:#eef;padding:0 3px;border-radius:2px;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:8px;margin-bottom:12px}
.tile{background:#fff;border-radius:4px;padding:8px}.tile .num{font-size:20px;font-weight:600}.tile .label,.label{font-size:12px;color:var(--mute)}
.tile-bad .num{color:var(--risk)}
.bar{width:100%;height:6px}.bar-bg{fill:#e3e5e8}.bar-fg{fill:var(--warn)}
.row{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:12px}.panel{background:#fff;border-radius:4px;padding:10px;flex:1 1 340px}.wide{flex-basis:100%}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eceef1;font-size:13px}th{color:var(--mute);font-weight:500}
.st-dead .state{color:#fff;background:var(--risk);padding:0 6px;border-radius:3px}.st-suspect .state{color:#fff;background:var(--warn);padding:0 6px;border-radius:3px}.st-left .state{color:var(--mute)}
tr.st-dead{background:#fdeceb}tr.st-suspect{background:#fff5e5}
.id{font-family:ui-monospace,Menlo,Consolas,monospace}
.spark polyline{stroke:#2456a6}.spark-p99 polyline{stroke:var(--warn)}
.strip{display:flex;flex-direction:column;gap:6px}
.shares text{font-size:11px;fill:#333;font-family:ui-monospace,Menlo,Consolas,monospace}.shares rect{fill:#2456a6}.shares .st-suspect rect{fill:var(--warn)}
.timeline{list-style:none;padding:0;margin:0}.timeline li{padding:2px 0}.timeline time{color:var(--mute);font-family:ui-monospace,Menlo,Consolas,monospace}
`

const SCRIPT = `
(() => {
  const live = document.getElementById('live')
  const conn = document.getElementById('conn')
  let queued = false
  const show = (text, cls) => { conn.textContent = text; conn.className = 'conn ' + cls }
  const refresh = async () => {
    queued = false
    try {
      const res = await fetch('/ui?part=live', { credentials: 'same-origin', cache: 'no-store' })
      if (!res.ok) throw new Error('HTTP ' + res.status)
      const html = await res.text()
      const open = Array.from(live.querySelectorAll('details[open]')).map(d => d.id)
      live.innerHTML = html
      for (const id of open) { const d = document.getElementById(id); if (d != null) d.open = true }
      const verdict = live.querySelector('[data-verdict]')
      if (verdict != null) document.body.dataset.verdict = verdict.dataset.verdict
      document.title = 'p2pstore: ' + (verdict == null ? '' : verdict.querySelector('.badge').textContent)
      show('live', 'ok')
    } catch (err) {
      show('disconnected (' + err.message + '), retrying', 'bad')
    }
  }
  // events come in bursts (a death is several): one refresh per second at most
  const soon = () => { if (!queued) { queued = true; setTimeout(refresh, 1000) } }
  if (typeof EventSource === 'function') {
    const events = new EventSource('/v1/events')
    for (const name of ['health', 'member', 'traffic']) events.addEventListener(name, soon)
    events.onopen = () => show('live', 'ok')
    events.onerror = () => show('reconnecting', 'bad')
  }
  // polling as well: a proxy that buffers event streams still leaves the page current
  setInterval(refresh, 15000)
  show('connecting', '')
})()
`

/** The whole page. */
export function renderPage (d: PageData, nonce: string): string {
  const r = d.report
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>p2pstore: ${esc(VERDICT_TEXT[r.verdict])}</title>
<style nonce="${esc(nonce)}">${CSS}</style>
</head>
<body data-verdict="${esc(r.verdict)}">
<header><div><b>p2pstore</b> status · peer <span class="id" title="${esc(r.peerId)}">${esc(shortPeerId(r.peerId))}</span> · v${esc(d.status.version)} · up ${esc(d.status.uptimeSeconds)} s</div><span id="conn" class="conn">static</span></header>
<main id="live">${renderLive(d)}</main>
<script nonce="${esc(nonce)}">${SCRIPT}</script>
</body>
</html>
`
}
