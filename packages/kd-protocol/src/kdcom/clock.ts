/**
 * Time as the KDCOM link sees it. Injected so tests drive the state machine in virtual time
 * (see createVirtualClock) and the real link uses the event loop.
 */
export interface KdcomClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: KdcomClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A pending retransmit timer must not keep a process alive on its own.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
