/** Small statistics helpers for the simulator's report. */

/** The q-quantile (0…1) of `values` by nearest rank; undefined when empty. */
export function quantile (values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

/** max, p50 and mean of `values` (zeros when empty) */
export function summary (values: readonly number[]): { max: number, p50: number, mean: number } {
  if (values.length === 0) return { max: 0, p50: 0, mean: 0 }
  let max = -Infinity
  let sum = 0
  for (const v of values) {
    if (v > max) max = v
    sum += v
  }
  return { max, p50: quantile(values, 0.5) ?? 0, mean: sum / values.length }
}

/** `value` rounded to `digits` decimals (undefined stays undefined) */
export function round<T extends number | undefined> (value: T, digits = 3): T {
  if (value == null) return value
  const f = 10 ** digits
  return (Math.round(value * f) / f) as T
}
