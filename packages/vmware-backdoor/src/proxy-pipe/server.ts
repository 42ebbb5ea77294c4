import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { VmkdError } from '@vmkd/kd-protocol';
import { PROXY_PIPE_MAX_MESSAGE, ProxyFrameReader, ProxyPipeErrorCode, WINDOWS_PIPE, encodeProxyFrame } from './framing.js';
import { createKdrpcMessagePipeServer } from './win32/message-pipe-server.js';
import type { KdrpcProxyPipeServer, KdrpcProxyPipeServerOptions } from './server-types.js';

/**
 * VirtualKD's proxy-pipe dispatcher (virtualkd-kdrpc spec §6.3): one request body in, one reply out
 * (empty = rejected), one transaction at a time in arrival order.
 *
 * - A Windows pipe path (`\\.\pipe\NAME`) on Windows: VirtualKD's own wire, a message-mode
 *   named pipe with one raw body per message (`createKdrpcMessagePipeServer`, through koffi).
 * - A Unix socket: the project's extension (§6.3, non-Windows transports), each message framed
 *   with a u32 little-endian length, since sockets are byte streams. Made owner-only.
 */
export async function createKdrpcProxyPipeServer(options: KdrpcProxyPipeServerOptions): Promise<KdrpcProxyPipeServer> {
  const { path, host } = options;
  const goneAfterMs = options.goneAfterMs ?? 1000;
  const isWindowsPipe = WINDOWS_PIPE.test(path);
  if (isWindowsPipe && process.platform !== 'win32') {
    // Node would create a Unix socket literally named `\\.\pipe\…` in the working directory.
    throw new VmkdError(ProxyPipeErrorCode.UnsupportedPlatform, `proxy pipe ${path}: Windows named pipes are not available on ${process.platform}; use a Unix socket (kdrpc+proxyunix:PATH)`, {
      details: { path, platform: process.platform },
    });
  }
  if (isWindowsPipe) return createKdrpcMessagePipeServer(options);
  if (process.platform === 'win32') {
    // Node on Windows has no Unix sockets: every `net` path is a named pipe.
    throw new VmkdError(ProxyPipeErrorCode.UnsupportedPlatform, `proxy socket ${path}: Unix sockets are not available on Windows; use a pipe (kdrpc+proxypipe://./pipe/NAME)`, {
      details: { path, platform: process.platform },
    });
  }
  const sockets = new Set<Socket>();
  let transactions = 0;
  let rejected = 0;
  let brokenFrames = 0;
  let chain: Promise<void> = Promise.resolve();
  let goneTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  await removeStaleSocket(path);

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    if (goneTimer !== undefined) clearTimeout(goneTimer);
    goneTimer = undefined;
    let served = 0;
    const reader = new ProxyFrameReader(PROXY_PIPE_MAX_MESSAGE);
    socket.on('data', (chunk: Buffer) => {
      let messages: Uint8Array[];
      try {
        messages = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        // A length we will not buffer: the stream cannot be resynchronised, so drop this client.
        brokenFrames++;
        socket.destroy();
        const details = error instanceof VmkdError ? error.details : {};
        options.onDropped?.({
          reason: 'frame-too-large',
          ...(typeof details.length === 'number' ? { length: details.length } : {}),
          limit: PROXY_PIPE_MAX_MESSAGE,
          brokenFrames,
        });
        return;
      }
      for (const body of messages) {
        // One transaction at a time, in arrival order, across all connections (as VirtualKD's single loop).
        chain = chain.then(async () => {
          if (socket.destroyed) return; // the forwarder gave up: drop the transaction
          let reply: Uint8Array;
          try {
            reply = await host.handleRequest(body);
          } catch {
            reply = new Uint8Array(0);
          }
          transactions++;
          served++;
          if (reply.length === 0) rejected++;
          if (!socket.destroyed) socket.write(encodeProxyFrame(reply));
        });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (closed || served === 0 || sockets.size > 0) return;
      // Forwarders may connect per transaction; only a silence after the last one means the guest is gone.
      goneTimer = setTimeout(() => {
        if (sockets.size === 0 && !closed) host.guestGone('proxy pipe client gone');
      }, goneAfterMs);
      goneTimer.unref();
    });
  };

  const server: Server = createServer({ pauseOnConnect: false }, serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new VmkdError(ProxyPipeErrorCode.Listen, `proxy pipe: cannot listen on ${path}: ${error.message}`, { cause: error })),
    );
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);

  return {
    path,
    stats: () => ({ transactions, rejected, connections: sockets.size, brokenFrames }),
    async close() {
      if (closed) return;
      closed = true;
      if (goneTimer !== undefined) clearTimeout(goneTimer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      host.guestGone('proxy pipe closed');
    },
  };
}

/** A socket file left by a dead server is removed; a live server's socket, or any other file, is left for listen() to report. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) await unlink(path);
}
