import { VmkdError } from '../errors.js';

/** Error codes of the KD API codecs. Stable once released. */
export const KdApiErrorCode = {
  /** The buffer is shorter than the structure (details: structure, field, need, got). */
  Truncated: 'ERR_KD_API_TRUNCATED',
  /** A field value does not fit its wire width (details: structure, field, value). */
  FieldRange: 'ERR_KD_API_FIELD_RANGE',
  /** Header plus data exceed the 4096-byte KD receive limit. */
  TooLarge: 'ERR_KD_API_TOO_LARGE',
  /** A CONTEXT or KSPECIAL_REGISTERS buffer of the wrong size. */
  BadSize: 'ERR_KD_API_BAD_SIZE',
  /** A register name the CONTEXT layout does not have. */
  UnknownRegister: 'ERR_KD_API_UNKNOWN_REGISTER',
  /** A packet type no codec handles (details: type). */
  UnknownPacketType: 'ERR_KD_API_UNKNOWN_PACKET_TYPE',
} as const;

export function truncated(structure: string, field: string, need: number, got: number): VmkdError {
  return new VmkdError(
    KdApiErrorCode.Truncated,
    `${structure}: ${got} bytes are too few for field ${field} (need ${need})`,
    { details: { structure, field, need, got } },
  );
}

export function fieldRange(structure: string, field: string, value: unknown): VmkdError {
  return new VmkdError(KdApiErrorCode.FieldRange, `${structure}.${field}: value ${String(value)} does not fit the field`, {
    details: { structure, field, value: typeof value === 'bigint' ? `0x${value.toString(16)}` : String(value) },
  });
}
