import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `fn` every `every` ms until it resolves true; fails naming `what` after `ms`. */
export async function eventually (fn: () => Promise<boolean>, what: string, ms = 10_000, every = 50): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(every)
  }
}
