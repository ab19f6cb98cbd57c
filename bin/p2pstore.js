#!/usr/bin/env node
// Node.js 20 lacks Promise.withResolvers, which libp2p calls: load the polyfill before anything else.
import '../dist/src/polyfill.js'
import { main } from '../dist/src/cli/index.js'

// main() has flushed stdout and stderr (and handled a closed stdout: exit 141, see README "Exit codes")
process.exitCode = await main(process.argv)
process.exit()
