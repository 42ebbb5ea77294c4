import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ByteLink } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';
import { assertPipeSupported, pipeUri, toPipePath } from './pipe-path.js';
import { createSocketByteLink } from './socket-byte-link.js';
import type { PipeConnectOptions, TcpConnectOptions, UnixConnectOptions } from './options.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Room for one read: Node's own default, far more than a KDCOM frame (4,113 bytes at most). */
const READ_BUFFER_SIZE = 64 * 1024;

function connectSocket(
  target: { host: string; port: number } | { path: string },
  name: string,
  timeoutMs: number,
): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    // Reads land in one buffer per socket (`onread`) instead of a fresh 64 KiB allocation per read,
    // which the allocator then has to shrink and sweep. Each read is handed on as 'data' in a fresh
    // copy of just the bytes read, so a chunk a byte link delivered is never overwritten later.
    // pause()/resume() and 'end' work as for any socket.
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
      callback: (bytesRead: number, buffer: Buffer): boolean => {
        socket.emit('data', Buffer.from(buffer.subarray(0, bytesRead)));
        return true;
      },
    };
    const socket = connect({ ...target, allowHalfOpen: false, onread });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(byteLinkError(ByteLinkErrorCode.ConnectFailed, `${name}: no connection within ${timeoutMs} ms`, { details: { link: name } }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        byteLinkError(ByteLinkErrorCode.ConnectFailed, `${name}: cannot connect (${error.code ?? error.message})`, {
          cause: error,
          details: { link: name, errno: error.code },
        }),
      );
    });
  });
}

export function checkPort(port: unknown, allowZero: boolean): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
    throw byteLinkError(ByteLinkErrorCode.BadOptions, `bad TCP port: ${String(port)}`, { details: { port } });
  }
  return port;
}

export function checkPath(path: unknown, what: string): string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw byteLinkError(ByteLinkErrorCode.BadOptions, `bad ${what} path: ${JSON.stringify(path)}`, { details: { path } });
  }
  return path;
}

/** Connect to a TCP serial-port server. Nagle is off: KD is a request/response protocol of small frames. */
export async function connectTcpByteLink(options: Omit<TcpConnectOptions, 'kind'>): Promise<ByteLink> {
  const host = options.host ?? '127.0.0.1';
  const port = checkPort(options.port, false);
  const name = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = await connectSocket({ host, port }, name, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  socket.setNoDelay(true);
  // Notice a VM host that vanished without a FIN eventually.
  socket.setKeepAlive(true, 10_000);
  return createSocketByteLink(socket, name);
}

/** Connect to a Unix stream socket. */
export async function connectUnixByteLink(options: Omit<UnixConnectOptions, 'kind'>): Promise<ByteLink> {
  const path = checkPath(options.path, 'Unix socket');
  const name = `unix:${path}`;
  const socket = await connectSocket({ path }, name, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  return createSocketByteLink(socket, name);
}

/** Connect to a Windows named pipe (Windows only). */
export async function connectPipeByteLink(options: Omit<PipeConnectOptions, 'kind'>): Promise<ByteLink> {
  const path = toPipePath(checkPath(options.path, 'named pipe'));
  assertPipeSupported();
  const name = pipeUri(path);
  const socket = await connectSocket({ path }, name, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  return createSocketByteLink(socket, name);
}
