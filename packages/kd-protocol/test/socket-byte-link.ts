/** A minimal ByteLink over a net.Socket, for tests only (socket links live in @vmkd/byte-links). */
import type { Socket } from 'node:net';
import { Subject } from 'rxjs';
import { LinkErrorCode, VmkdError, type ByteLink, type ByteLinkStats } from '../src/index.js';

export function socketByteLink(socket: Socket, name: string): ByteLink {
  const data = new Subject<Uint8Array>();
  const stats: ByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
  let done = false;
  const finish = (error?: unknown) => {
    if (done) return;
    done = true;
    if (error === undefined) data.complete();
    else data.error(new VmkdError(LinkErrorCode.Disconnected, `${name}: ${error instanceof Error ? error.message : "socket error"}`, { disconnected: true, cause: error }));
  };
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.chunksIn += 1;
    data.next(chunk);
  });
  socket.on('end', () => finish());
  socket.on('close', () => finish());
  socket.on('error', (error) => finish(error));
  return {
    name,
    data$: data.asObservable(),
    write(chunk) {
      if (done || socket.destroyed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: closed`, { canceled: true }));
      stats.bytesOut += chunk.length;
      stats.chunksOut += 1;
      return new Promise((resolve, reject) => socket.write(chunk, (error) => (error ? reject(error) : resolve())));
    },
    close() {
      socket.destroy();
      finish();
      return Promise.resolve();
    },
    stats: () => ({ ...stats }),
  };
}
