import { VmkdError } from '@vmkd/kd-protocol';
import { ProxyPipeErrorCode } from '../framing.js';
import { Win32 } from './kernel32-pipes.js';
import type { PipeApi } from './kernel32-pipes.js';

/** `WaitForMultipleObjects` takes at most 64 handles; one is the waiter's own wake event. */
const MAX_WAITED = 63;

/**
 * Turns Win32 events into promises without blocking the event loop: one `WaitForMultipleObjects`
 * at a time runs on a koffi worker thread over every event someone awaits, plus a wake event that
 * restarts the wait when the set changes. However many pipes a process serves, overlapped I/O
 * costs one worker thread, and none while nothing is pending (so the process may exit).
 */
export interface EventWaiter {
  /** Resolves once `event` is signalled. The event must be manual-reset (the waiter does not reset it). */
  signalled(event: bigint): Promise<void>;
}

interface Waiting {
  readonly event: bigint;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function createEventWaiter(api: PipeApi): EventWaiter {
  const wake = api.CreateEventW(null, 0, 0, null); // auto-reset
  if (wake === 0n) throw win32Failure(api, 'CreateEventW');
  let waiting: Waiting[] = [];
  let armed = false;

  const arm = (): void => {
    if (armed || waiting.length === 0) return;
    armed = true;
    const watched = waiting.slice(0, MAX_WAITED);
    const handles = BigUint64Array.from([wake, ...watched.map((w) => w.event)]);
    try {
      api.waitForMultipleObjectsAsync(handles, 0, Win32.INFINITE, settle);
    } catch (error) {
      // koffi refused the call (its queue of asynchronous calls is full): fail the waiters, stay usable.
      armed = false;
      failAll(error);
    }
    function settle(error: unknown, index: number): void {
      armed = false;
      if (error !== null && error !== undefined) {
        failAll(error);
        return;
      }
      if (index === Win32.WAIT_FAILED || index > watched.length) {
        failAll(win32Failure(api, 'WaitForMultipleObjects'));
        return;
      }
      if (index > 0) {
        // Only the lowest signalled index is reported; the others are seen on the next pass.
        const done = watched[index - 1];
        waiting = waiting.filter((w) => w !== done);
        done.resolve();
      }
      arm();
    }
  };

  const failAll = (error: unknown): void => {
    for (const w of waiting.splice(0)) w.reject(error);
  };

  return {
    signalled(event) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ event, resolve, reject });
        if (armed) api.SetEvent(wake);
        else arm();
      });
    },
  };
}

let shared: EventWaiter | undefined;

/** The process's one waiter. */
export function sharedEventWaiter(api: PipeApi): EventWaiter {
  shared ??= createEventWaiter(api);
  return shared;
}

/** A stable-coded error for a Win32 call that failed, with the call and its `GetLastError()` value. */
export function win32Failure(api: PipeApi, call: string, win32Error = api.GetLastError(), what = 'proxy pipe'): VmkdError {
  return new VmkdError(ProxyPipeErrorCode.Io, `${what}: ${call} failed (Win32 error ${win32Error})`, { details: { call, win32Error } });
}
