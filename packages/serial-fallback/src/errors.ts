import { VmkdError } from '@vmkd/kd-protocol';
import type { VmkdErrorOptions } from '@vmkd/kd-protocol';

/** Codes this package adds to the shared `ERR_LINK_*` codes of `@vmkd/kd-protocol`. */
export const SerialErrorCode = {
  /** Options that cannot describe a link (missing path, port out of range, baud ≤ 0, …). */
  BadOptions: 'ERR_SERIAL_BAD_OPTIONS',
  /** Connecting or opening the device failed (refused, not found, timed out). */
  ConnectFailed: 'ERR_SERIAL_CONNECT_FAILED',
  /** Binding a listener failed (permissions, bad path, …). */
  ListenFailed: 'ERR_SERIAL_LISTEN_FAILED',
  /** The address is taken: a live server on the socket path or port, or a non-socket file at the path. */
  AddressInUse: 'ERR_SERIAL_ADDRESS_IN_USE',
  /** A TCP listener on a non-loopback address without `allowRemote: true`. */
  RemoteBindRefused: 'ERR_SERIAL_REMOTE_BIND_REFUSED',
  /** A paced link's transmit queue is full (callers wrote far ahead without awaiting). */
  BufferFull: 'ERR_SERIAL_BUFFER_FULL',
  /** The link kind does not exist on this OS (Windows named pipes elsewhere than Windows). */
  UnsupportedPlatform: 'ERR_SERIAL_UNSUPPORTED_PLATFORM',
} as const;

export function serialError(code: string, message: string, options?: VmkdErrorOptions): VmkdError {
  return new VmkdError(code, message, options);
}
