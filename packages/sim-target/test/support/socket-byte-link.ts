import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ByteLink } from '@vmkd/kd-protocol';
import { createSocketByteLink } from '@vmkd/byte-links';

/** The product's socket byte link, for tests that put KDCOM bytes on a real socket. */
export const socketByteLink = (socket: net.Socket, name: string): ByteLink => createSocketByteLink(socket, name);

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
