import { VmkdError, isVmkdError } from '@vmkd/kd-protocol';
import { ProxyPipeErrorCode } from './framing.js';

/**
 * The forwarder's rule (virtualkd-kdrpc spec §6.3, error cases): retry the whole transaction until
 * it succeeds or `timeoutMs` have passed since the first attempt, then fail with
 * `ERR_PROXYPIPE_UNAVAILABLE`. `attempt` gets the deadline (a `Date.now()` value) to bound its wait.
 */
export async function retryTransaction(
  path: string,
  timeoutMs: number,
  attempt: (deadline: number) => Promise<Uint8Array>,
  isClosed: () => boolean,
): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return await attempt(deadline);
    } catch (error) {
      // A message over the limit stays over it: no point in trying again.
      if (isVmkdError(error, ProxyPipeErrorCode.TooLarge)) throw error;
      if (Date.now() >= deadline || isClosed()) {
        throw new VmkdError(ProxyPipeErrorCode.Unavailable, `proxy pipe: no dispatcher at ${path} within ${timeoutMs} ms`, {
          cause: error,
          disconnected: true,
        });
      }
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(delay, deadline - Date.now()))));
    }
  }
}

/** One transaction at a time, as a vCPU makes one call at a time: each call waits for the one before. */
export function serialize<T>(): (run: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return (run) => {
    const next = chain.then(run);
    chain = next.catch(() => undefined);
    return next;
  };
}
