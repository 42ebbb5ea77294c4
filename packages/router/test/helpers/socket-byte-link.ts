import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { LinkErrorCode, VmkdError, type ByteLink, type ByteLinkStats } from '@vmkd/kd-protocol';

/**
 * A ByteLink on a real socket, kept minimal for these tests (the product's socket links live in
 * serial-fallback, which the router does not depend on). Follows the ByteLink rules: hot `data$`,
 * completes on an orderly end, errors with ERR_LINK_DISCONNECTED on an abnormal one, write() settles
 * when the OS has the bytes.
 */
export function socketByteLink(socket: Socket, name: string): ByteLink {
  const data = new Subject<Uint8Array>();
  const stats: ByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
  let closed = false;
  let ended = false;
  const finish = (error?: Error): void => {
    if (ended) return;
    ended = true;
    if (error === undefined || closed) data.complete();
    else data.error(new VmkdError(LinkErrorCode.Disconnected, `${name}: ${error.message}`, { disconnected: true, cause: error }));
  };
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.chunksIn += 1;
    data.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  socket.on('error', (error) => finish(error));
  socket.on('close', () => finish());
  return {
    name,
    data$: data.asObservable(),
    write(chunk) {
      if (closed || socket.destroyed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: closed`, { canceled: true }));
      stats.bytesOut += chunk.byteLength;
      stats.chunksOut += 1;
      return new Promise<void>((resolve, reject) =>
        socket.write(chunk, (error) => (error ? reject(new VmkdError(LinkErrorCode.Disconnected, `${name}: ${error.message}`, { disconnected: true })) : resolve())),
      );
    },
    close() {
      if (!closed) {
        closed = true;
        socket.destroy();
      }
      return Promise.resolve();
    },
    stats: () => ({ ...stats }),
  };
}

export interface UnixSocketServer {
  readonly path: string;
  /** Resolves with the next accepted connection. */
  accept(): Promise<ByteLink>;
  connect(name?: string): Promise<ByteLink>;
  close(): Promise<void>;
}

/** A Unix socket server in `dir` handing out accepted connections as byte links. */
export async function listenUnix(dir: string, file: string): Promise<UnixSocketServer> {
  const path = join(dir, file);
  const accepted: Socket[] = [];
  const waiters: ((socket: Socket) => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(socket);
    else accepted.push(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  let count = 0;
  return {
    path,
    accept: async () => {
      const socket = accepted.shift() ?? (await new Promise<Socket>((resolve) => waiters.push(resolve)));
      count += 1;
      return socketByteLink(socket, `unix:${file}#${count}`);
    },
    connect: (name = `unix-client:${file}`) =>
      new Promise<ByteLink>((resolve, reject) => {
        const socket = connect(path);
        sockets.add(socket);
        socket.once('error', reject);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socketByteLink(socket, name));
        });
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A connected pair of byte links over a real Unix socket: `[server side, client side]`. */
export async function unixSocketPair(dir: string, file: string): Promise<{ links: [ByteLink, ByteLink]; server: UnixSocketServer }> {
  const server = await listenUnix(dir, file);
  const [client, accepted] = await Promise.all([server.connect(), server.accept()]);
  return { links: [accepted, client], server };
}
