// Small, dependency-free statistics for the benchmarks: nearest-rank
// percentiles and medians over raw samples (never averaged averages).

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[mid - 1] ?? upper) + upper) / 2;
}

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number;
  readonly mean: number;
}

export function distribution(samples: readonly number[]): Distribution {
  if (samples.length === 0) {
    return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, min: Number.NaN, mean: Number.NaN };
  }
  let sum = 0;
  let max = -Infinity;
  let min = Infinity;
  for (const value of samples) {
    sum += value;
    if (value > max) max = value;
    if (value < min) min = value;
  }
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max,
    min,
    mean: sum / samples.length,
  };
}

/** Rounds for reports: keeps 3 significant decimals without noise like 0.30000000000000004. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
