/**
 * A small model of p2pstore's replication for property tests of `src/clock/`: 2–4 replicas and
 * 1–3 actors, each actor living on exactly one replica and issuing its dots there with `nextDot`.
 * Clients read (merge) any subset of replicas, or write blind, or reuse a context they were handed
 * earlier (a stale read or their own last write); a write is coordinated by an actor, stored on its
 * replica and its delta delivered to any subset of the others; anti-entropy merges replica pairs.
 * Every state it passes through is realistic: the kind of sibling set a real replica could hold.
 */

import fc from 'fast-check'
import { applyWrite, emptyContext, emptySiblingSet, mergeSiblingSets, nextDot } from '../../src/clock/index.ts'
import type { CausalContext, Dot, SiblingSet } from '../../src/clock/index.ts'

/** Actor ids: hex, deliberately not in sorted order of their index. */
export const ACTORS = ['c0ffee01', '0badcafe', '7e57ab1e']

export type ContextSource = 'read' | 'blind' | 'session'

export type Op =
  | { type: 'write', actor: number, source: ContextSource, readMask: number, session: number, deliverMask: number, deleted: boolean, value: number }
  | { type: 'sync', from: number, to: number, both: boolean }

export interface Scenario {
  replicas: number
  actors: number
  ops: Op[]
}

/** One write as it happened: its dot and the context the client wrote with. */
export interface WriteRecord {
  dot: Dot
  /** the context the client passed, as the system computed it */
  context: CausalContext
  /**
   * Ground truth, kept by the simulator apart from any context: the dots of every write the
   * client's context stems from, transitively (the causal history of what it read or wrote).
   */
  seen: Set<string>
  deleted: boolean
}

export interface World {
  /** each replica's final state */
  replicas: SiblingSet[]
  /** every state a replica held, and every delta, in order */
  snapshots: SiblingSet[]
  writes: WriteRecord[]
  /** ground truth: the dots each replica has received, directly or through merges */
  received: Array<Set<string>>
  /** every context handed to a client (reads and write replies) with its ground truth */
  handedOut: Array<{ context: CausalContext, seen: Set<string> }>
}

const writeOp: fc.Arbitrary<Op> = fc.record({
  type: fc.constant('write' as const),
  actor: fc.nat(),
  source: fc.constantFrom<ContextSource>('read', 'read', 'blind', 'session'),
  readMask: fc.nat(),
  session: fc.nat(),
  deliverMask: fc.nat(),
  // one write in five is a delete
  deleted: fc.nat({ max: 4 }).map(n => n === 0),
  value: fc.nat({ max: 255 })
})

const syncOp: fc.Arbitrary<Op> = fc.record({
  type: fc.constant('sync' as const),
  from: fc.nat(),
  to: fc.nat(),
  both: fc.boolean()
})

/** Scenarios of up to `maxOps` operations, writes twice as likely as anti-entropy. */
export function scenarioArbitrary (maxOps = 30): fc.Arbitrary<Scenario> {
  return fc.record({
    replicas: fc.integer({ min: 2, max: 4 }),
    actors: fc.integer({ min: 1, max: 3 }),
    ops: fc.array(fc.oneof({ arbitrary: writeOp, weight: 2 }, { arbitrary: syncOp, weight: 1 }), { maxLength: maxOps, size: 'max' })
  })
}

/** The replicas whose bit is set in `mask` (taken modulo the replica count's subsets). */
function subset (mask: number, replicas: number): number[] {
  const bits = mask % (1 << replicas)
  return Array.from({ length: replicas }, (_, i) => i).filter(i => (bits & (1 << i)) !== 0)
}

function at<T> (list: T[], index: number): T {
  const item = list[index]
  if (item === undefined) throw new Error(`no item ${index}`)
  return item
}

/** Runs a scenario from empty replicas. */
export function simulate (scenario: Scenario): World {
  const replicas = Array.from({ length: scenario.replicas }, () => emptySiblingSet())
  const snapshots: SiblingSet[] = [emptySiblingSet()]
  const handedOut: Array<{ context: CausalContext, seen: Set<string> }> = []
  const received = Array.from({ length: scenario.replicas }, () => new Set<string>())
  const writes: WriteRecord[] = []
  let timestamp = 1_000

  for (const op of scenario.ops) {
    if (op.type === 'sync') {
      const from = op.from % scenario.replicas
      const to = op.to % scenario.replicas
      replicas[to] = mergeSiblingSets(at(replicas, to), at(replicas, from))
      snapshots.push(at(replicas, to))
      received[to] = union(at(received, to), at(received, from))
      if (op.both) {
        replicas[from] = mergeSiblingSets(at(replicas, from), at(replicas, to))
        snapshots.push(at(replicas, from))
        received[from] = union(at(received, from), at(received, to))
      }
      continue
    }

    const actorIndex = op.actor % scenario.actors
    const actor = at(ACTORS, actorIndex)
    const home = actorIndex % scenario.replicas
    let context: CausalContext
    let seen: Set<string>
    if (op.source === 'read') {
      const read = subset(op.readMask, scenario.replicas)
      context = read.reduce((set, i) => mergeSiblingSets(set, at(replicas, i)), emptySiblingSet()).context
      seen = read.reduce((acc, i) => union(acc, at(received, i)), new Set<string>())
      handedOut.push({ context, seen })
    } else if (op.source === 'session' && handedOut.length > 0) {
      ({ context, seen } = at(handedOut, op.session % handedOut.length))
    } else {
      context = emptyContext()
      seen = new Set()
    }

    const dot = nextDot(at(replicas, home), actor)
    const { state, delta, clientContext } = applyWrite(at(replicas, home), {
      dot,
      value: op.deleted ? new Uint8Array(0) : Uint8Array.of(op.value),
      timestamp: timestamp++,
      deleted: op.deleted,
      context
    }, { maxSiblings: Infinity, maxObjectBytes: Infinity })
    const history = union(seen, new Set([`${dot.actor}:${dot.counter}`]))
    writes.push({ dot, context, seen, deleted: op.deleted })
    handedOut.push({ context: clientContext, seen: history })
    replicas[home] = state
    received[home] = union(at(received, home), history)
    snapshots.push(state, delta)
    for (const i of subset(op.deliverMask, scenario.replicas)) {
      if (i === home) continue
      replicas[i] = mergeSiblingSets(at(replicas, i), delta)
      received[i] = union(at(received, i), history)
      snapshots.push(at(replicas, i))
    }
  }
  return { replicas, snapshots, writes, received, handedOut }
}

function union<T> (a: Set<T>, b: Set<T>): Set<T> {
  return new Set([...a, ...b])
}

/** Every replica merged into one, left to right. */
export function mergeAll (states: SiblingSet[]): SiblingSet {
  return states.reduce((acc, state) => mergeSiblingSets(acc, state), emptySiblingSet())
}

/** A world with three of its states picked at random, for the algebraic laws of merge. */
export function statesArbitrary (maxOps = 30): fc.Arbitrary<{ world: World, picks: [number, number, number] }> {
  return fc.record({
    scenario: scenarioArbitrary(maxOps),
    picks: fc.tuple(fc.nat(), fc.nat(), fc.nat())
  }).map(({ scenario, picks }) => ({ world: simulate(scenario), picks }))
}

/** The snapshot a random number picks. */
export function pick (world: World, n: number): SiblingSet {
  return at(world.snapshots, n % world.snapshots.length)
}
