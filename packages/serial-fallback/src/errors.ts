import { VmkdError } from '@vmkd/kd-protocol';
import type { VmkdErrorOptions } from '@vmkd/kd-protocol';
import { ByteLinkErrorCode } from '@vmkd/byte-links';

/**
 * Codes this package raises: the byte-link codes of `@vmkd/byte-links` (sockets and pipes share
 * them with serial devices) plus the ones only a serial line has.
 */
export const SerialErrorCode = {
  ...ByteLinkErrorCode,
  /** A paced link's transmit queue is full (callers wrote far ahead without awaiting). */
  BufferFull: 'ERR_SERIAL_BUFFER_FULL',
} as const;

export function serialError(code: string, message: string, options?: VmkdErrorOptions): VmkdError {
  return new VmkdError(code, message, options);
}
