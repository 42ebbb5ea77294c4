import { INITIAL_PACKET_ID, SYNC_PACKET_ID } from './constants.js';

/** Id of a fresh target's first data packet (INITIAL | SYNC, KD spec 1.5). */
export const FRESH_TARGET_SEND_ID = (INITIAL_PACKET_ID | SYNC_PACKET_ID) >>> 0;

/** The id with the SYNC bit (bit 11) cleared. */
export function stripSync(id: number): number {
  return (id & ~SYNC_PACKET_ID) >>> 0;
}

/** The sender's next id after an acknowledgement: clear SYNC, toggle bit 0. */
export function nextPacketId(id: number): number {
  return (stripSync(id) ^ 1) >>> 0;
}
