/**
 * The status page in a real browser (issue #18): Debian's chromium-headless-shell driven by
 * playwright-core (which never downloads a browser), every request off loopback refused, against
 * a 4-daemon process test net (`p2pstore testnet`'s launcher) so that one daemon can be SIGKILLed:
 * healthy → degraded with the right reasons → repaired → healthy. Screenshots are saved under
 * `test-artifacts/ui/` (git-ignored); the spec prints where.
 */

import fs from 'node:fs/promises'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { isLoopbackHost } from '../../src/api/index.ts'
import { ProcessTestnet } from '../../src/testnet/index.ts'
import { useCleanup } from '../utils/cleanup.ts'
import { expect } from '../utils/expect.ts'
import { CHROMIUM } from '../utils/system-preflight.ts'
import type { HealthReport } from '../../src/health/index.ts'
import type { Browser, Page } from 'playwright-core'

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/ui')
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/ui/status-page.png')
const KEYS = 400

const short = (id: string): string => `${id.slice(0, 4)}…${id.slice(-4)}`

async function putAll (api: string, count: number): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const res = await fetch(`${api}/v1/kv/ui-${i}`, { method: 'PUT', body: `value ${i}`, signal: AbortSignal.timeout(30_000) })
      if (!res.ok) throw new Error(`PUT ui-${i}: ${res.status} ${await res.text()}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

async function health (api: string): Promise<HealthReport> {
  const res = await fetch(`${api}/v1/health`, { signal: AbortSignal.timeout(10_000) })
  return await res.json() as HealthReport
}

async function verdictOf (page: Page): Promise<string | null> {
  return page.locator('#verdict').getAttribute('data-verdict')
}

async function waitForVerdict (page: Page, verdicts: string[], timeout: number): Promise<void> {
  await page.locator(verdicts.map(v => `#verdict[data-verdict="${v}"]`).join(', ')).waitFor({ timeout })
}

describe('the status page in a real browser (chromium-headless-shell, 4 daemons)', function () {
  this.timeout(600_000)
  const cleanup = useCleanup()
  let browser: Browser | undefined

  before(async function () {
    this.timeout(60_000)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 })
  })
  after(async () => { await browser?.close() })

  it('shows healthy, then a SIGKILLed peer as degraded with cause-first reasons, then repaired and healthy', async () => {
    const dir = path.join(ARTIFACTS, new Date().toISOString().replace(/[:.]/g, '-'))
    await fs.mkdir(dir, { recursive: true })
    process.stdout.write(`      screenshots: ${dir}\n`)

    const net = new ProcessTestnet({ peers: 4, open: true, joinTimeout: 120_000 })
    cleanup.add(async () => { await net.stop() })
    const peers = await net.start()
    const [viewer, , , victim] = peers
    if (viewer == null || victim == null) throw new Error('the test net has too few peers')
    await putAll(viewer.api, KEYS)

    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 1100 } })
    cleanup.add(async () => { await context.close() })
    const blocked: string[] = []
    await context.route('**/*', async route => {
      const url = new URL(route.request().url())
      if (isLoopbackHost(url.hostname)) return route.continue()
      blocked.push(url.href)
      return route.abort('blockedbyclient')
    })
    const violations: string[] = []
    const page = await context.newPage()
    page.on('console', msg => { if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text()) })
    page.on('pageerror', err => { violations.push(err.message) })

    // readable before its script runs: the first screen is in the HTML itself
    const bare = await (browser as Browser).newContext({ javaScriptEnabled: false })
    cleanup.add(async () => { await bare.close() })
    const staticPage = await bare.newPage()
    const answer = await staticPage.goto(`${viewer.api}/ui`)
    expect(answer?.headers()['content-security-policy']).to.match(/default-src 'none'; script-src 'nonce-[^']+'/)
    expect(await staticPage.locator('#verdict .badge').textContent()).to.be.oneOf(['Healthy', 'Degraded', 'At risk', 'Unavailable'])
    expect(await staticPage.locator('table.members tbody tr').count()).to.equal(4)

    await page.goto(`${viewer.api}/ui`)
    await waitForVerdict(page, ['healthy'], 120_000)
    await page.locator('#conn', { hasText: /^live$/ }).waitFor({ timeout: 30_000 })
    expect(await page.locator('table.members tbody tr').count()).to.equal(4)
    expect(await page.locator('svg.shares rect').count()).to.equal(4)
    await page.screenshot({ path: path.join(dir, '1-healthy.png'), fullPage: true })

    // SIGKILL: no leave, the others find out by probing
    await net.kill(3)
    await waitForVerdict(page, ['degraded', 'at-risk'], 120_000)
    // cause first: the victim by name, then what it does to the keys (on a loaded machine other
    // members may be suspected for a moment too: the victim's own line is looked for)
    const victimLine = page.locator('#verdict .reasons li', { hasText: new RegExp(`peer ${short(victim.peerId)} (suspect|dead) \\d+ s\\s*→\\s*\\d+ keys? ha(s|ve) [12] of 3 copies`) })
    await victimLine.first().waitFor({ timeout: 60_000 })
    await page.screenshot({ path: path.join(dir, '2-degraded.png'), fullPage: true })
    if (process.env.P2PSTORE_UPDATE_SCREENSHOT === '1') {
      await fs.mkdir(path.dirname(FIXTURE), { recursive: true })
      await page.screenshot({ path: FIXTURE, fullPage: true })
    }
    // problem rows first
    expect(await page.locator('table.members tbody tr').first().getAttribute('data-peer')).to.equal(victim.peerId)
    // the affected keys and peers are one click away
    await victimLine.first().locator('summary').click()
    expect(await victimLine.first().locator('details code').allTextContents()).to.satisfy((codes: string[]) => codes.includes(victim.peerId) && codes.some(c => /^ui-\d+$/.test(c)))

    await waitForVerdict(page, ['healthy'], 180_000)
    await page.screenshot({ path: path.join(dir, '3-repaired.png'), fullPage: true })
    expect(await page.locator('table.members tbody tr').first().getAttribute('data-state')).to.equal('dead')
    await page.locator('#verdict .notes li', { hasText: new RegExp(`peer ${short(victim.peerId)} dead .*had 3 copies again`) }).waitFor({ timeout: 30_000 })
    expect(await page.locator('.timeline li').allTextContents()).to.satisfy((items: string[]) => items.some(t => t.includes(short(victim.peerId)) && /→ dead/.test(t)))
    const report = await health(viewer.api)
    expect(report.members.dead).to.equal(1)
    expect(report.serving).to.equal(true)

    expect(blocked, 'requests off loopback').to.deep.equal([])
    expect(violations, 'CSP violations or script errors').to.deep.equal([])
    process.stdout.write(`      saved ${['1-healthy.png', '2-degraded.png', '3-repaired.png'].map(f => path.join(dir, f)).join(', ')}\n`)
    expect(await verdictOf(page)).to.equal('healthy')
  })
})
