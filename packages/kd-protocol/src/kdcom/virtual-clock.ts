import type { Clock } from '../clock.js';

/** A clock that only moves when told to: timers fire inside advance(), in deadline order. */
export interface VirtualClock extends Clock {
  /** Move time forward by `ms`, firing every timer that falls due (including ones set while firing). */
  advance(ms: number): void;
  /** Timers not yet fired. */
  readonly pending: number;
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

export function createVirtualClock(start = 0): VirtualClock {
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();
  const nextDue = (limit: number): Timer | undefined => {
    let best: Timer | undefined;
    for (const t of timers) if (t.at <= limit && (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    return best;
  };
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, callback };
      timers.add(timer);
      return timer;
    },
    clearTimeout(handle) {
      timers.delete(handle as Timer);
    },
    advance(ms) {
      const end = now + ms;
      for (let t = nextDue(end); t !== undefined; t = nextDue(end)) {
        timers.delete(t);
        now = t.at;
        t.callback();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
  };
}
