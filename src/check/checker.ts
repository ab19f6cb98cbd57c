import type { HistoryEntry } from './history.ts'

/**
 * What every value written by the workload holds: its own new element `w` (`client:seq`, unique in
 * the whole run) and the set `s` of every element it carries forward — `[w]` for a blind write, the
 * union of the siblings read plus `w` for a read-modify-write. An acknowledged element may only
 * disappear from a key if a later write carried it forward; as every write carries forward all it
 * read, the union of a key's final siblings must hold every acknowledged element.
 */
export interface WorkloadValue {
  w: string
  s: string[]
}

/** The bytes of a workload value (JSON text). */
export function encodeValue (value: WorkloadValue): string {
  return JSON.stringify(value)
}

/** Parses a workload value; `undefined` when the text is not one (corruption, or someone else's data). */
export function decodeValue (text: string): WorkloadValue | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<WorkloadValue>
    if (typeof parsed.w !== 'string' || !Array.isArray(parsed.s) || !parsed.s.every(e => typeof e === 'string')) return undefined
    return { w: parsed.w, s: parsed.s }
  } catch {
    return undefined
  }
}

/** The final read of one key with R = N, after the faults ended and the net healed. */
export interface FinalRead {
  /** the live siblings' values as text; empty when the key was not found */
  siblings: string[]
  /** false when the read itself failed (quorum not reached, timeout): nothing can be said of the key */
  ok: boolean
  latencyMs: number
}

/** An element of a key, as the checker names it in its samples. */
export interface KeyElement {
  key: string
  element: string
}

/** The checker's verdict on a history and the final reads. */
export interface CheckCounts {
  /** writes invoked (blind and read-modify-write) */
  attempted: number
  /** writes acknowledged */
  acked: number
  /** writes certainly not applied */
  failed: number
  /** writes whose outcome is unknown (timeout, quorum not reached, daemon gone mid-request) */
  unknown: number
  /** acknowledged elements absent from the final read: data loss */
  lost: number
  /** elements present that were never written to that key: corruption */
  unexpected: number
  /** failed or unknown writes whose element is present: allowed (the write reached some replicas) */
  recovered: number
  /** the most live siblings any key had in the final read */
  maxSiblings: number
  /** the most siblings of a read-modify-write (hot) key */
  maxHotSiblings: number
  /** sibling pairs where one carries the other's own element, so they are not concurrent */
  dominatedSiblings: number
  /** values that are not workload values (corruption) */
  corruptValues: number
  /** keys written that could not be read at the end */
  unreadableKeys: number
  /** keys written */
  keys: number
  lostSample: KeyElement[]
  unexpectedSample: KeyElement[]
  dominatedSample: Array<{ key: string, older: string, newer: string }>
}

const SAMPLE = 20

/**
 * Checks a history against the final reads. Pure: the same inputs give the same verdict, so a
 * history file can be checked again later.
 */
export function checkHistory (entries: readonly HistoryEntry[], reads: ReadonlyMap<string, FinalRead>, hotKeys: ReadonlySet<string> = new Set()): CheckCounts {
  const written = new Map<string, Map<string, 'invoked' | 'ok' | 'fail' | 'unknown'>>()
  const counts: CheckCounts = {
    attempted: 0,
    acked: 0,
    failed: 0,
    unknown: 0,
    lost: 0,
    unexpected: 0,
    recovered: 0,
    maxSiblings: 0,
    maxHotSiblings: 0,
    dominatedSiblings: 0,
    corruptValues: 0,
    unreadableKeys: 0,
    keys: 0,
    lostSample: [],
    unexpectedSample: [],
    dominatedSample: []
  }
  for (const entry of entries) {
    if (entry.type === 'fault' || entry.f === 'read' || entry.element == null) continue
    let elements = written.get(entry.key)
    if (elements == null) {
      elements = new Map()
      written.set(entry.key, elements)
    }
    if (entry.type === 'invoke') {
      counts.attempted++
      elements.set(entry.element, 'invoked')
    } else {
      elements.set(entry.element, entry.type)
      if (entry.type === 'ok') counts.acked++
      else if (entry.type === 'fail') counts.failed++
      else counts.unknown++
    }
  }
  counts.keys = written.size

  for (const [key, elements] of written) {
    const read = reads.get(key)
    if (read == null || !read.ok) {
      counts.unreadableKeys++
      continue
    }
    const values: WorkloadValue[] = []
    for (const text of read.siblings) {
      const value = decodeValue(text)
      if (value == null) counts.corruptValues++
      else values.push(value)
    }
    counts.maxSiblings = Math.max(counts.maxSiblings, read.siblings.length)
    if (hotKeys.has(key)) counts.maxHotSiblings = Math.max(counts.maxHotSiblings, read.siblings.length)

    const present = new Set(values.flatMap(v => v.s))
    for (const [element, outcome] of elements) {
      if (outcome === 'ok' && !present.has(element)) {
        counts.lost++
        if (counts.lostSample.length < SAMPLE) counts.lostSample.push({ key, element })
      }
      if ((outcome === 'fail' || outcome === 'unknown' || outcome === 'invoked') && present.has(element)) counts.recovered++
    }
    for (const element of present) {
      if (!elements.has(element)) {
        counts.unexpected++
        if (counts.unexpectedSample.length < SAMPLE) counts.unexpectedSample.push({ key, element })
      }
    }
    for (const older of values) {
      for (const newer of values) {
        if (older !== newer && older.w !== newer.w && newer.s.includes(older.w)) {
          counts.dominatedSiblings++
          if (counts.dominatedSample.length < SAMPLE) counts.dominatedSample.push({ key, older: older.w, newer: newer.w })
        }
      }
    }
  }
  return counts
}

/** Whether a verdict shows no loss, no corruption and no sibling that should have been superseded. */
export function passed (counts: CheckCounts): boolean {
  return counts.lost === 0 && counts.unexpected === 0 && counts.corruptValues === 0 && counts.dominatedSiblings === 0 && counts.unreadableKeys === 0
}
