/**
 * Summary statistics over samples (latencies, intervals): mean, standard deviation, percentiles, max.
 */

/** A summary of a set of samples. Every field is `NaN` when there were no samples. */
export interface Summary {
  readonly count: number
  readonly mean: number
  readonly std: number
  readonly min: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** The value below which `p` (0..1) of the sorted samples fall (nearest rank). */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[rank]!
}

/** Summarises samples; the input is not modified. */
export const summarize = (samples: ReadonlyArray<number>): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  const count = sorted.length
  if (count === 0) {
    return { count, mean: NaN, std: NaN, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN }
  }
  let sum = 0
  for (const x of sorted) sum += x
  const mean = sum / count
  let squares = 0
  for (const x of sorted) squares += (x - mean) ** 2
  return {
    count,
    mean,
    std: Math.sqrt(squares / count),
    min: sorted[0]!,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[count - 1]!
  }
}

/** Successive differences of a series of timestamps (frame arrival times -> intervals). */
export const intervals = (times: ReadonlyArray<number>): Array<number> => {
  const out: Array<number> = []
  for (let i = 1; i < times.length; i++) out.push(times[i]! - times[i - 1]!)
  return out
}
