/**
 * The hostile process of one attack of `npm run attack`: `node --import tsx child.ts <name>`,
 * forked by ./hostile-process.ts with an IPC channel, and run at the lowest CPU priority, so that
 * the attacker's own CPU does not show in the honest client's latencies.
 *
 * The channel's messages: `{ type: 'run', target }` in → `prepare()`, then `{ type: 'ready' }` out
 * and `run()` starts; `{ type: 'stop' }` in → the run's signal fires, and once it ends
 * `{ type: 'done', outcome }` (or `{ type: 'failed', message }`) out, and the process exits. It
 * exits as well when the channel closes (the script died).
 *
 * @packageDocumentation
 */
import '../../src/polyfill.ts'
import { ATTACKS } from './attacks.ts'
import type { AttackTarget, Outcome } from './attack.ts'

/** What the script sends the hostile process. */
export type ToHostile = { type: 'run', target: AttackTarget } | { type: 'stop' }
/** What the hostile process sends back. */
export type FromHostile = { type: 'ready' } | { type: 'done', outcome: Outcome } | { type: 'failed', message: string }

const send = async (message: FromHostile): Promise<void> => new Promise(resolve => {
  if (process.send == null) resolve()
  else process.send(message, undefined, {}, () => { resolve() })
})

const name = process.argv[2]
const attack = ATTACKS.find(a => a.name === name)
const stop = new AbortController()
process.on('disconnect', () => { process.exit(1) })
process.on('message', (message: ToHostile) => {
  if (message.type === 'stop') stop.abort()
  else void run(message.target)
})

async function run (target: AttackTarget): Promise<void> {
  try {
    if (attack == null) throw new Error(`no attack named ${name ?? '(none)'}`)
    await attack.prepare?.()
    await send({ type: 'ready' })
    const outcome = await attack.run(target, stop.signal)
    await send({ type: 'done', outcome })
  } catch (err) {
    await send({ type: 'failed', message: err instanceof Error ? err.stack ?? err.message : String(err) })
  }
  // libp2p nodes of the attack may leave timers behind: the outcome is sent, nothing else matters
  process.exit(0)
}
