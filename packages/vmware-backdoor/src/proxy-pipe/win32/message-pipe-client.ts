import { VmkdError } from '@vmkd/kd-protocol';
import { PROXY_PIPE_MAX_MESSAGE, ProxyPipeErrorCode } from '../framing.js';
import type { KdrpcProxyPipeClient, KdrpcProxyPipeClientOptions } from '../client-types.js';
import { retryTransaction, serialize } from '../retry.js';
import { sharedEventWaiter, win32Failure } from './event-waiter.js';
import { Win32, loadPipeApi } from './kernel32-pipes.js';
import type { PipeApi } from './kernel32-pipes.js';
import { OverlappedPipe } from './overlapped-pipe.js';

/**
 * The forwarder's side of VirtualKD's proxy pipe on Windows (virtualkd-kdrpc spec §6.3): open the
 * message-mode pipe, switch the handle to message read mode, write one message (the raw KDRPC
 * body), read one message (the reply), close — what kdclient's `CallNamedPipe` does. A busy
 * instance or a missing dispatcher is retried until the budget is spent; the reply wait is bounded
 * by the same budget (the I/O is cancelled, never left hanging).
 */
export function createKdrpcMessagePipeClient(options: KdrpcProxyPipeClientOptions): KdrpcProxyPipeClient {
  const timeoutMs = options.timeoutMs ?? 1000;
  let kept: OverlappedPipe | undefined;
  let closed = false;

  function open(api: PipeApi): OverlappedPipe {
    const handle = api.CreateFileW(options.path, Win32.GENERIC_READ | Win32.GENERIC_WRITE, 0, null, Win32.OPEN_EXISTING, Win32.FILE_FLAG_OVERLAPPED, null);
    if (handle === Win32.INVALID_HANDLE_VALUE || handle === 0n) {
      // ERROR_FILE_NOT_FOUND (no dispatcher) and ERROR_PIPE_BUSY (instance in use) are retried by the caller.
      throw win32Failure(api, 'CreateFileW');
    }
    if (api.SetNamedPipeHandleState(handle, [Win32.PIPE_READMODE_MESSAGE], null, null) === 0) {
      const error = win32Failure(api, 'SetNamedPipeHandleState');
      api.CloseHandle(handle);
      throw error;
    }
    return new OverlappedPipe(api, sharedEventWaiter(api), handle, PROXY_PIPE_MAX_MESSAGE);
  }

  async function once(body: Uint8Array, deadline: number): Promise<Uint8Array> {
    if (body.length > PROXY_PIPE_MAX_MESSAGE) {
      throw new VmkdError(ProxyPipeErrorCode.TooLarge, `proxy pipe: message of ${body.length} bytes exceeds ${PROXY_PIPE_MAX_MESSAGE}`, {
        details: { length: body.length, limit: PROXY_PIPE_MAX_MESSAGE },
      });
    }
    const api = await loadPipeApi();
    const pipe = options.persistent === true ? (kept ??= open(api)) : open(api);
    let keep = options.persistent === true;
    const timer = setTimeout(() => pipe.cancel(), Math.max(1, deadline - Date.now()));
    try {
      const written = await pipe.write(body);
      if (!written.ok) throw broken('WriteFile', written.win32Error);
      const { result, message } = await pipe.read();
      if (!result.ok) {
        if (result.win32Error === Win32.ERROR_MORE_DATA) {
          throw new VmkdError(ProxyPipeErrorCode.TooLarge, `proxy pipe: a reply longer than ${PROXY_PIPE_MAX_MESSAGE} bytes`, {
            details: { length: result.bytes + pipe.leftThisMessage(), limit: PROXY_PIPE_MAX_MESSAGE },
          });
        }
        if (result.win32Error === Win32.ERROR_OPERATION_ABORTED) {
          throw new VmkdError(ProxyPipeErrorCode.Unavailable, `proxy pipe: no reply within ${timeoutMs} ms`, { details: { path: options.path } });
        }
        throw broken('ReadFile', result.win32Error);
      }
      return message;
    } catch (error) {
      keep = false;
      throw error;
    } finally {
      clearTimeout(timer);
      if (!keep) {
        if (kept === pipe) kept = undefined;
        await pipe.close();
      }
    }
  }

  const inOrder = serialize<Uint8Array>();
  let last: Promise<unknown> = Promise.resolve();
  return {
    call(body) {
      const run = inOrder(() => {
        if (closed) return Promise.reject(new VmkdError(ProxyPipeErrorCode.Broken, 'proxy pipe client closed', { canceled: true }));
        return retryTransaction(options.path, timeoutMs, (deadline) => once(body, deadline), () => closed);
      });
      last = run.catch(() => undefined);
      return run;
    },
    async close() {
      closed = true;
      const pipe = kept;
      kept = undefined;
      pipe?.cancel();
      await last;
      await pipe?.close();
    },
  };
}

function broken(call: string, win32Error: number): VmkdError {
  return new VmkdError(ProxyPipeErrorCode.Broken, `proxy pipe: ${call} failed (Win32 error ${win32Error}): the dispatcher closed the pipe mid-transaction`, {
    details: { call, win32Error },
    disconnected: true,
  });
}
