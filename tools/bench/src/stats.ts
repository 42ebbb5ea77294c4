import { build } from 'hdr-histogram-js';

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

/** A sample's distribution: percentiles, extremes and mean, in the sample's own unit. */
export interface SampleHistogram {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** The value at percentile p (0 … 100); NaN for an empty sample. */
  at(p: number): number;
}

/** Significant decimal digits every histogram keeps (HdrHistogram's usual setting: 0.1 % error). */
const SIGNIFICANT_DIGITS = 3;

/**
 * A sample recorded into an HdrHistogram (`hdr-histogram-js`, pure JS): the one place the bench
 * computes percentiles. HdrHistogram records integers, so the sample is scaled until its smallest
 * positive value has four digits (a 25 µs round trip in ms is recorded as 25,000 ns), which keeps
 * every reported percentile within 0.1 % of a recorded value whatever the sample's range.
 * Percentiles 0 and 100 are the recorded extremes.
 */
export function histogramOf(sample: readonly number[]): SampleHistogram {
  const values = sample.filter((v) => Number.isFinite(v) && v >= 0);
  if (values.length === 0) return { count: 0, min: Number.NaN, max: Number.NaN, mean: Number.NaN, at: () => Number.NaN };
  let smallest = Infinity;
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const v of values) {
    if (v > 0 && v < smallest) smallest = v;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  let scale = smallest === Infinity ? 1 : 10 ** Math.max(0, Math.ceil(3 - Math.log10(smallest)));
  while (max * scale > 2 ** 50) scale /= 10;
  const h = build({ numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true, useWebAssembly: false });
  for (const v of values) h.recordValue(Math.round(v * scale));
  return {
    count: values.length,
    min,
    max,
    mean: sum / values.length,
    at(p) {
      if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be 0 … 100, not ${p}`);
      if (p === 0) return min;
      if (p === 100) return max;
      return Math.min(max, h.getValueAtPercentile(p) / scale);
    },
  };
}

export function summarize(sample: readonly number[]): Summary {
  const h = histogramOf(sample);
  return { count: h.count, min: h.min, max: h.max, mean: h.mean, p50: h.at(50), p90: h.at(90), p99: h.at(99) };
}

/** The spread of a few repeated figures (rounds of a cell, ratios per round): median and range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many figures. */
  readonly n: number;
}

/** Median, min and max of a handful of figures (NaN ones ignored). */
export function spreadOf(values: readonly number[]): Spread | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return undefined;
  const h = histogramOf(v);
  return { median: h.at(50), min: h.min, max: h.max, n: v.length };
}

/**
 * Bins for a latency distribution chart: `bins` equal-width buckets on a log scale between the
 * sample's min and max (latencies span decades between transports). Returns the bucket edges
 * (bins + 1 values) and the count in each bucket.
 */
export function logHistogram(sample: readonly number[], bins: number, range?: { min: number; max: number }): { edges: number[]; counts: number[] } {
  const positive = sample.filter((v) => v > 0 && Number.isFinite(v));
  let min = range?.min ?? Infinity;
  let max = range?.max ?? -Infinity;
  if (range === undefined) {
    for (const v of positive) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const counts = new Array<number>(bins).fill(0);
  if (positive.length === 0 || !(min > 0) || !(max >= min)) return { edges: [], counts: [] };
  const lo = Math.log10(min);
  const hi = max > min ? Math.log10(max) : lo + 1e-9;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (lo + ((hi - lo) * i) / bins));
  for (const v of positive) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((Math.log10(v) - lo) / (hi - lo)) * bins)));
    counts[i] = counts[i] + 1;
  }
  return { edges, counts };
}
