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

  // Writes made in one turn of the event loop go out together, in order, as one socket write:
  // a KDCOM end writes the ACK of what it just read and then its own next frame (a reply, the
  // next request) in the same turn, and two syscalls and two wake-ups of the reader become one
  // (docs/decisions: socket writes coalesced per turn). The turn ends at setImmediate, after
  // every I/O callback and promise of this turn, so nothing waits for a timer.
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let flushScheduled = false;

  function flush(): void {
    flushScheduled = false;
    if (batch.length === 0) return;
    const chunks = batch;
    const total = batchBytes;
    const waiters = waiting;
    batch = [];
    batchBytes = 0;
    waiting = [];
    const failAll = (error: Error): void => {
      for (const w of waiters) w.reject(error);
    };
    if (closed) {
      failAll(linkClosedError(name));
      return;
    }
    if (peerGone || socket.destroyed) {
      failAll(linkDisconnectedError(name, socketError));
      return;
    }
    const fail = (error: Error): void => {
      pendingWrites.delete(fail);
      failAll(error);
    };
    pendingWrites.add(fail);
    // One chunk goes as it is; several are joined (a 16-byte ACK and a frame: one small copy).
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    socket.write(data, (error) => {
      if (!pendingWrites.delete(fail)) return;
      if (error === null || error === undefined) for (const w of waiters) w.resolve();
      else failAll(closed ? linkClosedError(name) : linkDisconnectedError(name, error));
    });
  }

  function write(chunk: Uint8Array): Promise<void> {
    if (closed) return Promise.reject(linkClosedError(name));
    if (peerGone || socket.destroyed) return Promise.reject(linkDisconnectedError(name, socketError));
    if (chunk.byteLength === 0) return Promise.resolve();
    stats.bytesOut += chunk.byteLength;
    stats.chunksOut += 1;
    return new Promise<void>((resolve, reject) => {
      batch.push(chunk);
      batchBytes += chunk.byteLength;
      waiting.push({ resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }

  function close(): Promise<void> {
    closePromise ??= new Promise<void>((resolve) => {
      // What was written before close() still goes out, ahead of our FIN.
      flush();
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
