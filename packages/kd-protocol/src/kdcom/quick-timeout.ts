import { KdPacketType } from '../api/constants.js';
import type { KdPacket } from '../packet-link.js';

const DBGKD_PRINT_STRING_API = 0x3230;
const DBGKD_CREATE_FILE_API = 0x3430;
const DBGKD_LOAD_SYMBOLS_STATE_CHANGE = 0x3031;

/**
 * Packets a target gives up on after a few retries ("debugger not present", KD spec 1.8):
 * DEBUG_IO PrintString, FILE_IO CreateFile, STATE_CHANGE64 LoadSymbols. Everything else a target
 * sends is retried until the link's retry budget runs out.
 */
export function isQuickTimeoutPacket(packet: KdPacket): boolean {
  const p = packet.payload;
  if (p.length < 4) return false;
  const first = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
  switch (packet.type) {
    case KdPacketType.DebugIo:
      return first === DBGKD_PRINT_STRING_API;
    case KdPacketType.FileIo:
      return first === DBGKD_CREATE_FILE_API;
    case KdPacketType.StateChange64:
      // The alternate-source flag 0x10000 may be OR-ed in (KD spec 2.5).
      return (first & 0xffff) === DBGKD_LOAD_SYMBOLS_STATE_CHANGE;
    default:
      return false;
  }
}
