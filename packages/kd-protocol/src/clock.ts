/**
 * Time as vmkd's protocol logic sees it: the one clock type every package injects (KDCOM link
 * machine, sessions, KDRPC host and guest, the router), so that tests drive timers in virtual time
 * (`createVirtualClock()` in `@vmkd/kd-protocol/testing`) and deployments use the event loop.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run `callback` once after `ms` milliseconds (never synchronously). Returns a handle for clearTimeout(). */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The event loop's clock. Its timers never keep a process alive on their own. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A pending retransmit or idle timer must not keep a process alive on its own.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
