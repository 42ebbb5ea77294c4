import { Observable } from 'rxjs';
import { isVmkdError, VmkdError, type ByteLink } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode } from './errors.js';
import type { LinkNotice } from './persistent-kdcom-link.js';

export interface ReconnectOptions {
  /** First delay after a failed attempt or a dropped connection. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap of the doubling backoff. Default 5000 ms. */
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts. Default: never (the link stays usable for when the VM is back). */
  maxAttempts?: number;
}

/**
 * Errors that another attempt cannot fix: bad options, an unsupported platform, and errors their
 * opener marked `details.permanent` (a serial device path that does not exist is a typo, not a VM
 * that is still booting).
 */
export function isPermanentOpenError(error: unknown): boolean {
  return (
    isVmkdError(error) &&
    (error.code === ByteLinkErrorCode.BadOptions || error.code === ByteLinkErrorCode.UnsupportedPlatform || error.details.permanent === true)
  );
}

/**
 * Byte links from `open()`, one after another: when one ends (a VM restart drops the socket), wait
 * with doubling backoff and open again; failed attempts are reported through `onNotice`.
 * `start.first` is an already-open link to begin with, `start.delayMs` a wait before the first
 * attempt, `start.once` ends the sequence after the first link instead of reconnecting.
 * Unsubscribing stops the loop and closes a link that was being opened.
 */
export function reconnectingByteLinks$(
  open: () => Promise<ByteLink>,
  options: ReconnectOptions,
  onNotice: (notice: LinkNotice) => void,
  start: { first?: ByteLink; delayMs?: number; once?: boolean } = {},
): Observable<ByteLink> {
  const initialDelay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;

  return new Observable<ByteLink>((subscriber) => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;

    const sleep = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, ms);
      });

    const untilEnded = (link: ByteLink): Promise<void> =>
      new Promise<void>((resolve) => {
        const subscription = link.data$.subscribe({ complete: resolve, error: () => resolve() });
        // Also stop waiting when we are unsubscribed.
        wake = () => {
          subscription.unsubscribe();
          resolve();
        };
      });

    void (async () => {
      let delay = initialDelay;
      let failures = 0;
      let link = start.first;
      if (link === undefined && start.delayMs !== undefined) await sleep(start.delayMs);
      // Hand out the first link only after the creator's caller has resumed and subscribed to the
      // packet link's events (its `connect` must not fire into the void). Byte links hold their
      // data until subscribed, so nothing is lost by waiting one turn of the event loop.
      else await new Promise<void>((resolve) => setImmediate(resolve));
      while (!stopped) {
        if (link === undefined) {
          try {
            link = await open();
          } catch (error) {
            failures += 1;
            if (isPermanentOpenError(error) || failures >= maxAttempts) {
              if (!stopped) subscriber.error(error);
              return;
            }
            const vmkdError = isVmkdError(error) ? error : new VmkdError(ByteLinkErrorCode.ConnectFailed, String(error), { cause: error });
            onNotice({
              kind: 'connect-failed',
              error: vmkdError,
              retryInMs: delay,
              attempt: failures,
              ...(Number.isFinite(maxAttempts) ? { maxAttempts } : {}),
            });
            await sleep(delay);
            delay = Math.min(maxDelay, delay * 2);
            continue;
          }
          if (stopped) {
            await link.close();
            return;
          }
        }
        failures = 0;
        delay = initialDelay;
        subscriber.next(link);
        await untilEnded(link);
        link = undefined;
        if (start.once === true) {
          if (!stopped) subscriber.complete();
          return;
        }
        if (!stopped) await sleep(delay);
      }
    })();

    return () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
    };
  });
}
