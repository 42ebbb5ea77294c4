import {
  BREAKIN_BYTE,
  DATA_PACKET_LEADER,
  encodeControlFrame,
  encodeDataFrame,
  INITIAL_PACKET_ID,
  KD_HEADER_SIZE,
  KdPacketType,
  nextPacketId,
  PACKET_MAX_ACCEPT,
} from '@vmkd/kd-protocol';
import type { TraceRecord } from './trace-record.js';

/**
 * The trace field holding a packet's raw bytes as hex, written by the router when asked to record
 * them: either the payload alone or the whole KDCOM data frame (leader `30303030` first).
 */
export const RAW_BYTES_FIELD = 'bytes';

export interface KdcomReplayState {
  /** Next data-packet id per direction, so the re-emitted stream reads like a real line (KD spec 1.5). */
  readonly nextId: Readonly<Record<string, number>>;
  readonly frames: number;
  readonly breakins: number;
  readonly resets: number;
  /** Packet records that carry no raw bytes (the route was not recording them). */
  readonly withoutBytes: number;
  /** Packet records whose raw bytes are not hex, or are too long to be a KD packet. */
  readonly badBytes: number;
}

export const INITIAL_KDCOM_REPLAY: KdcomReplayState = { nextId: {}, frames: 0, breakins: 0, resets: 0, withoutBytes: 0, badBytes: 0 };

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
/** The longest frame a KD packet can be: header, the largest accepted payload, trailer. */
const MAX_FRAME_BYTES = KD_HEADER_SIZE + PACKET_MAX_ACCEPT + 1;

function isWholeFrame(bytes: Uint8Array): boolean {
  return bytes.length >= KD_HEADER_SIZE + 1 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === DATA_PACKET_LEADER;
}

/**
 * One trace record → the KDCOM bytes it stands for (reducer: state in, state and bytes out).
 * Packets become data frames (their recorded frame as is, or their payload framed afresh with the
 * next id of their direction); a debugger's break-in becomes the lone `b` (spec 1.8) and a RESET a
 * RESET control frame (spec 1.6). Everything else carries no bytes.
 */
export function replayKdcom(state: KdcomReplayState, record: TraceRecord): { state: KdcomReplayState; bytes?: Uint8Array } {
  if (record.kind === 'link' && record['side'] === 'endpoint') {
    if (record['event'] === 'breakin') return { state: { ...state, breakins: state.breakins + 1 }, bytes: Uint8Array.of(BREAKIN_BYTE) };
    if (record['event'] === 'reset') return { state: { ...state, resets: state.resets + 1 }, bytes: encodeControlFrame(KdPacketType.Reset) };
    return { state };
  }
  if (record.kind !== 'packet') return { state };
  const hex = record[RAW_BYTES_FIELD];
  if (typeof hex !== 'string') return { state: { ...state, withoutBytes: state.withoutBytes + 1 } };
  // Checked before decoding, so a corrupt line never allocates more than one packet's worth.
  if (hex.length > MAX_FRAME_BYTES * 2 || !HEX.test(hex)) return { state: { ...state, badBytes: state.badBytes + 1 } };
  const raw = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (isWholeFrame(raw)) return { state: { ...state, frames: state.frames + 1 }, bytes: raw };
  if (raw.length > PACKET_MAX_ACCEPT || typeof record['type'] !== 'number') return { state: { ...state, badBytes: state.badBytes + 1 } };
  const dir = String(record['dir']);
  const id = state.nextId[dir] ?? INITIAL_PACKET_ID;
  return {
    state: { ...state, frames: state.frames + 1, nextId: { ...state.nextId, [dir]: nextPacketId(id) } },
    bytes: encodeDataFrame(record['type'], id, raw),
  };
}
