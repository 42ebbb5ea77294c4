import { describe, expect, it } from 'vitest';
import { createLatencyReservoir } from './latency-reservoir.js';

describe('createLatencyReservoir (hdr-histogram-js)', () => {
  it('reports p50/p99/max within 0.1 % of the recorded values', () => {
    const r = createLatencyReservoir(1000);
    for (let i = 1; i <= 1000; i++) r.record(i / 100); // 0.01 … 10 ms
    const s = r.summary();
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeGreaterThanOrEqual(5 * 0.999);
    expect(s.p50Ms).toBeLessThanOrEqual(5.01 * 1.001);
    expect(s.p99Ms).toBeGreaterThanOrEqual(9.9 * 0.999);
    expect(s.p99Ms).toBeLessThanOrEqual(9.91 * 1.001);
    expect(s.maxMs).toBeCloseTo(10, 1);
  });

  it('forgets old samples: the summary covers the newest one to two windows', () => {
    const r = createLatencyReservoir(10);
    for (let i = 0; i < 100; i++) r.record(50);
    for (let i = 0; i < 20; i++) r.record(1);
    const s = r.summary();
    expect(s.count).toBe(120);
    expect(s.p99Ms).toBeCloseTo(1, 2);
  });

  it('is empty before the first sample and refuses a bad size', () => {
    expect(createLatencyReservoir().summary()).toEqual({ count: 0, p50Ms: undefined, p99Ms: undefined, maxMs: undefined });
    expect(() => createLatencyReservoir(0)).toThrow(RangeError);
  });
});
