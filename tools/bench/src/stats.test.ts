import { describe, expect, it } from 'vitest';
import { logHistogram, percentile, summarize } from './stats.js';

describe('percentile', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([1, 2], 50)).toBe(1.5);
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([10, 20, 30, 40], 25)).toBe(17.5);
    expect(percentile([0, 100], 99)).toBeCloseTo(99, 10);
  });

  it('gives the extremes at 0 and 100 and NaN for an empty sample', () => {
    const s = [3, 5, 9];
    expect(percentile(s, 0)).toBe(3);
    expect(percentile(s, 100)).toBe(9);
    expect(percentile([], 50)).toBeNaN();
  });

  it('refuses a percentile outside 0 … 100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy and reports min, max, mean and percentiles', () => {
    const sample = [5, 1, 4, 2, 3];
    const s = summarize(sample);
    expect(s).toEqual({ count: 5, min: 1, max: 5, mean: 3, p50: 3, p90: 4.6, p99: expect.closeTo(4.96, 10) as number });
    expect(sample).toEqual([5, 1, 4, 2, 3]);
  });

  it('p99 of 1 … 1000 lies between the 990th and the 991st value', () => {
    const s = summarize(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(s.p50).toBe(500.5);
    expect(s.p99).toBeCloseTo(990.01, 6);
  });

  it('is all NaN for an empty sample', () => {
    expect(summarize([])).toMatchObject({ count: 0, p50: Number.NaN, mean: Number.NaN });
  });
});

describe('logHistogram', () => {
  it('puts each value in its decade bucket', () => {
    const h = logHistogram([1, 10, 100, 1000], 3);
    expect(h.edges.map((e) => Math.round(e))).toEqual([1, 10, 100, 1000]);
    expect(h.counts).toEqual([1, 1, 2]);
  });

  it('ignores non-positive values', () => {
    expect(logHistogram([0, -1], 4)).toEqual({ edges: [], counts: [] });
  });
});
