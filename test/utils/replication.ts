import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { applyWrite, emptyContext, emptySiblingSet, nextDot } from '../../src/clock/index.ts'
import { peerKadId } from '../../src/routing/index.ts'
import { MemoryEngine } from '../../src/storage/index.ts'
import type { CausalContext, SiblingSet } from '../../src/clock/index.ts'
import type { PlacedPeer } from '../../src/routing/index.ts'
import type { PeerId } from '@libp2p/interface'

/** Helpers for the replication unit specs: peers, an open store, sibling sets. */

export const enc = new TextEncoder()

export async function peerIds (n: number): Promise<PeerId[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
}

export async function openEngine (): Promise<MemoryEngine> {
  const engine = new MemoryEngine()
  await engine.open()
  return engine
}

/** `peers` as placement names them, in this order. */
export function placed (peers: PeerId[], state?: string): PlacedPeer[] {
  return peers.map(peerId => ({ peerId, kadId: peerKadId(peerId), state }))
}

/** A sibling set holding one value written by `actor` over `base` (a blind write by default). */
export function written (value: string, actor = 'a'.repeat(24), options: { base?: SiblingSet, context?: CausalContext, deleted?: boolean, timestamp?: number } = {}): SiblingSet {
  const base = options.base ?? emptySiblingSet()
  return applyWrite(base, {
    dot: nextDot(base, actor),
    value: options.deleted === true ? new Uint8Array(0) : enc.encode(value),
    timestamp: options.timestamp ?? 1,
    deleted: options.deleted ?? false,
    context: options.context ?? emptyContext()
  }).state
}

/** An already aborted signal, as a caller who gave up passes. */
export function aborted (): AbortSignal {
  const controller = new AbortController()
  controller.abort()
  return controller.signal
}
