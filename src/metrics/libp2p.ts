/**
 * libp2p's `Metrics` component over one peer's prom-client registry. `@libp2p/prometheus-metrics`
 * cannot serve several peers in one process: it keeps its metrics in a module-level map (the second
 * node reuses the first node's objects, bound to the first registry) and clears the registry it is
 * given unless told otherwise. This one keeps everything on the instance.
 */

import { Counter, Gauge, Histogram, Summary } from 'prom-client'
import type {
  CalculatedMetricOptions, Counter as Libp2pCounter, CounterGroup, Histogram as Libp2pHistogram, HistogramGroup,
  HistogramOptions, Metric, MetricGroup, MetricOptions, Metrics, MultiaddrConnection, Stream, StopTimer,
  Summary as Libp2pSummary, SummaryGroup, SummaryOptions
} from '@libp2p/interface'
import type { Registry } from 'prom-client'

type Calculate<T> = () => T | Promise<T>
type Options = Partial<CalculatedMetricOptions<number | Record<string, number>>> & HistogramOptions & SummaryOptions

/** a label name for groups that give none */
const DEFAULT_LABEL = 'name'

/**
 * libp2p's metrics, per peer: gauges (metrics and metric groups), counters, histograms and
 * summaries, registered on `registry`; calculated ones are computed when scraped. Names are made to
 * follow Prometheus' conventions as `promtool check metrics` checks them: counters end in `_total`
 * and nothing else does, and milliseconds become seconds. Streams and connections are counted as
 * they open.
 */
export class Libp2pMetrics implements Metrics {
  private readonly registry: Registry
  private readonly made = new Map<string, { calculators: Array<Calculate<number | Record<string, number>>>, handle: unknown }>()
  private readonly streams: Counter<'protocol' | 'direction'>
  private readonly connections: Counter<'direction'>

  constructor (registry: Registry) {
    this.registry = registry
    this.streams = new Counter({ name: 'libp2p_protocol_streams_opened_total', help: 'libp2p protocol streams opened, by protocol and direction', labelNames: ['protocol', 'direction'], registers: [registry] })
    this.connections = new Counter({ name: 'libp2p_connections_opened_total', help: 'libp2p connections opened, by direction', labelNames: ['direction'], registers: [registry] })
  }

  trackMultiaddrConnection (maConn: MultiaddrConnection): void {
    this.connections.inc({ direction: maConn.direction ?? 'unknown' })
  }

  trackProtocolStream (stream: Stream): void {
    // protocols are the bounded set this peer speaks: a stream is tracked after negotiation
    if (stream.protocol == null || stream.protocol === '') return
    this.streams.inc({ protocol: stream.protocol, direction: stream.direction })
  }

