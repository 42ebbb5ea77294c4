import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode, byteLinkError } from './errors.js';
import { listenPipeByteLinks } from './pipe-listener.js';
import { connectPipeByteLink, connectTcpByteLink, connectUnixByteLink } from './socket-connect.js';
import { listenTcpByteLinks } from './tcp-listener.js';
import { listenUnixByteLinks } from './unix-listener.js';
import type { SocketConnectOptions, SocketListenOptions } from './options.js';

function badKind(kind: unknown): never {
  throw byteLinkError(ByteLinkErrorCode.BadOptions, `unknown byte link kind: ${JSON.stringify(kind)}`, { details: { kind } });
}

/** Open one socket byte link of any kind (client side): TCP, Unix socket or Windows named pipe. */
export async function openByteLink(options: SocketConnectOptions): Promise<ByteLink> {
  switch (options.kind) {
    case 'tcp':
      return connectTcpByteLink(options);
    case 'unix':
      return connectUnixByteLink(options);
    case 'pipe':
      return connectPipeByteLink(options);
    default:
      return badKind((options as { kind: unknown }).kind);
  }
}

/** Listen for byte links of any kind (server side). */
export async function listenByteLinks(options: SocketListenOptions): Promise<ByteLinkListener> {
  switch (options.kind) {
    case 'tcp':
      return listenTcpByteLinks(options);
    case 'unix':
      return listenUnixByteLinks(options);
    case 'pipe':
      return listenPipeByteLinks(options);
    default:
      return badKind((options as { kind: unknown }).kind);
  }
}

/** The URI spelling of a client target, as the link will name itself. */
export function describeConnectTarget(options: SocketConnectOptions): string {
  switch (options.kind) {
    case 'tcp': {
      const host = options.host ?? '127.0.0.1';
      return `tcp://${host.includes(':') ? `[${host}]` : host}:${options.port}`;
    }
    case 'unix':
      return `unix:${options.path}`;
    case 'pipe':
      return `pipe://./pipe/${options.path.replace(/^(?:\\\\|\/\/)\.(?:\\|\/)pipe(?:\\|\/)/i, '')}`;
  }
}
