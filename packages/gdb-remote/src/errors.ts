import { VmkdError } from '@vmkd/kd-protocol';

/** Error codes of the GDB remote endpoint. Stable once released. */
export const GdbRemoteErrorCode = {
  /** An option out of range (details: option, value). */
  BadOption: 'ERR_GDB_BAD_OPTION',
  /** A non-loopback listen address without allowRemote (details: host). */
  RemoteNotAllowed: 'ERR_GDB_REMOTE_NOT_ALLOWED',
  /** The listener could not bind (details: host, port; cause: the socket error). */
  Listen: 'ERR_GDB_LISTEN',
  /** The endpoint was closed. */
  Closed: 'ERR_GDB_CLOSED',
} as const;

export type GdbRemoteErrorCode = (typeof GdbRemoteErrorCode)[keyof typeof GdbRemoteErrorCode];

export function gdbError(code: GdbRemoteErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): VmkdError {
  return new VmkdError(code, message, { details, cause });
}
