/**
 * A reader of the Prometheus text exposition format (0.0.4), enough for tests: families with their
 * HELP and TYPE, and samples with their labels and values.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  help?: string
  type?: string
  samples: Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** The families of `text`, by name; a sample belongs to the family its name starts with. */
export function parseExposition (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = families.get(name)
    if (f == null) {
      f = { name, samples: [] }
      families.set(name, f)
    }
    return f
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta != null) {
      const f = family(meta[2] ?? '')
      if (meta[1] === 'HELP') f.help = meta[3]
      else f.type = meta[3]
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (m == null) throw new Error(`not a sample line: ${line}`)
    const name = m[1] ?? ''
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1')
    const base = ['_bucket', '_sum', '_count'].reduce((n, suffix) => {
      const stripped = n.endsWith(suffix) ? n.slice(0, -suffix.length) : n
      return families.get(stripped)?.type === 'histogram' || families.get(stripped)?.type === 'summary' ? stripped : n
    }, name)
    family(base).samples.push({ name, labels, value: Number(m[3]) })
  }
  return families
}

/** The value of the sample `name` whose labels include `labels` (0 when there is none). */
export function valueOf (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  return 0
}
