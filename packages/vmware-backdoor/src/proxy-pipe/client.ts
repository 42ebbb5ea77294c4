import { connect, type Socket } from 'node:net';
import { VmkdError } from '@vmkd/kd-protocol';
import type { RpciHandler } from '../vmx/types.js';
import { PROXY_PIPE_MAX_MESSAGE, ProxyFrameReader, ProxyPipeErrorCode, WINDOWS_PIPE, encodeProxyFrame } from './framing.js';
import { retryTransaction, serialize } from './retry.js';
import { createKdrpcMessagePipeClient } from './win32/message-pipe-client.js';
import type { KdrpcProxyPipeClient, KdrpcProxyPipeClientOptions } from './client-types.js';

interface Connection {
  readonly socket: Socket;
  readonly replies: Array<{ resolve: (reply: Uint8Array) => void; reject: (error: VmkdError) => void }>;
}

/**
 * The forwarder side. A Windows pipe path on Windows speaks VirtualKD's wire (one message per
 * body, `createKdrpcMessagePipeClient`); anything else is a socket with length-framed messages.
 */
export function createKdrpcProxyPipeClient(options: KdrpcProxyPipeClientOptions): KdrpcProxyPipeClient {
  if (process.platform === 'win32' && WINDOWS_PIPE.test(options.path)) return createKdrpcMessagePipeClient(options);
  const timeoutMs = options.timeoutMs ?? 1000;
  let kept: Connection | undefined;
  let closed = false;

  function open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(options.path);
      const connection: Connection = { socket, replies: [] };
      const reader = new ProxyFrameReader(PROXY_PIPE_MAX_MESSAGE);
      const fail = (error: VmkdError): void => {
        for (const r of connection.replies.splice(0)) r.reject(error);
      };
      socket.once('connect', () => resolve(connection));
      socket.on('error', (error) => {
        reject(error);
        fail(new VmkdError(ProxyPipeErrorCode.Broken, `proxy pipe: ${error.message}`, { cause: error, disconnected: true }));
      });
      socket.on('close', () => {
        if (kept === connection) kept = undefined;
        fail(new VmkdError(ProxyPipeErrorCode.Broken, 'proxy pipe: connection closed mid-transaction', { disconnected: true }));
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          for (const reply of reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
            connection.replies.shift()?.resolve(reply.slice());
          }
        } catch (error) {
          fail(error as VmkdError);
          socket.destroy();
        }
      });
    });
  }

  async function once(body: Uint8Array, deadline: number): Promise<Uint8Array> {
    const connection = options.persistent === true ? (kept ??= await open()) : await open();
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new VmkdError(ProxyPipeErrorCode.Unavailable, `proxy pipe: no reply within ${timeoutMs} ms`)),
          Math.max(1, deadline - Date.now()),
        );
        connection.replies.push({
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        connection.socket.write(encodeProxyFrame(body));
      });
    } catch (error) {
      connection.socket.destroy();
      throw error;
    } finally {
      if (options.persistent !== true) connection.socket.end();
    }
  }

  async function call(body: Uint8Array): Promise<Uint8Array> {
    if (closed) throw new VmkdError(ProxyPipeErrorCode.Broken, 'proxy pipe client closed', { canceled: true });
    return retryTransaction(options.path, timeoutMs, (deadline) => once(body, deadline), () => closed);
  }

  const inOrder = serialize<Uint8Array>();
  let last: Promise<unknown> = Promise.resolve();
  return {
    call(body) {
      const run = inOrder(() => call(body));
      last = run.catch(() => undefined);
      return run;
    },
    async close() {
      closed = true;
      kept?.socket.destroy();
      kept = undefined;
      await last;
    },
  };
}

/**
 * A `~kdVMvA` handler for an emulated VMX in proxy mode: it forwards each body through the client and
 * turns an empty reply or a failure into a VMM failure (`"0 …"`).
 */
export function kdrpcProxyVmxHandler(client: KdrpcProxyPipeClient): RpciHandler {
  return async (args) => {
    try {
      const reply = await client.call(args.slice());
      return reply.length === 0 ? { ok: false, reply: 'KDRPC request rejected' } : reply;
    } catch (error) {
      return { ok: false, reply: error instanceof VmkdError ? error.code : 'proxy pipe failure' };
    }
  };
}
