/** p50/p99 over the most recent samples; what `route.stats()` reports per direction. */
export interface LatencySummary {
  /** Samples ever recorded (the summary covers at most the reservoir's size of the newest). */
  readonly count: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

export interface LatencyReservoir {
  record(ms: number): void;
  summary(): LatencySummary;
}

/**
 * A fixed-size ring of the newest samples. A long session records millions of round trips; keeping
 * the most recent `size` keeps memory constant and makes the percentiles describe "now" rather than
 * the whole history.
 */
export function createLatencyReservoir(size = 1024): LatencyReservoir {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`latency reservoir size must be a positive integer, got ${String(size)}`);
  const ring = new Float64Array(size);
  let count = 0;
  return {
    record(ms) {
      ring[count % size] = ms;
      count += 1;
    },
    summary() {
      const n = Math.min(count, size);
      if (n === 0) return { count, p50Ms: undefined, p99Ms: undefined, maxMs: undefined };
      const sorted = ring.slice(0, n).sort();
      return { count, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted[n - 1] };
    },
  };
}

/** Nearest-rank percentile of an ascending array (no interpolation: every reported value was measured). */
export function percentile(sorted: ArrayLike<number>, fraction: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1];
}
