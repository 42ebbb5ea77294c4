import { VmkdError } from '@vmkd/kd-protocol';
import type { VmkdErrorOptions } from '@vmkd/kd-protocol';

/**
 * Codes this package adds to the shared `ERR_LINK_*` codes of `@vmkd/kd-protocol`. The strings keep
 * the `ERR_SERIAL_` prefix they had when this code lived in `@vmkd/serial-fallback`: error codes
 * are a stable interface (scripts match on them), a package move is not a reason to rename them.
 */
export const ByteLinkErrorCode = {
  /** Options that cannot describe a link (missing path, port out of range, …). */
  BadOptions: 'ERR_SERIAL_BAD_OPTIONS',
  /** Connecting failed (refused, not found, timed out). `details.errno` says why. */
  ConnectFailed: 'ERR_SERIAL_CONNECT_FAILED',
  /** Binding a listener failed (permissions, missing directory, …). */
  ListenFailed: 'ERR_SERIAL_LISTEN_FAILED',
  /**
   * The address is taken: a live server on the socket path or port, or a non-socket file at the path.
   * `details.reason` is `port-in-use`, `server-alive` or `not-a-socket`.
   */
  AddressInUse: 'ERR_SERIAL_ADDRESS_IN_USE',
  /** A TCP listener on a non-loopback address without `allowRemote: true`. */
  RemoteBindRefused: 'ERR_SERIAL_REMOTE_BIND_REFUSED',
  /** The link kind does not exist on this OS (Windows named pipes elsewhere than Windows). */
  UnsupportedPlatform: 'ERR_SERIAL_UNSUPPORTED_PLATFORM',
} as const;

export function byteLinkError(code: string, message: string, options?: VmkdErrorOptions): VmkdError {
  return new VmkdError(code, message, options);
}
