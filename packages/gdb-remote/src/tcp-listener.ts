import { createServer, type Socket } from 'node:net';
import { GdbRemoteErrorCode, gdbError } from './errors.js';
import type { ByteStream } from './rsp/rsp-connection.js';

/**
 * The byte-level seam: a TCP listener that hands each connection over as a ByteStream plus its
 * data and close callbacks. This is the one file that touches node:net; the byte-link layer's TCP
 * listener can take its place without the RSP code noticing.
 */
export interface StreamConnection {
  readonly stream: ByteStream;
  readonly peer: string;
  onData(listener: (chunk: Uint8Array) => void): void;
  onClose(listener: () => void): void;
  /** Drops the connection at once (a refused second client). */
  destroy(): void;
}

export interface StreamListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export type ListenStreams = (host: string, port: number, onConnection: (connection: StreamConnection) => void) => Promise<StreamListener>;

function wrap(socket: Socket): StreamConnection {
  socket.setNoDelay(true);
  // A client that vanishes without a FIN (a killed VM, a pulled cable) is noticed within ~10 s.
  socket.setKeepAlive(true, 10_000);
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const fireClose = (): void => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l();
  };
  socket.on('close', fireClose);
  // A reset connection is a vanished client, reported through 'close'.
  socket.on('error', () => undefined);
  return {
    peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    stream: {
      write(bytes) {
        if (!socket.destroyed) socket.write(bytes);
      },
      end() {
        socket.end();
      },
    },
    onData(listener) {
      socket.on('data', (chunk: Buffer) => listener(chunk));
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** The node:net implementation of the seam. */
export const listenTcp: ListenStreams = (host, port, onConnection) =>
  new Promise<StreamListener>((resolve, reject) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      onConnection(wrap(socket));
    });
    server.once('error', (error) => reject(gdbError(GdbRemoteErrorCode.Listen, `cannot listen on ${host}:${port}: ${error.message}`, { host, port }, error)));
    server.listen(port, host, () => {
      const address = server.address();
      const boundPort = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        host,
        port: boundPort,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
