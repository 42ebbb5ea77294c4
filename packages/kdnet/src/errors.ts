import { VmkdError } from '@vmkd/kd-protocol';

/** Stable codes for what KDNET refuses. Callers and tests match on these, never on messages. */
export const KdnetErrorCode = {
  /** A `w.x.y.z` key that is not four base-36 numbers of 1–13 characters, each below 2^64. */
  BadKey: 'ERR_KDNET_BAD_KEY',
  /** A KDNET address or option that cannot be used (a port outside 1–65535, a remote bind without allowRemote). */
  BadAddress: 'ERR_KDNET_BAD_ADDRESS',
  /** A capture file that is not pcap or pcapng, or is cut short. */
  BadCapture: 'ERR_KDNET_BAD_CAPTURE',
} as const;

/** Why a datagram was dropped (counted per reason; never thrown, never delivered). */
export type DropReason =
  /** Shorter than header + one AES block + HMAC, or ciphertext not a multiple of 16. */
  | 'length'
  /** Not `MDBG`. */
  | 'magic'
  /** A channel byte other than 0 (data) and 1 (control). */
  | 'channel'
  /** The HMAC over header and plaintext does not match: wrong key, tampering, or noise. */
  | 'hmac'
  /** Authenticated, but its padding count or KD part makes no sense. */
  | 'malformed'
  /** A sequence number not above the highest already seen on this session (kdnet.md §3). */
  | 'replay'
  /** Sent in our own direction (a reflected datagram). */
  | 'direction'
  /** A data datagram before any data key exists, or from an address that is not the peer. */
  | 'unexpected';

export function kdnetError(code: string, message: string, details: Record<string, unknown> = {}): VmkdError {
  return new VmkdError(code, message, { details });
}