  registerMetric (name: string, options?: MetricOptions): Metric
  registerMetric (name: string, options: CalculatedMetricOptions): void
  registerMetric (name: string, options: Options = {}): Metric | undefined {
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const gauge = new Gauge({ name: exported, help: help(name, options), registers: [this.registry], collect: calculators.length === 0 ? undefined : async function () { this.set(scale * await sum(calculators)) } })
      return gaugeMetric(gauge, scale)
    })
  }

  registerMetricGroup (name: string, options?: MetricOptions): MetricGroup
  registerMetricGroup (name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerMetricGroup (name: string, options: Options = {}): MetricGroup | undefined {
    const label = options.label ?? DEFAULT_LABEL
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const gauge = new Gauge({
        name: exported,
        help: help(name, options),
        labelNames: [label],
        registers: [this.registry],
        collect: calculators.length === 0 ? undefined : async function () { this.reset(); for (const [k, v] of Object.entries(await merged(calculators))) this.set({ [label]: k }, scale * v) }
      })
      return gaugeGroup(gauge, label, scale)
    })
  }

  registerCounter (name: string, options?: MetricOptions): Libp2pCounter
  registerCounter (name: string, options: CalculatedMetricOptions): void
  registerCounter (name: string, options: Options = {}): Libp2pCounter | undefined {
    return this.make(counterName(name), options, calculators => {
      const counter = new Counter({ name: counterName(name), help: help(name, options), registers: [this.registry], collect: calculators.length === 0 ? undefined : async function () { this.reset(); this.inc(await sum(calculators)) } })
      return { increment: (value = 1) => { counter.inc(value) }, reset: () => { counter.reset() } }
    })
  }

  registerCounterGroup (name: string, options?: MetricOptions): CounterGroup
  registerCounterGroup (name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerCounterGroup (name: string, options: Options = {}): CounterGroup | undefined {
    const label = options.label ?? DEFAULT_LABEL
    return this.make(counterName(name), options, calculators => {
      const counter = new Counter({
        name: counterName(name),
        help: help(name, options),
        labelNames: [label],
        registers: [this.registry],
        collect: calculators.length === 0 ? undefined : async function () { this.reset(); for (const [k, v] of Object.entries(await merged(calculators))) this.inc({ [label]: k }, v) }
      })
      return {
        increment: (values: Partial<Record<string, number | true>>) => {
          for (const [k, v] of Object.entries(values)) counter.inc({ [label]: k }, v === true ? 1 : (v ?? 0))
        },
        reset: () => { counter.reset() }
      }
    })
  }

  registerHistogram (name: string, options?: HistogramOptions): Libp2pHistogram
  registerHistogram (name: string, options: CalculatedMetricOptions & HistogramOptions): void
  registerHistogram (name: string, options: Options = {}): Libp2pHistogram | undefined {
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const histogram = new Histogram({ name: exported, help: help(name, options), buckets: options.buckets?.map(b => b * scale), registers: [this.registry], collect: calculators.length === 0 ? undefined : async function () { this.observe(scale * await sum(calculators)) } })
      return { observe: (v: number) => { histogram.observe(scale * v) }, reset: () => { histogram.reset() }, timer: () => histogram.startTimer() }
    })
  }

  registerHistogramGroup (name: string, options?: HistogramOptions): HistogramGroup
  registerHistogramGroup (name: string, options: CalculatedMetricOptions<Record<string, number>> & HistogramOptions): void
  registerHistogramGroup (name: string, options: Options = {}): HistogramGroup | undefined {
    const label = options.label ?? DEFAULT_LABEL
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const histogram = new Histogram({
        name: exported,
        help: help(name, options),
        labelNames: [label],
        buckets: options.buckets?.map(b => b * scale),
        registers: [this.registry],
        collect: calculators.length === 0 ? undefined : async function () { for (const [k, v] of Object.entries(await merged(calculators))) this.observe({ [label]: k }, scale * v) }
      })
      return {
        observe: (values: Partial<Record<string, number>>) => { for (const [k, v] of Object.entries(values)) if (v != null) histogram.observe({ [label]: k }, scale * v) },
        reset: () => { histogram.reset() },
        timer: (key: string) => histogram.startTimer({ [label]: key })
      }
    })
  }

  registerSummary (name: string, options?: SummaryOptions): Libp2pSummary
  registerSummary (name: string, options: CalculatedMetricOptions & SummaryOptions): void
  registerSummary (name: string, options: Options = {}): Libp2pSummary | undefined {
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const summary = new Summary({ name: exported, help: help(name, options), ...summaryOptions(options), registers: [this.registry], collect: calculators.length === 0 ? undefined : async function () { this.observe(scale * await sum(calculators)) } })
      return { observe: (v: number) => { summary.observe(scale * v) }, reset: () => { summary.reset() }, timer: () => summary.startTimer() }
    })
  }

  registerSummaryGroup (name: string, options?: SummaryOptions): SummaryGroup
  registerSummaryGroup (name: string, options: CalculatedMetricOptions<Record<string, number>> & SummaryOptions): void
  registerSummaryGroup (name: string, options: Options = {}): SummaryGroup | undefined {
    const label = options.label ?? DEFAULT_LABEL
    const { exported, scale } = gaugeName(name)
    return this.make(exported, options, calculators => {
      const summary = new Summary({
        name: exported,
        help: help(name, options),
        labelNames: [label],
        ...summaryOptions(options),
        registers: [this.registry],
        collect: calculators.length === 0 ? undefined : async function () { for (const [k, v] of Object.entries(await merged(calculators))) this.observe({ [label]: k }, scale * v) }
      })
      return {
        observe: (values: Partial<Record<string, number>>) => { for (const [k, v] of Object.entries(values)) if (v != null) summary.observe({ [label]: k }, scale * v) },
        reset: () => { summary.reset() },
        timer: (key: string) => summary.startTimer({ [label]: key })
      }
    })
  }

  /** Tracing is not exported: functions run as they are. */
  traceFunction<F extends (...args: never[]) => unknown> (_name: string, fn: F): F {
    return fn
  }

  createTrace (): undefined {
    return undefined
  }

  /**
   * The metric named `name`, made once per registry: a second registration reuses it and adds its
   * calculator (libp2p registers some names from several components). Calculated ones return nothing.
   */
  private make<T> (name: string, options: Options, build: (calculators: Array<Calculate<number | Record<string, number>>>) => T): T | undefined {
    let made = this.made.get(name)
    if (made == null) {
      const calculators: Array<Calculate<number | Record<string, number>>> = []
      made = { calculators, handle: undefined }
      this.made.set(name, made)
      if (options.calculate != null) calculators.push(options.calculate)
      made.handle = build(calculators)
    } else if (options.calculate != null) {
      made.calculators.push(options.calculate)
    }
    return options.calculate == null ? made.handle as T : undefined
  }
}

