import { firstValueFrom, lastValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';

/** Collects bytes from a link until `count` have arrived; rejects on a timeout, an error or an early end. */
export function collectBytes(link: ByteLink, count: number, timeoutMs = 10_000): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const out = new Uint8Array(count);
    let filled = 0;
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`only ${filled} of ${count} bytes within ${timeoutMs} ms`));
    }, timeoutMs);
    const subscription = link.data$.subscribe({
      next: (chunk) => {
        const n = Math.min(chunk.byteLength, count - filled);
        out.set(chunk.subarray(0, n), filled);
        filled += n;
        if (filled === count) {
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(out);
        }
      },
      error: (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
      complete: () => {
        clearTimeout(timer);
        if (filled < count) reject(new Error(`stream ended after ${filled} of ${count} bytes`));
      },
    });
  });
}

/** Resolves 'complete' or with the error the observable ended with (a timeout error if it did not end). */
export function endOf(observable$: Observable<unknown>, timeoutMs = 10_000): Promise<unknown> {
  return lastValueFrom(observable$.pipe(toArray(), timeout(timeoutMs))).then(
    () => 'complete',
    (error: unknown) => error,
  );
}

/** The listener's next accepted connection. */
export function nextConnection(listener: ByteLinkListener, timeoutMs = 10_000): Promise<ByteLink> {
  return firstValueFrom(listener.connections$.pipe(take(1), timeout(timeoutMs)));
}

/** `size` pseudo-random bytes, the same for the same seed (an LCG's high bytes). */
export function pattern(size: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i += 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}
