/**
 * What an attack of `npm run attack` is (`Attack`), what it may use (`AttackTarget`) and the
 * look-ups at the target's API the attacks and their checks share.
 *
 * An attack's `prepare` and `run` execute in a hostile process of their own (./hostile-process.ts
 * and ./child.ts), its `check` in the script's process: what `run` learnt that `check` needs
 * travels in its `Outcome`'s `facts` (JSON).
 */
import { request } from './http-client.ts'
import type { ProcessTestnetPeer } from '../../src/testnet/index.ts'

/** The attacked daemon and what an attack may use (JSON: it is sent to the hostile process). */
export interface AttackTarget {
  peer: ProcessTestnetPeer
  /** the other daemons of the net */
  others: ProcessTestnetPeer[]
  /** a valid admin token of the target's API */
  token: string
  /** the local address attackers speak from (honest clients use 127.0.0.1) */
  attacker: string
}

/** What an attack's `run` reports: a line for the table, and what its `check` needs. */
export interface Outcome<F = unknown> {
  /** what the attack did, for the table */
  note: string
  /** what `check` needs to know of the run (JSON) */
  facts: F
}

/** One attack: runs until `signal` fires; `check` says whether what it tried failed as it should. */
export interface Attack<F = unknown> {
  name: string
  /** what it does, for the table */
  what: string
  /** in the hostile process, before the measurement starts (generating identities…), so it is not counted against the target. @default none */
  prepare?(): Promise<void>
  /** in the hostile process: attacks `target` until `signal` fires */
  run(target: AttackTarget, signal: AbortSignal): Promise<Outcome<F>>
  /** in the script's process, after the run: undefined when all is as it should be, else what is wrong */
  check?(target: AttackTarget, facts: F): Promise<string | undefined>
}

/** Declares an attack, its facts' type inferred from `run` (so `check` reads them typed). */
export function attack<F> (a: Attack<F>): Attack {
  return a as Attack
}

/** One member as `GET /v1/peers` shows it. */
export interface MemberView { peerId: string, state: string, incarnation: number }

/** `GET /v1/peers` of `peer`: every member it knows, its state and incarnation */
export async function members (peer: ProcessTestnetPeer, token: string): Promise<MemberView[]> {
  const res = await request(`${peer.api}/v1/peers`, { token })
  const body = JSON.parse(res.body) as { peers?: MemberView[] } | MemberView[]
  return Array.isArray(body) ? body : body.peers ?? []
}

/**
 * The target's view of the honest members (the state of each), as one string. Incarnations are
 * left out: an honest member shown a forged claim about itself refutes it with a higher
 * incarnation of its own, as SWIM has it (section 4.2), which is the defence working.
 */
export async function honestView (t: AttackTarget): Promise<string> {
  return (await members(t.peer, t.token))
    .filter(m => t.others.some(o => o.peerId === m.peerId)).map(m => `${m.peerId}:${m.state}`).sort().join(',')
}

/** The target's /metrics text (undefined when it did not answer). */
export async function scrape (t: AttackTarget): Promise<string | undefined> {
  return (await request(`${t.peer.api}/metrics`, { token: t.token, timeout: 10_000 }).catch(() => undefined))?.body
}

/** Sum of every sample of `name` in a /metrics text (labels matching `label` if given). */
export function sample (text: string | undefined, name: string, label?: string): number {
  let sum = 0
  for (const line of text?.split('\n') ?? []) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue
    if (label != null && !rest.includes(label)) continue
    sum += Number(rest.slice(rest.lastIndexOf(' ') + 1))
  }
  return sum
}

/** Sum of every sample of `name` in the target's /metrics (labels matching `label` if given). */
export async function metric (t: AttackTarget, name: string, label?: string): Promise<number> {
  return sample(await scrape(t), name, label)
}
