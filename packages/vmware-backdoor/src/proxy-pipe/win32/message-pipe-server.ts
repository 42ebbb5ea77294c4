import { VmkdError, isVmkdError } from '@vmkd/kd-protocol';
import { PROXY_PIPE_MAX_MESSAGE, ProxyPipeErrorCode } from '../framing.js';
import type { KdrpcProxyPipeServer, KdrpcProxyPipeServerOptions } from '../server-types.js';
import { sharedEventWaiter } from './event-waiter.js';
import { Win32, loadPipeApi } from './kernel32-pipes.js';
import { OverlappedPipe } from './overlapped-pipe.js';
import { ownerOnlySecurityAttributes } from './owner-only.js';

/** VirtualKD's dispatcher pipe: 128 KiB quotas each way and a 1000 ms default timeout (spec §6.3, §9 anchor 15). */
const PIPE_QUOTA = 128 * 1024;
const DEFAULT_TIMEOUT_MS = 1000;

/**
 * VirtualKD's proxy pipe as VirtualKD's forwarder expects it (virtualkd-kdrpc spec §6.3): a named
 * pipe of **message type, read in message mode**, duplex, overlapped. Each message from the
 * forwarder is one raw KDRPC body starting at the command byte; each reply is one message
 * starting with `"++kdVMvA "` (empty = rejected). No length prefix: the pipe keeps the boundaries.
 *
 * One instance, one client at a time (the forwarder's `CallNamedPipe` waits for a busy instance);
 * after a client leaves, the instance is disconnected and listens again. The pipe is owner-only
 * and refuses remote clients.
 */
export async function createKdrpcMessagePipeServer(options: KdrpcProxyPipeServerOptions): Promise<KdrpcProxyPipeServer> {
  const { path, host } = options;
  const goneAfterMs = options.goneAfterMs ?? 1000;
  const api = await loadPipeApi();
  const waiter = sharedEventWaiter(api);

  const security = ownerOnlySecurityAttributes(api);
  let handle: bigint;
  try {
    handle = api.CreateNamedPipeW(
      path,
      // FIRST_PIPE_INSTANCE: a second server on the name fails instead of sharing its clients.
      Win32.PIPE_ACCESS_DUPLEX | Win32.FILE_FLAG_OVERLAPPED | Win32.FILE_FLAG_FIRST_PIPE_INSTANCE,
      Win32.PIPE_TYPE_MESSAGE | Win32.PIPE_READMODE_MESSAGE | Win32.PIPE_WAIT | Win32.PIPE_REJECT_REMOTE_CLIENTS,
      1,
      PIPE_QUOTA,
      PIPE_QUOTA,
      DEFAULT_TIMEOUT_MS,
      security.pointer,
    );
  } finally {
    security.free();
  }
  if (handle === Win32.INVALID_HANDLE_VALUE || handle === 0n) {
    const win32Error = api.GetLastError();
    const why = win32Error === Win32.ERROR_ACCESS_DENIED || win32Error === Win32.ERROR_PIPE_BUSY ? ' (another server owns that pipe name)' : '';
    throw new VmkdError(ProxyPipeErrorCode.Listen, `proxy pipe: cannot create ${path}: Win32 error ${win32Error}${why}`, {
      details: { path, call: 'CreateNamedPipeW', win32Error },
    });
  }
  const pipe = new OverlappedPipe(api, waiter, handle, PROXY_PIPE_MAX_MESSAGE);

  let transactions = 0;
  let rejected = 0;
  let brokenFrames = 0;
  let connections = 0;
  let closed = false;
  let goneTimer: ReturnType<typeof setTimeout> | undefined;

  const serveOneClient = async (): Promise<void> => {
    let served = 0;
    for (;;) {
      const { result, message } = await pipe.read();
      if (closed) return;
      if (!result.ok) {
        if (result.win32Error === Win32.ERROR_MORE_DATA) {
          // Longer than the 256 KiB the forwarder may send (§4.10): drop this client, keep serving.
          brokenFrames++;
          options.onDropped?.({ reason: 'message-too-large', length: result.bytes + pipe.leftThisMessage(), limit: PROXY_PIPE_MAX_MESSAGE, brokenFrames });
        }
        break; // ERROR_BROKEN_PIPE: the forwarder closed its end (CallNamedPipe does, after each reply)
      }
      let reply: Uint8Array;
      try {
        reply = await host.handleRequest(message);
      } catch {
        reply = new Uint8Array(0);
      }
      if (reply.length > PROXY_PIPE_MAX_MESSAGE) reply = new Uint8Array(0);
      transactions++;
      served++;
      if (reply.length === 0) rejected++;
      const written = await pipe.write(reply);
      if (closed) return;
      if (!written.ok) break; // the forwarder gave up mid-transaction: drop it (§6.3 error cases)
    }
    if (served > 0 && !closed) {
      // Forwarders connect per transaction; only a silence after the last one means the guest is gone.
      goneTimer = setTimeout(() => {
        if (connections === 0 && !closed) host.guestGone('proxy pipe client gone');
      }, goneAfterMs);
      goneTimer.unref();
    }
  };

  const serve = async (): Promise<void> => {
    let failures = 0;
    while (!closed) {
      const connected = await pipe.connect();
      if (closed) return;
      // ERROR_NO_DATA: a client came and went before ConnectNamedPipe; recycle and listen again.
      if (connected.ok) {
        failures = 0;
        connections = 1;
        if (goneTimer !== undefined) clearTimeout(goneTimer);
        goneTimer = undefined;
        await serveOneClient();
        connections = 0;
      } else if (connected.win32Error !== Win32.ERROR_NO_DATA) {
        failures++;
        options.onDropped?.({ reason: 'io-error', limit: PROXY_PIPE_MAX_MESSAGE, brokenFrames, win32Error: connected.win32Error });
        // Never spin on a failing ConnectNamedPipe: back off, bounded.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 10 * 2 ** Math.min(failures, 7))));
      }
      if (closed || pipe.isClosed) return;
      // Recycle the instance: drop the old client's end (and anything it left unread).
      if (api.DisconnectNamedPipe(handle) === 0) {
        const win32Error = api.GetLastError();
        if (win32Error !== Win32.ERROR_PIPE_NOT_CONNECTED) options.onDropped?.({ reason: 'io-error', limit: PROXY_PIPE_MAX_MESSAGE, brokenFrames, win32Error });
      }
    }
  };
  // The loop never rejects into the void: a failure it cannot recover from (the waiter thread could
  // not be started) is reported, and the guest is gone until the pipe is opened again.
  const loop = serve().catch((error: unknown) => {
    if (closed) return;
    options.onDropped?.({ reason: 'io-error', limit: PROXY_PIPE_MAX_MESSAGE, brokenFrames, ...(isVmkdError(error) && typeof error.details.win32Error === 'number' ? { win32Error: error.details.win32Error } : {}) });
    host.guestGone(`proxy pipe failed: ${error instanceof Error ? error.message : String(error)}`);
  });

  return {
    path,
    stats: () => ({ transactions, rejected, connections, brokenFrames }),
    async close() {
      if (closed) return;
      closed = true;
      if (goneTimer !== undefined) clearTimeout(goneTimer);
      await pipe.close();
      host.guestGone('proxy pipe closed');
      await loop;
    },
  };
}
