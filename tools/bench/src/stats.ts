/** Summary statistics of a sample: what the tables, JSON and charts report. */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/**
 * The p-th percentile (0 … 100) of an ascending-sorted sample, by linear interpolation between the
 * closest ranks (the definition numpy and most spreadsheets use), so p50 of [1, 2] is 1.5 and p99 of
 * a small sample lands near its largest value rather than on it.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be 0 … 100, not ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo];
  const b = sorted[hi];
  return a + (b - a) * (rank - lo);
}

export function summarize(sample: readonly number[]): Summary {
  const sorted = [...sample].sort((a, b) => a - b);
  const count = sorted.length;
  if (count === 0) return { count: 0, min: Number.NaN, max: Number.NaN, mean: Number.NaN, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count,
    min: sorted[0],
    max: sorted[count - 1],
    mean: sum / count,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/**
 * Bins for a latency distribution chart: `bins` equal-width buckets on a log scale between the
 * sample's min and max (latencies span decades between transports). Returns the bucket edges
 * (bins + 1 values) and the count in each bucket.
 */
export function logHistogram(sample: readonly number[], bins: number, range?: { min: number; max: number }): { edges: number[]; counts: number[] } {
  const positive = sample.filter((v) => v > 0 && Number.isFinite(v));
  const min = range?.min ?? Math.min(...positive);
  const max = range?.max ?? Math.max(...positive);
  const counts = new Array<number>(bins).fill(0);
  if (positive.length === 0 || !(min > 0) || !(max >= min)) return { edges: [], counts: [] };
  const lo = Math.log10(min);
  const hi = max > min ? Math.log10(max) : lo + 1e-9;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (lo + ((hi - lo) * i) / bins));
  for (const v of positive) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((Math.log10(v) - lo) / (hi - lo)) * bins)));
    counts[i] = (counts[i]) + 1;
  }
  return { edges, counts };
}
