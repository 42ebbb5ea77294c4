import { systemClock as kdSystemClock } from '@vmkd/kd-protocol';

/**
 * Time for the virtual CPU. The simulator only schedules one-shot callbacks; tests inject a manual
 * clock and advance it explicitly, everything else uses the system clock.
 */
export interface SimTimer {
  cancel(): void;
}

export interface SimClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds (0 = as soon as possible, never synchronously). */
  schedule(ms: number, callback: () => void): SimTimer;
}

/**
 * The event loop as a SimClock: kd-protocol's one `systemClock`, adapted to `schedule()`. Unlike
 * the link timers, the virtual CPU's timers keep the process alive (a running target ticks).
 */
export const systemClock: SimClock = {
  now: () => kdSystemClock.now(),
  schedule(ms, callback) {
    const handle = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

export interface ManualClock extends SimClock {
  /** Runs every callback due within the next `ms` milliseconds, in time order, then sets the time. */
  advance(ms: number): void;
  /** Callbacks still scheduled. */
  readonly pending: number;
}

export function createManualClock(start = 0): ManualClock {
  let time = start;
  let seq = 0;
  const timers = new Map<number, { at: number; seq: number; callback: () => void }>();
  return {
    now: () => time,
    get pending() {
      return timers.size;
    },
    schedule(ms, callback) {
      const id = seq++;
      timers.set(id, { at: time + Math.max(0, ms), seq: id, callback });
      return { cancel: () => void timers.delete(id) };
    },
    advance(ms) {
      const end = time + ms;
      for (;;) {
        let next: { id: number; at: number; seq: number; callback: () => void } | undefined;
        for (const [id, t] of timers) {
          if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = { id, ...t };
        }
        if (next === undefined) break;
        timers.delete(next.id);
        time = Math.max(time, next.at);
        next.callback();
      }
      time = end;
    },
  };
}
