import { connect, type Socket } from 'node:net';
import { VmkdError } from '@vmkd/kd-protocol';
import type { RpciHandler } from '../vmx/types.js';
import { PROXY_PIPE_MAX_MESSAGE, ProxyFrameReader, ProxyPipeErrorCode, encodeProxyFrame } from './framing.js';

export interface KdrpcProxyPipeClientOptions {
  readonly path: string;
  /** Retry budget per transaction, from the first attempt (VirtualKD's forwarder uses 1000 ms). */
  readonly timeoutMs?: number;
  /** Keep one connection for all transactions instead of one per transaction (VirtualKD's `CallNamedPipe` style). Default false. */
  readonly persistent?: boolean;
}

/** The forwarder side of the proxy pipe: what a VMM-side component in proxy mode does. */
export interface KdrpcProxyPipeClient {
  /** One transaction: the request body out, the reply back (empty = the dispatcher rejected it). */
  call(body: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

interface Connection {
  readonly socket: Socket;
  readonly replies: Array<{ resolve: (reply: Uint8Array) => void; reject: (error: VmkdError) => void }>;
}

export function createKdrpcProxyPipeClient(options: KdrpcProxyPipeClientOptions): KdrpcProxyPipeClient {
  const timeoutMs = options.timeoutMs ?? 1000;
  let kept: Connection | undefined;
  let chain: Promise<unknown> = Promise.resolve();
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
    const deadline = Date.now() + timeoutMs;
    // Retry the whole transaction until it succeeds or the budget is spent (§6.3).
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        return await once(body, deadline);
      } catch (error) {
        if (Date.now() >= deadline || closed) {
          throw new VmkdError(ProxyPipeErrorCode.Unavailable, `proxy pipe: no dispatcher at ${options.path} within ${timeoutMs} ms`, {
            cause: error,
            disconnected: true,
          });
        }
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(delay, deadline - Date.now()))));
      }
    }
  }

  return {
    call(body) {
      // One transaction at a time, as a vCPU makes one call at a time.
      const run = chain.then(() => call(body));
      chain = run.catch(() => undefined);
      return run;
    },
    async close() {
      closed = true;
      kept?.socket.destroy();
      kept = undefined;
      await chain;
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
