/**
 * `npm run sim`: the project's real membership core and placement over a simulated network, in
 * simulated time (issue #16); see cli.ts for the options.
 */
// must stay the first import: libp2p's packages need Promise.withResolvers on Node.js 20
import '../../src/polyfill.ts'
import { main } from './cli.ts'

main(process.argv.slice(2)).then(code => { process.exit(code) }, (err: unknown) => {
  process.stderr.write(`sim: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
