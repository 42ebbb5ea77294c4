import type { SchemeUri } from '@vmkd/kd-protocol';
import type { SocketConnectOptions, SocketListenOptions } from './options.js';

/** Where a byte stream lives, as a URI names it: a TCP address, a Unix socket path or a Windows named pipe. */
export type SocketAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  /** `path` exactly as written (relative paths resolve against the working directory when opened). */
  | { readonly kind: 'unix'; readonly path: string }
  /** `path` in Win32 form, e.g. `\\.\pipe\kd_win10`. */
  | { readonly kind: 'pipe'; readonly path: string };

/** The address part of `tcp://…`, `unix:…` or `pipe://…` (and their `serial+` forms). */
export function socketAddressOf(uri: SchemeUri, kind: SocketAddress['kind'], allowPortZero: boolean): SocketAddress {
  switch (kind) {
    case 'tcp':
      return { kind: 'tcp', ...uri.tcpAddress({ allowPortZero }) };
    case 'unix':
      return { kind: 'unix', path: uri.unixPath() };
    case 'pipe':
      return { kind: 'pipe', path: uri.pipePath() };
  }
}

/** Formats a socket address back into its URI form (used for resolved ephemeral ports). */
export function formatSocketAddress(address: SocketAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    case 'unix':
      return `unix:${address.path.startsWith('/') ? `//${address.path}` : address.path}`;
    case 'pipe': {
      const match = /^\\\\([^\\]+)\\pipe\\(.+)$/i.exec(address.path);
      return match ? `pipe://${match[1]}/pipe/${match[2].replaceAll('\\', '/')}` : `pipe:${address.path}`;
    }
  }
}

/** Client options for an address. */
export function connectOptionsFor(address: SocketAddress): SocketConnectOptions {
  switch (address.kind) {
    case 'tcp':
      return { kind: 'tcp', host: address.host, port: address.port };
    case 'unix':
      return { kind: 'unix', path: address.path };
    case 'pipe':
      return { kind: 'pipe', path: address.path };
  }
}

/** Listener options for an address. TCP binds exactly the host written; a non-loopback host needs `allowRemote`. */
export function listenOptionsFor(address: SocketAddress, options: { readonly allowRemote?: boolean } = {}): SocketListenOptions {
  switch (address.kind) {
    case 'tcp':
      return { kind: 'tcp', host: address.host, port: address.port, allowRemote: options.allowRemote === true };
    case 'unix':
      return { kind: 'unix', path: address.path };
    case 'pipe':
      return { kind: 'pipe', path: address.path };
  }
}
