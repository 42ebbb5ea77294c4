import { chmod, lstat, mkdtemp, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { ByteLinkListener } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';
import { checkPath } from './socket-connect.js';
import { createSocketByteLink } from './socket-byte-link.js';
import { createServerListener, listenServer } from './socket-listener.js';
import type { UnixListenOptions } from './options.js';

/** sun_path is 108 bytes on Linux and 104 on macOS, both including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 103;

/** Does a server answer on this socket path? ECONNREFUSED means a stale file left by a dead server. */
function probeSocket(path: string): Promise<boolean> {
  return new Promise<boolean>((resolveProbe) => {
    const socket = connect({ path });
    const done = (alive: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolveProbe(alive);
    };
    const timer = setTimeout(() => done(true), 1_000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Refuse to replace a live server or a file that is not a socket; report whether a stale socket is there. */
async function checkExisting(path: string): Promise<'absent' | 'stale'> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return 'absent';
  }
  if (!info.isSocket()) {
    throw byteLinkError(ByteLinkErrorCode.AddressInUse, `unix:${path}: exists and is not a socket; not replacing it`, {
      details: { path, kind: 'unix', reason: 'not-a-socket' },
    });
  }
  if (await probeSocket(path)) {
    throw byteLinkError(ByteLinkErrorCode.AddressInUse, `unix:${path}: another server is listening there`, {
      details: { path, kind: 'unix', reason: 'server-alive' },
    });
  }
  return 'stale';
}

/**
 * A Unix-socket server, owner-only by default. The socket is bound inside a fresh 0700 directory
 * next to the target, given its mode, then renamed into place, so no other user can ever connect
 * during the window between bind() and chmod(). A stale socket file (no server behind it) is
 * replaced; a live one or a non-socket file is refused.
 */
export async function listenUnixByteLinks(options: Omit<UnixListenOptions, 'kind'>): Promise<ByteLinkListener> {
  const path = resolve(checkPath(options.path, 'Unix socket'));
  const mode = options.mode ?? 0o600;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw byteLinkError(ByteLinkErrorCode.BadOptions, `bad socket mode: ${String(mode)}`, { details: { mode } });
  }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw byteLinkError(ByteLinkErrorCode.BadOptions, `unix:${path}: path longer than ${MAX_SOCKET_PATH_BYTES} bytes`, { details: { path } });
  }
  const existing = await checkExisting(path);
  const address = `unix:${path}`;
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });

  const directory = dirname(path);
  // Say what is wrong with the directory in the user's terms: the staging directory's random
  // name (mkdtemp's `.vmkd-XXXXXX`) means nothing to anyone, so its error is not passed on as text.
  const dirInfo = await stat(directory).catch((error: NodeJS.ErrnoException) => error);
  if (dirInfo instanceof Error || !dirInfo.isDirectory()) {
    const errno = dirInfo instanceof Error ? dirInfo.code : 'ENOTDIR';
    const why = errno === 'ENOENT' ? 'does not exist' : errno === 'ENOTDIR' ? 'is not a directory' : `cannot be used (${errno})`;
    throw byteLinkError(ByteLinkErrorCode.ListenFailed, `${address}: the directory ${directory} ${why}`, { details: { path, directory, errno } });
  }
  const privateDir = await mkdtemp(join(directory, '.vmkd-')).catch((error: NodeJS.ErrnoException) => {
    throw byteLinkError(ByteLinkErrorCode.ListenFailed, `${address}: cannot create a socket in ${directory} (${error.code ?? 'error'})`, {
      details: { path, directory, errno: error.code },
    });
  });
  const staging = join(privateDir, 's');
  // The listener (and its 'connection' handler) exists before the socket is reachable at `path`:
  // a peer that connects the moment the file appears is held for the consumer, never left
  // unanswered on a server nobody listens to.
  let ours: { ino: number; dev: number } | undefined;
  const listener = createServerListener({
    server,
    address,
    wrap: (socket) => createSocketByteLink(socket, address),
    cleanup: async () => {
      // Remove the socket file only if it is still the one we created.
      const now = await stat(path).catch(() => undefined);
      if (ours !== undefined && now !== undefined && now.ino === ours.ino && now.dev === ours.dev) await unlink(path).catch(() => undefined);
    },
  });
  try {
    if (Buffer.byteLength(staging) <= MAX_SOCKET_PATH_BYTES) {
      await listenServer(server, { path: staging }, address, 'unix');
      await chmod(staging, mode);
      ours = await stat(staging); // rename keeps the inode
      await rename(staging, path);
    } else {
      // The staging path would not fit in sun_path: bind in place (a stale file must go first).
      if (existing === 'stale') await unlink(path).catch(() => undefined);
      await listenServer(server, { path }, address, 'unix');
      await chmod(path, mode);
      ours = await stat(path);
    }
  } catch (error) {
    server.close();
    throw error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_')
      ? error
      : byteLinkError(ByteLinkErrorCode.ListenFailed, `${address}: cannot listen`, { cause: error });
  } finally {
    await rmdir(privateDir).catch(() => undefined);
  }
  return listener;
}
