/**
 * `npm run test:system` runs this before the system suites (`test/**\/*.system.spec.ts`): they
 * build network namespaces and iptables rules, so they need root, iproute2 and iptables. Without
 * them it says what is missing and how to get it, and exits 2 (bad environment) instead of letting
 * every suite fail in its `before all` hook.
 */
import { spawnSync } from 'node:child_process'
import { NetnsLab } from '../../src/faults/index.ts'

const found = await NetnsLab.available()
if (!found.ok) {
  process.stderr.write(`npm run test:system: the system tests cannot run here: ${found.reason}\n` +
    '  they need root, iproute2 and iptables (Debian: `apt-get install iproute2 iptables`); `.ci/run` installs them.\n' +
    '  `npm test` runs everything else with nothing but Node and npm.\n')
  process.exitCode = 2
}

// test/metrics/promtool.system.spec.ts checks the alert rules and /metrics with promtool
const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' })
if (promtool.error != null || promtool.status !== 0) {
  process.stderr.write('npm run test:system: promtool is missing (Debian: `apt-get install prometheus`); `.ci/run` installs it.\n')
  process.exitCode = 2
}
