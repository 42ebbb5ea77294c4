import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';
import { map } from 'rxjs';
import { SerialErrorCode, serialError } from './errors.js';
import { checkPacing, createPacedByteLink } from './paced-byte-link.js';
import { listenPipeByteLinks } from './pipe-listener.js';
import { openSerialByteLink } from './serial-device-link.js';
import { connectPipeByteLink, connectTcpByteLink, connectUnixByteLink } from './socket-connect.js';
import { listenTcpByteLinks } from './tcp-listener.js';
import { listenUnixByteLinks } from './unix-listener.js';
import type { ByteLinkListenerOptions, ByteLinkOptions, PacingOptions } from './options.js';

function badKind(kind: unknown): never {
  throw serialError(SerialErrorCode.BadOptions, `unknown byte link kind: ${JSON.stringify(kind)}`, { details: { kind } });
}

function paced(link: ByteLink, pace: PacingOptions | undefined): ByteLink {
  return pace === undefined ? link : createPacedByteLink(link, pace);
}

async function openRaw(options: ByteLinkOptions): Promise<ByteLink> {
  switch (options.kind) {
    case 'tcp':
      return connectTcpByteLink(options);
    case 'unix':
      return connectUnixByteLink(options);
    case 'pipe':
      return connectPipeByteLink(options);
    case 'serial':
      return openSerialByteLink(options);
    default:
      return badKind((options as { kind: unknown }).kind);
  }
}

/** Open one byte link of any kind (client side), paced if `pace` is given. */
export async function openByteLink(options: ByteLinkOptions): Promise<ByteLink> {
  if (options.pace !== undefined) checkPacing(options.pace);
  const link = await openRaw(options);
  return paced(link, options.pace);
}

async function listenRaw(options: ByteLinkListenerOptions): Promise<ByteLinkListener> {
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

/** Listen for byte links of any kind (server side); every accepted link is paced if `pace` is given. */
export async function listenByteLinks(options: ByteLinkListenerOptions): Promise<ByteLinkListener> {
  if (options.pace !== undefined) checkPacing(options.pace);
  const listener = await listenRaw(options);
  const pace = options.pace;
  if (pace === undefined) return listener;
  return {
    address: listener.address,
    connections$: listener.connections$.pipe(map((link) => paced(link, pace))),
    close: () => listener.close(),
  };
}
