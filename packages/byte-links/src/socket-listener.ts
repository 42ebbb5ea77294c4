import type { Server, Socket } from 'node:net';
import { Observable, Subject } from 'rxjs';
import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';

export interface ServerListenerSetup {
  server: Server;
  address: string;
  /** Turn an accepted socket into the link handed to subscribers. */
  wrap: (socket: Socket) => ByteLink;
  /** Extra clean-up after the server stopped accepting (e.g. unlink the socket file). */
  cleanup?: () => Promise<void>;
}

/**
 * A ByteLinkListener over a listening net.Server. Connections arriving while nobody subscribes to
 * `connections$` are closed at once rather than leaked.
 */
export function createServerListener(setup: ServerListenerSetup): ByteLinkListener {
  const { server, address, wrap } = setup;
  const connections = new Subject<ByteLink>();
  let closePromise: Promise<void> | undefined;

  server.on('connection', (socket) => {
    if (closePromise !== undefined || !connections.observed) {
      socket.destroy();
      return;
    }
    connections.next(wrap(socket));
  });
  server.on('error', (error) => {
    connections.error(byteLinkError(ByteLinkErrorCode.ListenFailed, `${address}: listener failed: ${error.message}`, { cause: error }));
  });

  const connections$ = new Observable<ByteLink>((subscriber) => connections.subscribe(subscriber));

  function close(): Promise<void> {
    closePromise ??= (async () => {
      // server.close() stops accepting at once; its callback would wait for every accepted
      // connection, which belong to their consumers, so do not wait for it.
      server.close();
      connections.complete();
      await new Promise<void>((resolve) => setImmediate(resolve));
      await setup.cleanup?.();
    })();
    return closePromise;
  }

  return { address, connections$, close };
}

/**
 * Start listening; bind errors become a VmkdError. `details.reason` says what a caller can do
 * about an address in use: another port (TCP, where port 0 picks a free one) or another path.
 */
export function listenServer(server: Server, target: { host: string; port: number } | { path: string }, name: string, kind: 'tcp' | 'unix' | 'pipe'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const inUse = error.code === 'EADDRINUSE';
      const code = inUse ? ByteLinkErrorCode.AddressInUse : ByteLinkErrorCode.ListenFailed;
      const details = { address: name, errno: error.code, kind, ...(inUse ? { reason: kind === 'tcp' ? 'port-in-use' : 'server-alive' } : {}) };
      reject(byteLinkError(code, `${name}: cannot listen (${error.code ?? error.message})`, { cause: error, details }));
    };
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
