/** Sample statistics shared by the benchmarks (scripts/bench.ts, scripts/bench-checkout.ts). */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** First and third quartiles (linear interpolation between closest ranks). */
  readonly q1: number;
  readonly q3: number;
  readonly iqr: number;
}

/** The q-quantile of ascending `sorted` (0 ≤ q ≤ 1), interpolating linearly between closest ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no samples');
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize needs at least one sample');
  if (samples.some((s) => !Number.isFinite(s))) throw new Error(`samples must be finite numbers: ${samples.join(', ')}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return { n: sorted.length, median: quantile(sorted, 0.5), min: sorted[0]!, max: sorted.at(-1)!, q1, q3, iqr: q3 - q1 };
}

/** The median of unordered samples. */
export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}
