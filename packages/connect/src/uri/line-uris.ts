import { socketAddressOf, type SocketAddress } from '@vmkd/byte-links';
import { serialDeviceAddressOf } from '@vmkd/serial-fallback';
import { splitUri } from './scheme-uri.js';
import type { ByteAddress } from './line-options.js';

/** The schemes `vmkd sim --listen` and `--connect` take: bare byte streams, no KD meaning of their own. */
export const LISTEN_SCHEMES = ['tcp', 'unix', 'pipe'] as const;
export const CONNECT_SCHEMES = ['tcp', 'unix', 'pipe', 'serial'] as const;

/** A byte-stream server (`vmkd sim --listen`). */
export interface ListenSpec {
  readonly uri: string;
  readonly address: SocketAddress;
}

/** A byte-stream client or device (`vmkd sim --connect`). */
export interface ConnectSpec {
  readonly uri: string;
  readonly address: ByteAddress;
}

/** Parses a byte-stream listener: `tcp://HOST:PORT`, `unix:PATH`, `pipe://./pipe/NAME`. */
export function parseListenUri(text: string): ListenSpec {
  const uri = splitUri(text, 'listen', LISTEN_SCHEMES);
  uri.keys([]);
  return { uri: text, address: socketAddressOf(uri, uri.scheme as SocketAddress['kind'], true) };
}

/** Parses a byte stream to open as a client or device: `tcp://…`, `unix:…`, `pipe://…`, `serial:///dev/pts/3?baud=N`. */
export function parseConnectUri(text: string): ConnectSpec {
  const uri = splitUri(text, 'connect', CONNECT_SCHEMES);
  if (uri.scheme === 'serial') {
    uri.keys(['baud']);
    return { uri: text, address: serialDeviceAddressOf(uri) };
  }
  uri.keys([]);
  return { uri: text, address: socketAddressOf(uri, uri.scheme as SocketAddress['kind'], false) };
}
