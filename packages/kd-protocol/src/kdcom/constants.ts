/** KDCOM framing constants (KD spec 1.1–1.3). */

/** Data packet leader `30 30 30 30` as a little-endian u32. */
export const DATA_PACKET_LEADER = 0x30303030;
/** Control packet leader `69 69 69 69` as a little-endian u32. */
export const CONTROL_PACKET_LEADER = 0x69696969;
export const DATA_LEADER_BYTE = 0x30;
export const CONTROL_LEADER_BYTE = 0x69;
/** The lone break-in byte a debugger sends (`b`). */
export const BREAKIN_BYTE = 0x62;
/** Byte after the payload of every data packet. */
export const TRAILER_BYTE = 0xaa;

/** Leader, type, byte count, id, checksum. */
export const KD_HEADER_SIZE = 16;
/** Largest payload we send: what Windows and ReactOS stubs produce and accept. */
export const PACKET_MAX_SIZE = 4000;
/** Largest payload we accept (QEMU's stub sends up to 4096). Larger byte counts are refused before buffering. */
export const PACKET_MAX_ACCEPT = 4096;

export const INITIAL_PACKET_ID = 0x80800000;
/** OR-ed into a fresh target's first data packet id. */
export const SYNC_PACKET_ID = 0x00000800;
