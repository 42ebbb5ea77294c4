import { describe, expect, it } from 'vitest';
import { histogramOf, logHistogram, spreadOf, summarize } from './stats.js';

describe('histogramOf (hdr-histogram-js)', () => {
  it('gives percentiles within 0.1 % of a recorded value, extremes at 0 and 100', () => {
    const sample = Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.001); // 1 µs … 1 ms, in ms
    const h = histogramOf(sample);
    expect(h.count).toBe(1000);
    expect(h.at(0)).toBe(0.001);
    expect(h.at(100)).toBe(1);
    expect(h.at(50)).toBeGreaterThanOrEqual(0.5 * 0.999);
    expect(h.at(50)).toBeLessThanOrEqual(0.501 * 1.001);
    expect(h.at(99)).toBeGreaterThanOrEqual(0.99 * 0.999);
    expect(h.at(99)).toBeLessThanOrEqual(0.991 * 1.001);
  });

  it('keeps resolution for large values (rates in bytes per second)', () => {
    const h = histogramOf([40e6, 41e6, 42e6, 90e6]);
    expect(h.at(50) / 41e6).toBeGreaterThan(0.999);
    expect(h.at(50) / 41e6).toBeLessThan(1.001);
    expect(h.mean).toBe(53.25e6);
  });

  it('is NaN for an empty sample and refuses a percentile outside 0 … 100', () => {
    expect(histogramOf([]).at(50)).toBeNaN();
    expect(() => histogramOf([1]).at(101)).toThrow(RangeError);
    expect(() => histogramOf([1]).at(Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports count, min, max, mean and p50/p90/p99 without touching the sample', () => {
    const sample = [5, 1, 4, 2, 3];
    const s = summarize(sample);
    expect(s).toMatchObject({ count: 5, min: 1, max: 5, mean: 3 });
    expect(s.p50).toBeCloseTo(3, 2);
    expect(s.p99).toBeCloseTo(5, 2);
    expect(sample).toEqual([5, 1, 4, 2, 3]);
  });

  it('is all NaN for an empty sample', () => {
    expect(summarize([])).toMatchObject({ count: 0, p50: Number.NaN, mean: Number.NaN });
  });
});

describe('spreadOf', () => {
  it('gives the median and the range of repeated figures', () => {
    expect(spreadOf([0.9, 0.7, 0.8])).toEqual({ median: expect.closeTo(0.8, 3) as number, min: 0.7, max: 0.9, n: 3 });
    expect(spreadOf([Number.NaN])).toBeUndefined();
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
