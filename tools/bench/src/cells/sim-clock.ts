import type { SimClock } from '@vmkd/sim-target';

/** A virtual kernel's clock the bench can switch between paced (timers) and eager (no wait). */
export interface SwitchableClock extends SimClock {
  /**
   * Eager: every tick is scheduled with setImmediate instead of a timer. Node's timers round up to
   * 1 ms, so a breakpoint reached on the virtual CPU's next tick would measure that millisecond
   * rather than the transport; eager ticks measure the transport (a real CPU hits at once).
   */
  eager: boolean;
}

export function createSwitchableClock(): SwitchableClock {
  const clock: SwitchableClock = {
    eager: false,
    now: () => performance.now(),
    schedule(ms, callback) {
      if (clock.eager) {
        const handle = setImmediate(callback);
        return { cancel: () => clearImmediate(handle) };
      }
      const handle = setTimeout(callback, ms);
      return { cancel: () => clearTimeout(handle) };
    },
  };
  return clock;
}
