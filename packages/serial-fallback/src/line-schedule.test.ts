import { describe, expect, it } from 'vitest';
import { LineSchedule, sliceBytesFor } from './line-schedule.js';

describe('LineSchedule', () => {
  it('schedules against the start of the transmission, so late timers do not add up', () => {
    let now = 1000;
    const schedule = new LineSchedule(0.1, () => now);
    expect(schedule.reserve(10)).toBeCloseTo(1001);
    now = 1005; // the timer fired 4 ms late
    expect(schedule.reserve(10)).toBeCloseTo(1002); // already due: the next slice goes at once
    expect(schedule.reserve(100)).toBeCloseTo(1012);
  });

  it('restarts from "now" after the line went idle', () => {
    let now = 0;
    const schedule = new LineSchedule(1, () => now);
    expect(schedule.reserve(5)).toBe(5);
    schedule.markIdle();
    now = 100;
    expect(schedule.reserve(5)).toBe(105);
  });

  it('moves about 2 ms of line time per tick', () => {
    expect(sliceBytesFor(11_520)).toBe(23);
    expect(sliceBytesFor(960)).toBe(1);
    expect(sliceBytesFor(1e9)).toBe(16 * 1024);
  });
});
