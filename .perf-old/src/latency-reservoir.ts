import { build, type Histogram } from 'hdr-histogram-js';

/** p50/p99 over the most recent samples; what `route.stats()` reports per direction. */
export interface LatencySummary {
  /** Samples ever recorded (the summary covers between `size` and twice `size` of the newest). */
  readonly count: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

export interface LatencyReservoir {
  record(ms: number): void;
  summary(): LatencySummary;
}

/** Recorded in microseconds, three significant digits (HdrHistogram's usual 0.1 %). */
const US_PER_MS = 1000;

function histogram(): Histogram {
  return build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
}

/**
 * Percentiles from HdrHistogram (`hdr-histogram-js`) over a sliding pair of windows: samples go
 * into the current window, which becomes the previous one after `size` samples, and the summary
 * covers both. A long session records millions of round trips; two fixed histograms keep memory
 * constant and make the percentiles describe "now" (the newest `size` … 2 × `size` samples) rather
 * than the whole history.
 */
export function createLatencyReservoir(size = 1024): LatencyReservoir {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`latency reservoir size must be a positive integer, got ${String(size)}`);
  let current = histogram();
  let previous: Histogram | undefined;
  let inCurrent = 0;
  let count = 0;
  return {
    record(ms) {
      if (!(ms >= 0) || !Number.isFinite(ms)) return;
      if (inCurrent === size) {
        previous?.destroy();
        previous = current;
        current = histogram();
        inCurrent = 0;
      }
      current.recordValue(Math.round(ms * US_PER_MS));
      inCurrent += 1;
      count += 1;
    },
    summary() {
      if (count === 0) return { count, p50Ms: undefined, p99Ms: undefined, maxMs: undefined };
      const both = histogram();
      both.add(current);
      if (previous !== undefined) both.add(previous);
      const summary = {
        count,
        p50Ms: both.getValueAtPercentile(50) / US_PER_MS,
        p99Ms: both.getValueAtPercentile(99) / US_PER_MS,
        maxMs: both.maxValue / US_PER_MS,
      };
      both.destroy();
      return summary;
    },
  };
}
