#!/usr/bin/env node
// Node.js 20 lacks Promise.withResolvers, which libp2p calls: load the polyfill before anything else.
import '../dist/src/polyfill.js'
import { main } from '../dist/src/cli/index.js'

process.exitCode = await main(process.argv)
// stdout may be a pipe, where writes are asynchronous: let everything out before exiting
await Promise.all([process.stdout, process.stderr].map(stream => new Promise(resolve => { stream.write('', resolve) })))
process.exit()
