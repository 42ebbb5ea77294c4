import { isLoopbackHost, listenTcpByteLinks } from '@vmkd/byte-links';
import type { ByteLink } from '@vmkd/kd-protocol';
import { GdbRemoteErrorCode, gdbError } from './errors.js';
import type { ByteStream } from './rsp/rsp-connection.js';

/**
 * The byte-level seam: a listener that hands each connection over as a ByteStream plus its data
 * and close callbacks. The default is byte-links' TCP listener (loopback unless allowed, no
 * Nagle, keep-alive); the RSP code never sees a socket.
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

export type ListenStreams = (host: string, port: number, onConnection: (connection: StreamConnection) => void, options: { readonly allowRemote: boolean }) => Promise<StreamListener>;

/** A byte link as the RSP shell's stream: writes in order, `end()` after the last one is out. */
export function streamConnectionOf(link: ByteLink): StreamConnection {
  let lastWrite: Promise<void> = Promise.resolve();
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const fireClose = (): void => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l();
  };
  const dataListeners: ((chunk: Uint8Array) => void)[] = [];
  // Subscribed at once (data$ is hot); a vanished peer errors data$, an orderly one completes it.
  link.data$.subscribe({
    next: (chunk) => {
      for (const l of dataListeners) l(chunk);
    },
    error: fireClose,
    complete: fireClose,
  });
  return {
    peer: link.name,
    stream: {
      write(bytes, written) {
        // A write that fails means the client is gone; data$ reports that as the close.
        lastWrite = lastWrite
          .then(() => link.write(bytes))
          .then(written)
          .catch(() => undefined);
      },
      end() {
        void lastWrite.then(() => link.close());
      },
    },
    onData(listener) {
      dataListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    destroy() {
      void link.close();
    },
  };
}

/** byte-links' TCP listener behind the seam. */
export const listenTcp: ListenStreams = async (host, port, onConnection, options) => {
  let listener;
  try {
    listener = await listenTcpByteLinks({ host, port, allowRemote: options.allowRemote || isLoopbackHost(host) });
  } catch (error) {
    throw gdbError(GdbRemoteErrorCode.Listen, `gdb endpoint: cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`, { host, port }, error);
  }
  const subscription = listener.connections$.subscribe((link) => onConnection(streamConnectionOf(link)));
  const bound = /:(\d+)$/.exec(listener.address);
  return {
    host,
    port: bound === null ? port : Number(bound[1]),
    async close() {
      subscription.unsubscribe();
      await listener.close();
    },
  };
};
