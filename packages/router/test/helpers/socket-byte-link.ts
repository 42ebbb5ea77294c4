import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ByteLink } from '@vmkd/kd-protocol';
import { createSocketByteLink } from '@vmkd/byte-links';

/** The product's socket byte link: these tests run KDCOM over the real thing. */
export const socketByteLink = (socket: Socket, name: string): ByteLink => createSocketByteLink(socket, name);

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
