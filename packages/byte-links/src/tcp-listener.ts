import { createServer, isIP } from 'node:net';
import type { ByteLinkListener } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';
import { checkPort } from './socket-connect.js';
import { createSocketByteLink } from './socket-byte-link.js';
import { createServerListener, listenServer } from './socket-listener.js';
import type { TcpListenOptions } from './options.js';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare.startsWith('::ffff:127.');
}

export function formatTcpAddress(host: string, port: number): string {
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A TCP server handing out one ByteLink per connection. Binds 127.0.0.1 by default; any other
 * address (including the wildcards `0.0.0.0` and `::`) is refused unless `allowRemote` is true, because
 * whoever reaches a KD port controls the kernel behind it.
 */
export async function listenTcpByteLinks(options: Omit<TcpListenOptions, 'kind'>): Promise<ByteLinkListener> {
  const host = (options.host ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  const port = checkPort(options.port, true);
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    throw byteLinkError(
      ByteLinkErrorCode.RemoteBindRefused,
      // The message states the fact only: the remedy has a different spelling for each caller
      // (`allowRemote: true` in the API, `--allow-remote` in the CLI), so `details.remedy` names it.
      `refusing to listen on ${host}: it is reachable from other machines, and whoever connects controls the kernel`,
      { details: { host, port, remedy: 'allowRemote' } },
    );
  }
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });
  await listenServer(server, { host, port }, formatTcpAddress(host, port), 'tcp');
  const bound = server.address();
  const actualPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const address = formatTcpAddress(host, actualPort);
  return createServerListener({
    server,
    address,
    wrap: (socket) => {
      socket.setNoDelay(true);
      // Notice a debugger or VM that vanished without a FIN (cable, host crash) eventually.
      socket.setKeepAlive(true, 10_000);
      return createSocketByteLink(socket, formatTcpAddress(socket.remoteAddress ?? host, socket.remotePort ?? 0));
    },
  });
}
