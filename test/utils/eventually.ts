import { pollUntil } from '../../src/util/index.ts'

/** Polls `fn` every `every` ms until it resolves true; fails naming `what` after `ms`. */
export async function eventually (fn: () => Promise<boolean>, what: string, ms = 10_000, every = 50): Promise<void> {
  await pollUntil(fn, { timeout: ms, interval: every, error: () => new Error(`timed out waiting for ${what}`) })
}
