import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinkErrorCode, VmkdError, type ByteLink, type ByteLinkStats } from '@vmkd/kd-protocol';
import { Subject } from 'rxjs';

/** A ByteLink over a connected net.Socket, for tests that put KDCOM bytes on a real socket. */
export function socketByteLink(socket: net.Socket, name: string): ByteLink {
  const data = new Subject<Uint8Array>();
  const stats: ByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.chunksIn++;
    data.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  });
  socket.on('error', (error) => {
    if (!closed) data.error(new VmkdError(LinkErrorCode.Disconnected, `${name}: ${error.message}`, { cause: error, disconnected: true }));
  });
  socket.on('close', () => {
    closed = true;
    data.complete();
  });
  return {
    name,
    data$: data.asObservable(),
    write(chunk) {
      if (closed || socket.destroyed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name} is closed`, { canceled: true }));
      stats.bytesOut += chunk.length;
      stats.chunksOut++;
      return new Promise<void>((resolve, reject) => socket.write(chunk, (error) => (error ? reject(error) : resolve())));
    },
    close() {
      closed = true;
      socket.destroy();
      return Promise.resolve();
    },
    stats: () => ({ ...stats }),
  };
}

/** A listening Unix socket in a fresh temp dir; `dispose()` closes it and removes the dir. */
export async function unixListener(): Promise<{ path: string; server: net.Server; accepted: Promise<net.Socket>; dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'vmkd-sim-'));
  const path = join(dir, 'kd.sock');
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    path,
    server,
    accepted,
    dispose() {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path, () => resolve(socket));
    socket.once('error', reject);
  });
}