function help (name: string, options: MetricOptions): string {
  return options.help ?? `libp2p: ${name.replaceAll('_', ' ')}`
}

/**
 * The exported name of a libp2p gauge, histogram or summary, in Prometheus' conventions: base
 * units (`_milliseconds` becomes `_seconds`, its values scaled), and no `_total`, which only
 * counters carry (libp2p names some gauges of current counts so).
 */
function gaugeName (name: string): { exported: string, scale: number } {
  let exported = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name
  // a name left ending like a histogram's own series would clash with them
  if (/_(bucket|count|sum)$/.test(exported)) exported = `${exported}s`
  let scale = 1
  if (exported.endsWith('_milliseconds')) {
    exported = `${exported.slice(0, -'_milliseconds'.length)}_seconds`
    scale = 1 / 1000
  }
  return { exported, scale }
}

function counterName (name: string): string {
  return name.endsWith('_total') ? name : `${name}_total`
}

function summaryOptions (options: SummaryOptions): { percentiles?: number[], maxAgeSeconds?: number, ageBuckets?: number, pruneAgedBuckets?: boolean, compressCount?: number } {
  return { percentiles: options.percentiles, maxAgeSeconds: options.maxAgeSeconds, ageBuckets: options.ageBuckets, pruneAgedBuckets: options.pruneAgedBuckets, compressCount: options.compressCount }
}

async function sum (calculators: Array<Calculate<number | Record<string, number>>>): Promise<number> {
  let total = 0
  for (const c of calculators) {
    const v = await c()
    if (typeof v === 'number') total += v
  }
  return total
}

async function merged (calculators: Array<Calculate<number | Record<string, number>>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const c of calculators) {
    const v = await c()
    if (typeof v !== 'number') for (const [k, n] of Object.entries(v)) out[k] = (out[k] ?? 0) + n
  }
  return out
}

function gaugeMetric (gauge: Gauge, scale: number): Metric {
  return {
    update: (v: number) => { gauge.set(scale * v) },
    increment: (v = 1) => { gauge.inc(scale * v) },
    decrement: (v = 1) => { gauge.dec(scale * v) },
    reset: () => { gauge.reset() },
    timer: (): StopTimer => {
      const end = gauge.startTimer()
      return () => { end() }
    }
  }
}

function gaugeGroup (gauge: Gauge, label: string, scale: number): MetricGroup {
  return {
    update: (values: Partial<Record<string, number>>) => { for (const [k, v] of Object.entries(values)) if (v != null) gauge.set({ [label]: k }, scale * v) },
    increment: (values: Partial<Record<string, number | true>>) => { for (const [k, v] of Object.entries(values)) gauge.inc({ [label]: k }, v === true ? scale : scale * (v ?? 0)) },
    decrement: (values: Partial<Record<string, number | true>>) => { for (const [k, v] of Object.entries(values)) gauge.dec({ [label]: k }, v === true ? scale : scale * (v ?? 0)) },
    reset: () => { gauge.reset() },
    timer: (key: string): StopTimer => {
      const end = gauge.startTimer({ [label]: key })
      return () => { end() }
    }
  }
}
