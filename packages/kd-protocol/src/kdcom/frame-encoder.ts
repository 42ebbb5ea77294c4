import { kdChecksum } from './checksum.js';
import { CONTROL_LEADER_BYTE, DATA_LEADER_BYTE, KD_HEADER_SIZE, TRAILER_BYTE } from './constants.js';

/**
 * One data frame: leader, header, payload, 0xAA. One allocation, one copy of the payload.
 * Size limits are the caller's business (the link refuses payloads over PACKET_MAX_SIZE).
 */
export function encodeDataFrame(type: number, id: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const frame = new Uint8Array(KD_HEADER_SIZE + n + 1);
  writeHeader(frame, DATA_LEADER_BYTE, type, n, id, kdChecksum(payload));
  frame.set(payload, KD_HEADER_SIZE);
  frame[KD_HEADER_SIZE + n] = TRAILER_BYTE;
  return frame;
}

/**
 * The same frame written around the payload in its own buffer (16 bytes before it, the trailer
 * after it), which the caller has given up: no allocation, no copy. Undefined when the buffer has
 * no room there.
 */
export function encodeDataFrameAround(type: number, id: number, payload: Uint8Array): Uint8Array | undefined {
  const n = payload.length;
  const at = payload.byteOffset - KD_HEADER_SIZE;
  if (at < 0 || payload.byteOffset + n + 1 > payload.buffer.byteLength) return undefined;
  const frame = new Uint8Array(payload.buffer, at, KD_HEADER_SIZE + n + 1);
  writeHeader(frame, DATA_LEADER_BYTE, type, n, id, kdChecksum(payload));
  frame[KD_HEADER_SIZE + n] = TRAILER_BYTE;
  return frame;
}

/** One control frame (ACK, RESEND, RESET): header only, byte count and checksum 0. */
export function encodeControlFrame(type: number, id = 0): Uint8Array {
  const frame = new Uint8Array(KD_HEADER_SIZE);
  writeHeader(frame, CONTROL_LEADER_BYTE, type, 0, id, 0);
  return frame;
}

function writeHeader(frame: Uint8Array, leader: number, type: number, count: number, id: number, checksum: number): void {
  frame[0] = frame[1] = frame[2] = frame[3] = leader;
  frame[4] = type & 0xff;
  frame[5] = (type >>> 8) & 0xff;
  frame[6] = count & 0xff;
  frame[7] = (count >>> 8) & 0xff;
  writeU32(frame, 8, id);
  writeU32(frame, 12, checksum);
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
