import type { Socket } from 'node:net';
import { Observable, Subject } from 'rxjs';
import type { ByteLink, ByteLinkStats } from '@vmkd/kd-protocol';
import { linkClosedError, linkDisconnectedError } from './link-errors.js';

/** How long close() lets the kernel flush our last bytes before it destroys the socket. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Wrap a connected stream socket (TCP, Unix socket, Windows named pipe) as a ByteLink.
 *
 * The socket stays paused until the first subscription to `data$`, so bytes the peer sends before
 * anyone listens wait in the kernel instead of being dropped by a hot Subject.
 */
export function createSocketByteLink(socket: Socket, name: string): ByteLink {
  const data = new Subject<Uint8Array>();
  const stats: ByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
  const pendingWrites = new Set<(error: Error) => void>();
  let started = false;
  let closed = false;
  let peerGone = false;
  let socketError: Error | undefined;
  let closePromise: Promise<void> | undefined;

  socket.pause();
  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    stats.bytesIn += chunk.byteLength;
    stats.chunksIn += 1;
    data.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  socket.on('end', () => {
    // Orderly close by the peer (FIN). allowHalfOpen is false, so Node ends our side too.
    peerGone = true;
    if (!closed) data.complete();
  });
  socket.on('error', (error) => {
    socketError = error;
  });
  socket.on('close', () => {
    const wasGone = peerGone;
    peerGone = true;
    const error = linkDisconnectedError(name, socketError);
    for (const reject of pendingWrites) reject(closed ? linkClosedError(name) : error);
    pendingWrites.clear();
    if (closed || wasGone) return;
    // Closed without an orderly end: a reset, a broken pipe, a process that died mid-write.
    if (socketError === undefined) data.complete();
    else data.error(error);
  });

  const data$ = new Observable<Uint8Array>((subscriber) => {
    const subscription = data.subscribe(subscriber);
    if (!started) {
      started = true;
      socket.resume();
    }
    return subscription;
  });

  function write(chunk: Uint8Array): Promise<void> {
    if (closed) return Promise.reject(linkClosedError(name));
    if (peerGone || socket.destroyed) return Promise.reject(linkDisconnectedError(name, socketError));
    if (chunk.byteLength === 0) return Promise.resolve();
    stats.bytesOut += chunk.byteLength;
    stats.chunksOut += 1;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        if (!pendingWrites.delete(fail)) return;
        if (error === undefined) resolve();
        else reject(error);
      };
      const fail = (error: Error): void => {
        pendingWrites.delete(fail);
        reject(error);
      };
      pendingWrites.add(fail);
      socket.write(chunk, (error) => {
        if (error === null || error === undefined) settle();
        else settle(closed ? linkClosedError(name) : linkDisconnectedError(name, error));
      });
    });
  }

  function close(): Promise<void> {
    closePromise ??= new Promise<void>((resolve) => {
      closed = true;
      for (const reject of pendingWrites) reject(linkClosedError(name));
      pendingWrites.clear();
      data.complete();
      if (socket.destroyed) {
        resolve();
        return;
      }
      const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // Resume so a pending FIN from the peer is read and the close can complete.
      socket.resume();
      socket.end();
    });
    return closePromise;
  }

  return { name, data$, write, close, stats: () => ({ ...stats }) };
}
