/** Stable codes for frames the KDCOM decoder rejects (reported as `bad-frame` events, never thrown). */
export const KdcomErrorCode = {
  /** The payload's byte sum does not match the header's checksum. */
  BadChecksum: 'ERR_KDCOM_BAD_CHECKSUM',
  /** The byte after the payload is not 0xAA. */
  BadTrailer: 'ERR_KDCOM_BAD_TRAILER',
  /** A data header with a packet type of 12 or more. */
  BadType: 'ERR_KDCOM_BAD_TYPE',
  /** A data header whose ByteCount exceeds 4096; refused before buffering. */
  Oversize: 'ERR_KDCOM_OVERSIZE',
  /** The stream ended or stalled in the middle of a frame. */
  Truncated: 'ERR_KDCOM_TRUNCATED',
} as const;

export type BadFrameReason = 'checksum' | 'trailer' | 'type' | 'oversize' | 'truncated';

export const BAD_FRAME_CODES: Readonly<Record<BadFrameReason, string>> = {
  checksum: KdcomErrorCode.BadChecksum,
  trailer: KdcomErrorCode.BadTrailer,
  type: KdcomErrorCode.BadType,
  oversize: KdcomErrorCode.Oversize,
  truncated: KdcomErrorCode.Truncated,
};
