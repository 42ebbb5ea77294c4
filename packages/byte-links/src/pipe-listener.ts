import { createServer } from 'node:net';
import type { ByteLinkListener } from '@vmkd/kd-protocol';
import { checkPath } from './socket-connect.js';
import { assertPipeSupported, pipeUri, toPipePath } from './pipe-path.js';
import { createSocketByteLink } from './socket-byte-link.js';
import { createServerListener, listenServer } from './socket-listener.js';
import type { PipeListenOptions } from './options.js';

/**
 * A Windows named-pipe server. Node's net module creates byte-mode pipe instances and keeps a
 * spare instance listening while one is connected, which is what lets WinDbg's `reconnect` (or a
 * restarted VM) attach again without a gap.
 */
export async function listenPipeByteLinks(options: Omit<PipeListenOptions, 'kind'>): Promise<ByteLinkListener> {
  const path = toPipePath(checkPath(options.path, 'named pipe'));
  assertPipeSupported();
  const address = pipeUri(path);
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true });
  await listenServer(server, { path }, address, 'pipe');
  return createServerListener({ server, address, wrap: (socket) => createSocketByteLink(socket, address) });
}
