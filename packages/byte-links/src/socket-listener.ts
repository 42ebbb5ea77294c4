import type { Server, Socket } from 'node:net';
import { Observable, Subject } from 'rxjs';
import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';

/** Connections held for a consumer that has not subscribed yet; more are closed. */
const EARLY_CONNECTIONS = 8;

export interface ServerListenerSetup {
  server: Server;
  address: string;
  /** Turn an accepted socket into the link handed to subscribers. */
  wrap: (socket: Socket) => ByteLink;
  /** Extra clean-up after the server stopped accepting (e.g. unlink the socket file). */
  cleanup?: () => Promise<void>;
}

/**
 * A ByteLinkListener over a listening net.Server. A peer can connect as soon as the socket is
 * reachable, before its consumer has subscribed (a debugger polling for the endpoint's socket file
 * gets in between the bind and the subscription): the first few such connections are held for
 * the first subscriber; past that, and after a subscriber has come and gone, they are closed at
 * once rather than leaked.
 */
export function createServerListener(setup: ServerListenerSetup): ByteLinkListener {
  const { server, address, wrap } = setup;
  const connections = new Subject<ByteLink>();
  let closePromise: Promise<void> | undefined;

  // Sockets accepted before the first subscriber (bounded; `undefined` once one came).
  let early: Socket[] | undefined = [];
  server.on('connection', (socket) => {
    if (closePromise === undefined && early !== undefined && early.length < EARLY_CONNECTIONS) {
      early.push(socket);
      return;
    }
    if (closePromise !== undefined || !connections.observed) {
      socket.destroy();
      return;
    }
    connections.next(wrap(socket));
  });
  server.on('error', (error) => {
    connections.error(byteLinkError(ByteLinkErrorCode.ListenFailed, `${address}: listener failed: ${error.message}`, { cause: error }));
  });

  const connections$ = new Observable<ByteLink>((subscriber) => {
    const subscription = connections.subscribe(subscriber);
    const held = early ?? [];
    early = undefined;
    for (const socket of held) {
      if (socket.destroyed) continue;
      subscriber.next(wrap(socket));
    }
    return subscription;
  });

  function close(): Promise<void> {
    closePromise ??= (async () => {
      // server.close() stops accepting at once; its callback would wait for every accepted
      // connection, which belong to their consumers, so do not wait for it.
      server.close();
      for (const socket of early ?? []) socket.destroy();
      early = undefined;
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
