#!/usr/bin/env node
// Node.js 20 lacks Promise.withResolvers, which libp2p calls: load the polyfill before anything else.
import '../dist/src/polyfill.js'
import { main } from '../dist/src/cli/index.js'

process.exitCode = await main(process.argv)
process.exit()
