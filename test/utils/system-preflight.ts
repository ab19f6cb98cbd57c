/**
 * `npm run test:system` runs this before the system suites (`test/**\/*.system.spec.ts`): they
 * build network namespaces and iptables rules, so they need root, iproute2 and iptables, and the
 * status page's browser test needs Debian's `chromium-headless-shell` (playwright-core drives it
 * and never downloads a browser). Without them it says what is missing and how to get it, and
 * exits 2 (bad environment) instead of letting every suite fail in its `before all` hook.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { NetnsLab } from '../../src/faults/index.ts'

/** The browser of the status page's test: `P2PSTORE_CHROMIUM`, else Debian's package's binary. */
export const CHROMIUM = process.env.P2PSTORE_CHROMIUM ?? '/usr/bin/chromium-headless-shell'

function executable (file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

// run as a script (not imported by a spec for CHROMIUM)
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const found = await NetnsLab.available()
  if (!found.ok) {
    process.stderr.write(`npm run test:system: the system tests cannot run here: ${found.reason}\n` +
      '  they need root, iproute2 and iptables (Debian: `apt-get install iproute2 iptables`); `.ci/run` installs them.\n' +
      '  `npm test` runs everything else with nothing but Node and npm.\n')
    process.exitCode = 2
  } else if (!executable(CHROMIUM)) {
    process.stderr.write(`npm run test:system: the status page's browser test needs ${CHROMIUM}\n` +
      '  (Debian: `apt-get install chromium-headless-shell`, or set P2PSTORE_CHROMIUM); `.ci/run` installs it.\n')
    process.exitCode = 2
  } else {
    // test/metrics/promtool.system.spec.ts checks the alert rules and /metrics with promtool
    const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' })
    if (promtool.error != null || promtool.status !== 0) {
      process.stderr.write('npm run test:system: promtool is missing (Debian: `apt-get install prometheus`); `.ci/run` installs it.\n')
      process.exitCode = 2
    }
  }
}
