import { VmkdError } from '../errors.js';

/** Error codes of the KDRPC codec. Stable once released. */
export const KdrpcErrorCode = {
  /** A request without the `"~kdVMvA "` prefix. */
  BadPrefix: 'ERR_KDRPC_BAD_PREFIX',
  /** A zero-length body or reply (the host's way of rejecting a call). */
  Empty: 'ERR_KDRPC_EMPTY',
  /** A command byte other than `v`, `t`, `r`, `s` (details: command). */
  UnknownCommand: 'ERR_KDRPC_UNKNOWN_COMMAND',
  /** A body or reply of the wrong size (details: command, field, expected, actual). */
  BadLength: 'ERR_KDRPC_BAD_LENGTH',
  /** A size field larger than the protocol allows (details: field, value, limit). */
  BadSize: 'ERR_KDRPC_BAD_SIZE',
  /** A reply that does not start with `"++kdVMvA "`. */
  BadSignature: 'ERR_KDRPC_BAD_SIGNATURE',
  /** A reply without the VMM's `"1 "` prefix where one was expected. */
  BadStatusPrefix: 'ERR_KDRPC_BAD_STATUS_PREFIX',
  /** A reply whose command echo does not match the request (details: expected, actual). */
  BadEcho: 'ERR_KDRPC_BAD_ECHO',
  /** A `t` pattern byte that is wrong (details: offset, expected, actual). */
  BadTestPattern: 'ERR_KDRPC_BAD_TEST_PATTERN',
  /** A field value that does not fit its wire width (details: field, value). */
  FieldRange: 'ERR_KDRPC_FIELD_RANGE',
} as const;
export type KdrpcErrorCodeValue = (typeof KdrpcErrorCode)[keyof typeof KdrpcErrorCode];

export function kdrpcError(code: KdrpcErrorCodeValue, message: string, details: Record<string, unknown> = {}): VmkdError {
  return new VmkdError(code, `KDRPC: ${message}`, { details });
}

export function badLength(command: string, field: string, expected: number | string, actual: number): VmkdError {
  return kdrpcError(
    KdrpcErrorCode.BadLength,
    `${command}: ${field} is ${actual} bytes, expected ${expected}`,
    { command, field, expected, actual },
  );
}
